/**
 * Hysteresis over health verdicts, so a container on the edge of a threshold does not flap between
 * busy and healthy every evaluation: a new state is taken only after it was seen `enterAfter`
 * evaluations in a row (unhealthy after `unhealthyAfter`, at once by default, because hiding a
 * failing app costs more than a false alarm).
 */
import type { Clock } from '../../core/clock.ts';
import type { HealthEvent, HealthReason, HealthState, HealthVerdict } from '../types.ts';

export type HealthTrackerOptions = {
  clock: Clock;
  /** Consecutive evaluations a new state must be seen before it is taken. Default 2. */
  enterAfter?: number;
  /** The same for `unhealthy`. Default 1: at once. */
  unhealthyAfter?: number;
};

export type TrackedHealth = { state: HealthState; reasons: HealthReason[]; since: number };

/** A subject's current state with who it is, for `healthPoints` and the UI. */
export type HealthSnapshot = {
  kind: 'container' | 'app';
  subject: string;
  appId: string;
  state: HealthState;
  reasons: HealthReason[];
  since: number;
};

export type HealthTracker = {
  /**
   * Feeds one verdict of `subject`. Returns the event when its state changed (the first verdict of
   * a subject is taken at once, as a change from `unknown`), else undefined.
   */
  update(
    kind: 'container' | 'app',
    subject: string,
    appId: string,
    verdict: HealthVerdict,
  ): HealthEvent | undefined;
  /** The state held now, its latest reasons, and since when (epoch ms). */
  current(subject: string): TrackedHealth | undefined;
  /** Drops a subject that is gone (a stopped container, a deleted app). */
  forget(subject: string): void;
  subjects(): string[];
  /** Every subject's current state. */
  snapshot(): HealthSnapshot[];
};

type Subject = {
  kind: 'container' | 'app';
  appId: string;
  state: HealthState;
  reasons: HealthReason[];
  since: number;
  /** The state seen instead of `state`, and how many times in a row. */
  pending?: { state: HealthState; count: number };
};

export function createHealthTracker(options: HealthTrackerOptions): HealthTracker {
  const { clock } = options;
  const enterAfter = Math.max(1, options.enterAfter ?? 2);
  const unhealthyAfter = Math.max(1, options.unhealthyAfter ?? 1);
  const subjects = new Map<string, Subject>();

  const change = (name: string, s: Subject, from: HealthState, verdict: HealthVerdict): HealthEvent => {
    const ts = clock.now();
    s.state = verdict.state;
    s.reasons = verdict.reasons;
    s.since = ts;
    delete s.pending;
    return {
      subject: name,
      kind: s.kind,
      appId: s.appId,
      from,
      to: verdict.state,
      reasons: verdict.reasons,
      ts,
    };
  };

  return {
    update(kind, subject, appId, verdict) {
      const s = subjects.get(subject);
      if (!s) {
        const fresh: Subject = { kind, appId, state: 'unknown', reasons: [], since: clock.now() };
        subjects.set(subject, fresh);
        if (verdict.state === 'unknown') {
          fresh.reasons = verdict.reasons;
          return undefined;
        }
        return change(subject, fresh, 'unknown', verdict);
      }
      s.kind = kind;
      s.appId = appId;
      if (verdict.state === s.state) {
        // Still in its state: fresher reasons (new values), and any pending change is off.
        s.reasons = verdict.reasons;
        delete s.pending;
        return undefined;
      }
      const count = s.pending?.state === verdict.state ? s.pending.count + 1 : 1;
      const needed = verdict.state === 'unhealthy' ? unhealthyAfter : enterAfter;
      if (count >= needed) return change(subject, s, s.state, verdict);
      s.pending = { state: verdict.state, count };
      return undefined;
    },
    current(subject) {
      const s = subjects.get(subject);
      return s ? { state: s.state, reasons: s.reasons, since: s.since } : undefined;
    },
    forget(subject) {
      subjects.delete(subject);
    },
    subjects() {
      return [...subjects.keys()];
    },
    snapshot() {
      return [...subjects.entries()].map(([subject, s]) => ({
        kind: s.kind,
        subject,
        appId: s.appId,
        state: s.state,
        reasons: s.reasons,
        since: s.since,
      }));
    },
  };
}
