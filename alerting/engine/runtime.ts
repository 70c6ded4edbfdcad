/**
 * The engine's rules at run time: taking a new rule set in (keeping the series of rules whose
 * identity did not change, resolving the alerts of rules that went away), and describing rules
 * and active alerts for the API.
 */
import type { Tags } from '../../core/model.ts';
import type { Rule, RuleOrigin, RuleSpec } from '../rules/model.ts';
import type { Alert, SeriesState } from '../types.ts';
import { type AlertTime, firingAlert, resolvedAlert } from './alerts.ts';
import {
  type HistoryEntry,
  type LastEvaluation,
  newRuntime,
  type RuleRuntime,
  rebuildAlerts,
} from './evaluator.ts';
import { BROKEN_DIR } from './rule-set.ts';
import type { SeriesRecord } from './state-machine.ts';
import type { PersistedRule } from './state-store.ts';

/** State loaded from disk for a rule not (yet) running: its file is broken, or it has not loaded. */
export type Dormant = {
  identity: string;
  origin: PersistedRule['origin'];
  series: SeriesRecord[];
  /** Firing alerts by series key. */
  alerts: Map<string, Alert>;
};

export type RuleStatus = {
  name: string;
  spec: RuleSpec;
  origin: RuleOrigin;
  project?: string;
  health: 'ok' | 'error' | 'unknown';
  lastEvaluation: LastEvaluation | null;
  series: Record<SeriesState, number>;
};

export type ActiveAlert = {
  rule: string;
  fingerprint: string;
  labels: Tags;
  annotations: Record<string, string>;
  state: SeriesState;
  nodata: boolean;
  value: number | null;
  /** When the series entered its state. */
  since: number;
  /** When the condition started holding (pending began). */
  activeSince: number | null;
  /** When the alert started firing (or went nodata); null while pending. */
  startsAt: number | null;
  lastSeenAt: number;
};

type Adopted = { resolved: Alert[]; transitions: HistoryEntry[]; changed: boolean };

function retire(alerts: Iterable<Alert>, at: number, out: Adopted): void {
  for (const a of alerts) {
    const r = resolvedAlert(a, at);
    out.resolved.push(r);
    out.transitions.push({
      ts: at,
      rule: a.rule,
      fingerprint: a.fingerprint,
      labels: a.labels,
      from: a.nodata ? 'nodata' : 'firing',
      to: 'resolved',
      value: a.value,
      nodata: a.nodata,
    });
    out.changed = true;
  }
}

/**
 * Takes the rule set `next` in. A rule whose identity is unchanged keeps its series (a change of
 * timing or annotations does not reset alerts); a changed or removed rule's alerts resolve. State
 * loaded from disk is adopted by the rule of the same name and identity; it stays dormant (its
 * alerts still reported) while the file it came from has errors.
 */
export function adoptState(input: {
  runtimes: Map<string, RuleRuntime>;
  dormant: Map<string, Dormant>;
  next: Map<string, Rule>;
  broken: Set<string>;
  at: AlertTime;
}): Adopted {
  const { runtimes, dormant, next, broken, at } = input;
  const out: Adopted = { resolved: [], transitions: [], changed: false };
  for (const [name, rt] of runtimes) {
    const rule = next.get(name);
    if (rule === rt.rule) continue;
    if (rule && rule.identity === rt.rule.identity) {
      rt.rule = rule;
      rebuildAlerts(rt, at);
      continue;
    }
    retire(rt.alerts.values(), at.now, out);
    out.changed = true;
    if (rule) runtimes.set(name, newRuntime(rule));
    else runtimes.delete(name);
  }
  for (const [name, rule] of next) {
    if (runtimes.has(name)) continue;
    const rt = newRuntime(rule);
    const d = dormant.get(name);
    if (d) {
      dormant.delete(name);
      if (d.identity === rule.identity) {
        for (const s of d.series) rt.series.set(s.key, s);
        rebuildAlerts(rt, at);
      } else retire(d.alerts.values(), at.now, out);
    }
    runtimes.set(name, rt);
  }
  for (const [name, d] of dormant) {
    if (d.origin.kind === 'file' && (broken.has(BROKEN_DIR) || (d.origin.file && broken.has(d.origin.file))))
      continue;
    retire(d.alerts.values(), at.now, out);
    dormant.delete(name);
    out.changed = true;
  }
  return out;
}

export function describeRule(rt: RuleRuntime): RuleStatus {
  const series: Record<SeriesState, number> = { inactive: 0, pending: 0, firing: 0, nodata: 0 };
  for (const r of rt.series.values()) series[r.state]++;
  const { rule } = rt;
  return {
    name: rule.name,
    spec: rule.spec,
    origin: rule.origin,
    ...(rule.project !== undefined ? { project: rule.project } : {}),
    health: rt.last ? (rt.last.error ? 'error' : 'ok') : 'unknown',
    lastEvaluation: rt.last ?? null,
    series,
  };
}

function active(a: Alert, r: SeriesRecord): ActiveAlert {
  return {
    rule: a.rule,
    fingerprint: a.fingerprint,
    labels: a.labels,
    annotations: a.annotations,
    state: r.state,
    nodata: a.nodata,
    value: r.value,
    since: r.since,
    activeSince: r.activeSince,
    startsAt: r.state === 'pending' ? null : r.startsAt,
    lastSeenAt: r.lastSeenAt,
  };
}

/** Every series not inactive, newest change first. */
export function describeActive(
  runtimes: Iterable<RuleRuntime>,
  dormant: Map<string, Dormant>,
  at: AlertTime,
): ActiveAlert[] {
  const out: ActiveAlert[] = [];
  for (const rt of runtimes)
    for (const r of rt.series.values()) {
      if (r.state === 'inactive') continue;
      out.push(active(rt.alerts.get(r.key) ?? firingAlert(rt.rule, r, at), r));
    }
  for (const d of dormant.values())
    for (const s of d.series) {
      const a = d.alerts.get(s.key);
      if (a && s.state !== 'inactive') out.push(active(a, s));
    }
  return out.sort((a, b) => b.since - a.since);
}
