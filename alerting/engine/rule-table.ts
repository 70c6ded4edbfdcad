/**
 * The engine's rules and their state: the running rules (with where in its interval each is
 * evaluated), the state loaded from disk for rules not running, and the transitions and resolved
 * alerts of rule changes not yet published (the next cycle, or the change itself, publishes them).
 */

import type { Rule } from '../rules/model.ts';
import type { Alert } from '../types.ts';
import type { AlertTime } from './alerts.ts';
import type { HistoryEntry, RuleRuntime } from './evaluator.ts';
import { adoptState, type Dormant } from './runtime.ts';
import type { LoadedState, StateSnapshot } from './state-store.ts';

/** `offset`: where in its interval the rule is evaluated; `slot`: the last slot evaluated. */
export type ScheduledRuntime = RuleRuntime & { offset?: number; slot?: number };

export type Pending = { transitions: HistoryEntry[]; resolved: Alert[] };

export type RuleTable = {
  readonly runtimes: Map<string, ScheduledRuntime>;
  readonly dormant: Map<string, Dormant>;
  /** Keeps state loaded from disk dormant until a rule of the same name and identity adopts it. */
  restore(loaded: LoadedState | undefined): void;
  /**
   * Takes the rule set `next` in (see `adoptState`); its transitions and resolved alerts become
   * pending. Says whether the active state changed.
   */
  adopt(input: { next: Map<string, Rule>; broken: Set<string>; at: AlertTime }): boolean;
  pending(): Readonly<Pending>;
  /** Hands the pending transitions and resolved alerts over, once. */
  takePending(): Pending;
  /** Every rule's state, running or dormant, for the state store. */
  snapshot(): StateSnapshot[];
  /** The firing alerts of every rule, running or dormant. */
  firing(): Alert[];
};

function snapshotOf(runtimes: Iterable<ScheduledRuntime>, dormant: Map<string, Dormant>): StateSnapshot[] {
  const out: StateSnapshot[] = [];
  for (const rt of runtimes) {
    const o = rt.rule.origin;
    out.push({
      name: rt.rule.name,
      identity: rt.rule.identity,
      origin: o.kind === 'file' ? { kind: 'file', file: o.file } : { kind: 'api' },
      records: rt.series.values(),
      alerts: rt.alerts.entries(),
    });
  }
  for (const [name, d] of dormant)
    out.push({
      name,
      identity: d.identity,
      origin: d.origin,
      records: d.series,
      alerts: d.alerts.entries(),
    });
  return out;
}

export function createRuleTable(): RuleTable {
  const runtimes = new Map<string, ScheduledRuntime>();
  const dormant = new Map<string, Dormant>();
  let pending: Pending = { transitions: [], resolved: [] };
  return {
    runtimes,
    dormant,
    restore(loaded) {
      for (const [name, p] of loaded ?? new Map())
        dormant.set(name, {
          identity: p.identity,
          origin: p.origin,
          series: p.series,
          alerts: new Map(p.alerts),
        });
    },
    adopt({ next, broken, at }) {
      const result = adoptState({ runtimes, dormant, next, broken, at });
      pending.resolved.push(...result.resolved);
      pending.transitions.push(...result.transitions);
      return result.changed;
    },
    pending: () => pending,
    takePending() {
      const taken = pending;
      pending = { transitions: [], resolved: [] };
      return taken;
    },
    snapshot: () => snapshotOf(runtimes.values(), dormant),
    firing() {
      const out: Alert[] = [];
      for (const rt of runtimes.values()) for (const a of rt.alerts.values()) out.push(a);
      for (const d of dormant.values()) out.push(...d.alerts.values());
      return out;
    },
  };
}
