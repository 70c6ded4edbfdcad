/**
 * What the autoscaler remembers per app between rounds: its recent recommendations (for the
 * scale-down stabilisation window) and its recent scale events (for the rate limits). Small,
 * pruned as it goes, and serialisable so a restart does not forget a window in progress.
 */
import { HubError } from '../../core/errors.ts';

/** A raw recommendation of one round, before stabilisation, rate limits and clamps. */
export type Recommendation = { ts: number; desired: number };
/** A scale the autoscaler asked for (successful or not: see `decide`'s rate limit). */
export type ScaleEvent = { ts: number; from: number; to: number };

export type ScalingHistoryJSON = {
  v: 1;
  apps: Record<string, { recommendations: Recommendation[]; events: ScaleEvent[] }>;
};

export type ScalingHistory = {
  /** Recommendations of `appId`, oldest first. */
  recommendations(appId: string): readonly Recommendation[];
  /** Scale events of `appId`, oldest first. */
  events(appId: string): readonly ScaleEvent[];
  /** Adds a recommendation and drops those older than `keepMs` before it. */
  addRecommendation(appId: string, r: Recommendation, keepMs: number): void;
  /** Adds a scale event; keeps the last hour, at most 50. */
  addEvent(appId: string, e: ScaleEvent): void;
  apps(): string[];
  forget(appId: string): void;
  toJSON(): ScalingHistoryJSON;
};

const EVENTS_KEEP_MS = 3_600_000;
const EVENTS_KEEP = 50;

type Entry = { recommendations: Recommendation[]; events: ScaleEvent[] };

/** An empty history, or one restored from `toJSON()` output (throws `INVALID_INPUT` otherwise). */
export function createScalingHistory(saved?: unknown): ScalingHistory {
  const apps = saved === undefined ? new Map<string, Entry>() : parseHistory(saved);
  const entry = (appId: string) => {
    let e = apps.get(appId);
    if (!e) {
      e = { recommendations: [], events: [] };
      apps.set(appId, e);
    }
    return e;
  };
  return {
    recommendations: (appId) => apps.get(appId)?.recommendations ?? [],
    events: (appId) => apps.get(appId)?.events ?? [],
    addRecommendation(appId, r, keepMs) {
      const e = entry(appId);
      e.recommendations = e.recommendations.filter((x) => x.ts > r.ts - keepMs);
      e.recommendations.push({ ts: r.ts, desired: r.desired });
    },
    addEvent(appId, ev) {
      const e = entry(appId);
      e.events = e.events.filter((x) => x.ts > ev.ts - EVENTS_KEEP_MS).slice(-(EVENTS_KEEP - 1));
      e.events.push({ ts: ev.ts, from: ev.from, to: ev.to });
    },
    apps: () => [...apps.keys()],
    forget(appId) {
      apps.delete(appId);
    },
    toJSON() {
      const out: ScalingHistoryJSON['apps'] = {};
      for (const [id, e] of apps)
        out[id] = { recommendations: [...e.recommendations], events: [...e.events] };
      return { v: 1, apps: out };
    },
  };
}

function parseHistory(saved: unknown): Map<string, Entry> {
  const o = (saved ?? {}) as Partial<ScalingHistoryJSON>;
  const fail = (field: string, message: string) =>
    new HubError('INVALID_INPUT', 'Not a saved scaling history', { details: [{ field, message }] });
  if (o.v !== 1) throw fail('v', 'must be 1');
  if (typeof o.apps !== 'object' || o.apps === null) throw fail('apps', 'must be an object');
  const out = new Map<string, Entry>();
  const numbers = (x: unknown, keys: string[]) =>
    typeof x === 'object' &&
    x !== null &&
    keys.every((k) => Number.isFinite((x as Record<string, unknown>)[k]));
  for (const [id, e] of Object.entries(o.apps)) {
    const recs = (e as Partial<Entry>)?.recommendations;
    const evs = (e as Partial<Entry>)?.events;
    if (!Array.isArray(recs) || !recs.every((r) => numbers(r, ['ts', 'desired'])))
      throw fail(`apps.${id}.recommendations`, 'must be a list of {ts, desired}');
    if (!Array.isArray(evs) || !evs.every((r) => numbers(r, ['ts', 'from', 'to'])))
      throw fail(`apps.${id}.events`, 'must be a list of {ts, from, to}');
    out.set(id, {
      recommendations: recs.map((r) => ({ ts: r.ts, desired: r.desired })),
      events: evs.map((r) => ({ ts: r.ts, from: r.from, to: r.to })),
    });
  }
  return out;
}
