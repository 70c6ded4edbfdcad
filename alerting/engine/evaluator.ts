/**
 * One evaluation of one rule: run its expressions through `evaluateExpr`, step every series'
 * state machine, and say which alerts fire, which resolved and which transitions happened.
 */
import { seriesKey, type Tags } from '../../core/model.ts';
import { type ExprResult, evaluateExpr } from '../expr/evaluate.ts';
import type { ExprSource } from '../expr/source.ts';
import { crosses } from '../rules/condition.ts';
import type { Rule } from '../rules/model.ts';
import type { Alert, SeriesState } from '../types.ts';
import { type AlertTime, firingAlert, resolvedAlert } from './alerts.ts';
import { isAlerting, type Observation, type SeriesRecord, step, type TransitionTo } from './state-machine.ts';

/** One line of the alert history: a series of a rule changed state. */
export type HistoryEntry = {
  ts: number;
  rule: string;
  fingerprint: string;
  labels: Tags;
  from: SeriesState;
  to: TransitionTo;
  value: number | null;
  nodata: boolean;
};

export type LastEvaluation = {
  at: number;
  durationMs: number;
  /** Series in the answer. */
  series: number;
  error?: string;
};

/** A rule with the state of its series. */
export type RuleRuntime = {
  rule: Rule;
  series: Map<string, SeriesRecord>;
  /** The firing alert of each alerting series, as last reported. */
  alerts: Map<string, Alert>;
  last?: LastEvaluation;
};

export type RuleCycle = { transitions: HistoryEntry[]; resolved: Alert[] };

type Seen = { tags: Tags; obs: Observation };

function byKey(results: ExprResult[], into: Map<string, Seen>, obs: (r: ExprResult) => Observation): void {
  for (const r of results) {
    const key = seriesKey('', r.tags);
    if (!into.has(key)) into.set(key, { tags: r.tags, obs: obs(r) });
  }
}

/** What the rule's condition says of each series with data at `at`. */
export async function observe(rule: Rule, at: number, source: ExprSource): Promise<Map<string, Seen>> {
  const options = rule.lookbackMs === undefined ? {} : { lookbackMs: rule.lookbackMs };
  const c = rule.condition;
  const main = c.kind === 'threshold' ? c.value : c.expr;
  const [hits, presence] = await Promise.all([
    evaluateExpr(main, at, source, options),
    c.presence ? evaluateExpr(c.presence, at, source, options) : Promise.resolve([]),
  ]);
  const seen = new Map<string, Seen>();
  if (c.kind === 'threshold')
    byKey(hits, seen, (r) => ({
      value: r.value,
      fire: crosses(c.fire, r.value),
      clear: crosses(c.clear, r.value),
    }));
  else byKey(hits, seen, (r) => ({ value: r.value, fire: true, clear: false }));
  // In the presence answer but not in the condition's: has data, does not alert.
  byKey(presence, seen, (r) => ({
    value: c.kind === 'threshold' ? null : r.value,
    fire: false,
    clear: true,
  }));
  return seen;
}

export function newRuntime(rule: Rule): RuleRuntime {
  return { rule, series: new Map(), alerts: new Map() };
}

/** Recomputes the firing alerts of a runtime from its records (after loading state). */
export function rebuildAlerts(rt: RuleRuntime, t: AlertTime): void {
  rt.alerts.clear();
  for (const r of rt.series.values()) if (isAlerting(r)) rt.alerts.set(r.key, firingAlert(rt.rule, r, t));
}

function entry(a: Alert, rule: string, ts: number, from: SeriesState, to: TransitionTo): HistoryEntry {
  return {
    ts,
    rule,
    fingerprint: a.fingerprint,
    labels: a.labels,
    from,
    to,
    value: a.value,
    nodata: a.nodata,
  };
}

/**
 * Evaluates one rule at `at` and steps its series. A failed query changes no state (an outage of
 * the store is not the end of an alert); the error is kept in `rt.last`.
 */
export async function evaluateRule(
  rt: RuleRuntime,
  at: number,
  source: ExprSource,
  t: AlertTime,
): Promise<RuleCycle> {
  const started = performance.now();
  const out: RuleCycle = { transitions: [], resolved: [] };
  let seen: Map<string, Seen>;
  try {
    seen = await observe(rt.rule, at, source);
  } catch (e) {
    rt.last = { at, durationMs: performance.now() - started, series: 0, error: (e as Error).message };
    return out;
  }
  const keys = new Set([...rt.series.keys(), ...seen.keys()]);
  for (const key of keys) {
    const prev = rt.series.get(key);
    const s = seen.get(key);
    const result = step(rt.rule, prev, s?.obs, at, key, s?.tags ?? prev!.tags);
    const r = result.record;
    if (r) rt.series.set(key, r);
    else rt.series.delete(key);
    const before = rt.alerts.get(key);
    if (r && isAlerting(r)) rt.alerts.set(key, firingAlert(rt.rule, r, t));
    else rt.alerts.delete(key);
    if (result.transitions.length === 0) continue;
    if (result.resolved && before) out.resolved.push(resolvedAlert(before, at));
    const shown =
      rt.alerts.get(key) ??
      (before
        ? resolvedAlert(before, at)
        : firingAlert(rt.rule, r ?? { ...prev!, value: s?.obs.value ?? null }, t));
    for (const tr of result.transitions) out.transitions.push(entry(shown, rt.rule.name, at, tr.from, tr.to));
  }
  rt.last = { at, durationMs: performance.now() - started, series: seen.size };
  return out;
}
