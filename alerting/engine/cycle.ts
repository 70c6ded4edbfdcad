/**
 * The evaluation cycle: a tick evaluates the rules whose slot has not been evaluated yet, all
 * through one cached source per scope, so rules sharing a query share its answer; then the
 * publisher records, persists and tells the sink. A tick that finds the previous slice still
 * running is skipped; its rules run at the next free tick.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { createCachedSource, type ExprSource } from '../expr/source.ts';
import type { Rule } from '../rules/model.ts';
import type { Alert } from '../types.ts';
import type { CycleStats, RuleSource } from './engine.ts';
import { evaluateRule, type HistoryEntry } from './evaluator.ts';
import type { Publisher } from './publisher.ts';
import type { RuleTable, ScheduledRuntime } from './rule-table.ts';
import { slotOf } from './schedule.ts';
import type { StepQueue } from './step-queue.ts';

export type Cycles = {
  /** Queues a cycle at `at`: of the rules due then, of every rule when `all`. */
  run(at: number, all: boolean): Promise<CycleStats>;
  /** The timer's tick: queues a cycle now unless one is still queued or running. */
  tick(): void;
  last(): CycleStats | undefined;
};

export type CyclesOptions = {
  table: RuleTable;
  queue: StepQueue;
  publisher: Publisher;
  /** How often every firing alert goes to the sink (see `Ticker.fullEveryMs`). */
  fullEveryMs: () => number;
  source: RuleSource;
  /** Rules evaluated at once. */
  concurrency: number;
  clock: Clock;
  logger: Logger;
  externalUrl: () => string;
};

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const slotFor = (rt: ScheduledRuntime, at: number) => slotOf(at, rt.rule.intervalMs, rt.offset ?? 0);

/** One cached source per project scope, for the rules of one cycle. */
function scopedSources(source: RuleSource): (rule: Rule) => ExprSource {
  const sources = new Map<string, ExprSource>();
  return (rule) => {
    const scope = rule.origin.kind === 'api' ? rule.origin.scope : undefined;
    const key = scope ? JSON.stringify(scope) : '*';
    let s = sources.get(key);
    if (!s) {
      const projectScope = scope ? { projects: scope } : undefined;
      s = createCachedSource({ query: (q) => source.query(q, projectScope) });
      sources.set(key, s);
    }
    return s;
  };
}

/** Evaluates the `due` rules at `at`, adding their transitions and resolved alerts to `out`. */
async function evaluateDue(
  options: CyclesOptions,
  input: { due: ScheduledRuntime[]; at: number; out: { transitions: HistoryEntry[]; resolved: Alert[] } },
): Promise<void> {
  const { due, at, out } = input;
  const sourceFor = scopedSources(options.source);
  await mapLimit(due, options.concurrency, async (rt) => {
    const hadError = rt.last?.error;
    const r = await evaluateRule(rt, at, sourceFor(rt.rule), { now: at, externalUrl: options.externalUrl() });
    rt.slot = slotFor(rt, at);
    if (rt.last?.error && rt.last.error !== hadError)
      options.logger.warn('rule evaluation failed', { rule: rt.rule.name, error: rt.last.error });
    options.publisher.evaluated(rt.rule.name);
    out.transitions.push(...r.transitions);
    out.resolved.push(...r.resolved);
  });
}

/** A tick with no rule due: nothing evaluated, nothing to tell. */
function idleCycle(at: number): CycleStats {
  return { at, rules: 0, durationMs: 0, transitions: 0, firing: 0, resolved: 0 };
}

export function createCycles(options: CyclesOptions): Cycles {
  const { table, publisher } = options;
  let queued = false;
  let lastFull = Number.NEGATIVE_INFINITY;
  let last: CycleStats | undefined;

  async function cycle(at: number, all: boolean): Promise<CycleStats> {
    const started = performance.now();
    const due = [...table.runtimes.values()].filter(
      (rt) => all || rt.slot === undefined || slotFor(rt, at) !== rt.slot,
    );
    const pending = table.pending();
    if (due.length === 0 && pending.transitions.length === 0 && pending.resolved.length === 0)
      return idleCycle(at);
    const { transitions, resolved } = table.takePending();
    await evaluateDue(options, { due, at, out: { transitions, resolved } });
    const full = all || at - lastFull >= options.fullEveryMs();
    if (full) lastFull = at;
    const firing = await publisher.publish(at, transitions, resolved, full ? undefined : due);
    last = {
      at,
      rules: due.length,
      durationMs: performance.now() - started,
      transitions: transitions.length,
      firing: firing.length,
      resolved: resolved.length,
    };
    return last;
  }

  function run(at: number, all: boolean): Promise<CycleStats> {
    queued = true;
    return options.queue.run(async () => {
      try {
        return await cycle(at, all);
      } finally {
        queued = false;
      }
    });
  }

  return {
    run,
    tick() {
      if (queued) return options.logger.debug('rule evaluation still running: tick skipped');
      void run(options.clock.now(), false);
    },
    last: () => last,
  };
}
