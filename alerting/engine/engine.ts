/**
 * The rule engine: evaluates every rule at its interval on the injected clock, steps each series'
 * state machine, records transitions, persists state and hands the alerts to the `AlertSink`.
 *
 * Each rule is evaluated once per interval at a stable offset inside it (see `schedule.ts`): with
 * many rules the work is spread over the interval in slices, as Prometheus offsets its groups,
 * so a point waits at most one interval plus one slice's work before its rule sees it, instead
 * of an interval plus the whole cycle. With few rules every offset is 0 (epoch-aligned slots).
 * One timer ticks at the greatest common divisor of the intervals and slice lengths; a tick
 * evaluates the rules whose slot has not been evaluated yet, all through one cached source, so
 * rules sharing a query share its answer. A tick that finds the previous slice still running is
 * skipped; its rules run at the next free tick. Everything that changes the engine's state
 * (slices, rule changes) runs one at a time.
 *
 * After each slice, in this order: history appended (fsync), state written (the changed rules
 * appended to a journal, fsync; see state-store.ts), then
 * `sink.update` with the firing alerts of the rules just evaluated (of every rule at least once
 * per base interval) and every alert resolved. An alert is therefore on disk before anyone is
 * paged for it, and a restart finds it with its `startsAt`.
 */
import { type Clock, systemClock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { silentLogger } from '../../core/logger.ts';
import type { ProjectScope } from '../../core/ports.ts';
import type { MetricQuery, SeriesResult } from '../../core/query.ts';
import { createCachedSource, type ExprSource } from '../expr/source.ts';
import { formatRuleError, type Rule, type RuleError } from '../rules/model.ts';
import type { Alert, AlertSink } from '../types.ts';
import { evaluateRule, type HistoryEntry, type RuleRuntime } from './evaluator.ts';
import { createFileHistory, createMemoryHistory, type History, type HistoryQuery } from './history.ts';
import { createRuleSet, type RuleAuthor } from './rule-set.ts';
import {
  type ActiveAlert,
  adoptState,
  type Dormant,
  describeActive,
  describeRule,
  type RuleStatus,
} from './runtime.ts';
import { gcd, planOffsets, slotOf } from './schedule.ts';
import { createStateStore, type StateSnapshot, type StateStore } from './state-store.ts';

/** Where rules read metrics: the hub's `MetricStore` is one. A scope limits the series seen to projects. */
export type RuleSource = { query(q: MetricQuery, scope?: ProjectScope): Promise<SeriesResult[]> };

export type RuleEngineOptions = {
  source: RuleSource;
  sink: AlertSink;
  clock?: Clock;
  logger?: Logger;
  /** The engine's folder for state, history and API rules; without it nothing is persisted. */
  dataDir?: string;
  /** A folder of rule files (`*.yaml`, `*.yml`; `*.test.yaml` are left out), watched for changes. */
  rulesDir?: string;
  /** Fixed rules besides those of the folder and the API (`obs rules test`, tests). */
  rules?: Rule[];
  /** How often the rules folder is checked for changes, ms (default 5 s; 0: only on `reload()`). */
  watchIntervalMs?: number;
  /** How often the last-seen times of quiet series are written, ms (default 60 s). */
  persistIntervalMs?: number;
  /** Rules evaluated at once in a slice (default 32). */
  concurrency?: number;
  /** About how many rules of one interval are evaluated together; more are spread over the interval (default 500). */
  sliceRules?: number;
  /** Base URL of the hub for the alerts' `generatorURL` (a function: known once the hub listens). */
  externalUrl?: string | (() => string);
  /** false: no timers; cycles run only through `runOnce()` (benchmarks, embedding). Default true. */
  schedule?: boolean;
};

export type CycleStats = {
  at: number;
  rules: number;
  durationMs: number;
  transitions: number;
  firing: number;
  resolved: number;
};

export type RuleEngine = {
  /** Loads rules and state, evaluates every rule once, then runs on the clock. */
  start(): Promise<void>;
  /** Stops the timers, waits for the cycle in flight and writes the state. */
  stop(): Promise<void>;
  /** Reloads the rules folder now (wire SIGHUP to it); resolves to the folder's errors. */
  reload(): Promise<RuleError[]>;
  /** Resolves when no cycle or rule change is queued. */
  idle(): Promise<void>;
  /** Evaluates every rule now, whatever its interval (benchmarks). */
  runOnce(): Promise<CycleStats>;
  rules(): RuleStatus[];
  rule(name: string): RuleStatus | undefined;
  errors(): RuleError[];
  /** Series not inactive: pending, firing and nodata, with value and since-when. */
  alerts(): ActiveAlert[];
  history(q: HistoryQuery): Promise<HistoryEntry[]>;
  createRule(spec: unknown, author: RuleAuthor): Promise<RuleStatus>;
  updateRule(name: string, spec: unknown, author: RuleAuthor): Promise<RuleStatus>;
  deleteRule(name: string): Promise<void>;
  lastCycle(): CycleStats | undefined;
};

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function createRuleEngine(options: RuleEngineOptions): RuleEngine {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const url = options.externalUrl ?? '';
  const externalUrl = () => (typeof url === 'function' ? url() : url);
  const persistEvery = options.persistIntervalMs ?? 60_000;
  const store: StateStore | undefined = options.dataDir
    ? createStateStore(options.dataDir, {
        now: () => clock.now(),
        onError: (e) => logger.error('rule engine could not compact its state journal', { err: e }),
      })
    : undefined;
  const history: History = options.dataDir ? createFileHistory(options.dataDir) : createMemoryHistory();
  const ruleSet = createRuleSet({
    ...(options.rulesDir ? { rulesDir: options.rulesDir } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.rules ? { rules: options.rules } : {}),
    onError: (e) => logger.warn('rule error', { error: formatRuleError(e) }),
  });

  /** `offset`: where in its interval the rule is evaluated; `slot`: the last slot evaluated. */
  const runtimes = new Map<string, RuleRuntime & { offset?: number; slot?: number }>();
  const dormant = new Map<string, Dormant>();
  let pendingResolved: Alert[] = [];
  let pendingTransitions: HistoryEntry[] = [];
  let activeDirty = false;
  /** Rules evaluated since the active state was last written (only their series changed). */
  const unsaved = new Set<string>();
  let lastSeenSave = Number.NEGATIVE_INFINITY;
  let seenSaving: Promise<void> | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let cycleQueued = false;
  let tickMs = 0;
  /** Every firing alert goes to the sink at least this often (the shortest interval). */
  let fullEvery = 10_000;
  let lastFull = Number.NEGATIVE_INFINITY;
  let stopTick = () => {};
  let stopWatch = () => {};
  let watching: Promise<void> | undefined;
  let stopped = false;
  let last: CycleStats | undefined;
  const t = () => ({ now: clock.now(), externalUrl: externalUrl() });

  function enqueue<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = chain.then(fn);
    chain = run.catch((e) => logger.error('rule engine step failed', { err: e }));
    return run;
  }

  function applyRules(): void {
    const result = adoptState({
      runtimes,
      dormant,
      next: ruleSet.all(),
      broken: ruleSet.brokenFiles(),
      at: t(),
    });
    pendingResolved.push(...result.resolved);
    pendingTransitions.push(...result.transitions);
    if (result.changed) activeDirty = true;
    // A rule kept across the change may have new annotations: its saved text is out of date.
    for (const name of runtimes.keys()) unsaved.add(name);
    reschedule();
  }

  /** Places every rule in its interval; returns the timer's period. */
  function plan(): number {
    const rules = [...runtimes.values()].map((rt) => rt.rule);
    const { offsets, tickMs: tick } = planOffsets(rules, options.sliceRules);
    for (const rt of runtimes.values()) rt.offset = offsets.get(rt.rule.name) ?? 0;
    fullEvery = rules.reduce((g, r) => gcd(g, r.intervalMs), 0) || 10_000;
    return tick;
  }

  function reschedule(): void {
    const next = plan();
    if (next === tickMs || stopped || tickMs === 0) return;
    startTicking(next);
  }

  function startTicking(ms: number): void {
    stopTick();
    tickMs = ms;
    stopTick = clock.setInterval(() => {
      if (cycleQueued) return logger.debug('rule evaluation still running: tick skipped');
      void queueCycle(clock.now(), false);
    }, ms);
  }

  function queueCycle(at: number, all: boolean): Promise<CycleStats> {
    cycleQueued = true;
    return enqueue(async () => {
      try {
        return await cycle(at, all);
      } finally {
        cycleQueued = false;
      }
    });
  }

  function snapshot(): StateSnapshot[] {
    const out: StateSnapshot[] = [];
    for (const rt of runtimes.values()) {
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

  function firingAlerts(): Alert[] {
    const out: Alert[] = [];
    for (const rt of runtimes.values()) for (const a of rt.alerts.values()) out.push(a);
    for (const d of dormant.values()) out.push(...d.alerts.values());
    return out;
  }

  async function cycle(at: number, all: boolean): Promise<CycleStats> {
    const started = performance.now();
    const slot = (rt: { rule: Rule; offset?: number }) => slotOf(at, rt.rule.intervalMs, rt.offset ?? 0);
    const due = [...runtimes.values()].filter((rt) => all || rt.slot === undefined || slot(rt) !== rt.slot);
    if (due.length === 0 && pendingTransitions.length === 0 && pendingResolved.length === 0)
      return idleCycle(at);
    const sources = new Map<string, ExprSource>();
    const sourceFor = (rule: Rule): ExprSource => {
      const scope = rule.origin.kind === 'api' ? rule.origin.scope : undefined;
      const key = scope ? JSON.stringify(scope) : '*';
      let s = sources.get(key);
      if (!s) {
        const projectScope = scope ? { projects: scope } : undefined;
        s = createCachedSource({ query: (q) => options.source.query(q, projectScope) });
        sources.set(key, s);
      }
      return s;
    };
    const transitions = pendingTransitions;
    const resolved = pendingResolved;
    pendingTransitions = [];
    pendingResolved = [];
    await mapLimit(due, options.concurrency ?? 32, async (rt) => {
      const hadError = rt.last?.error;
      const r = await evaluateRule(rt, at, sourceFor(rt.rule), { now: at, externalUrl: externalUrl() });
      rt.slot = slot(rt);
      if (rt.last?.error && rt.last.error !== hadError)
        logger.warn('rule evaluation failed', { rule: rt.rule.name, error: rt.last.error });
      unsaved.add(rt.rule.name);
      transitions.push(...r.transitions);
      resolved.push(...r.resolved);
    });
    const full = all || at - lastFull >= fullEvery;
    if (full) lastFull = at;
    const firing = await publish(at, transitions, resolved, full ? undefined : due);
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

  /** A tick with no rule due: nothing evaluated, nothing to tell. */
  function idleCycle(at: number): CycleStats {
    return { at, rules: 0, durationMs: 0, transitions: 0, firing: 0, resolved: 0 };
  }

  /**
   * Records, persists, then tells the sink: nobody is paged for an alert not yet on disk. The
   * sink gets the firing alerts of `evaluated` (of every rule when undefined) and `resolved`.
   */
  async function publish(
    at: number,
    transitions: HistoryEntry[],
    resolved: Alert[],
    evaluated?: RuleRuntime[],
  ): Promise<Alert[]> {
    await persist(at, transitions.length > 0 || resolved.length > 0, transitions);
    const firing = evaluated ? evaluated.flatMap((rt) => [...rt.alerts.values()]) : firingAlerts();
    try {
      await options.sink.update([...firing, ...resolved], at);
    } catch (e) {
      logger.error('alert sink failed', { err: e });
    }
    saveSeen(at);
    return firing;
  }

  /** Takes the rule set in; alerts of rules that went away are resolved at once. */
  async function changeRules(): Promise<void> {
    applyRules();
    if (pendingResolved.length === 0) return;
    const transitions = pendingTransitions;
    const resolved = pendingResolved;
    pendingTransitions = [];
    pendingResolved = [];
    await publish(clock.now(), transitions, resolved);
  }

  async function persist(at: number, changed: boolean, transitions: HistoryEntry[]): Promise<void> {
    await history.append(transitions);
    if (!store) return;
    if (changed || activeDirty) {
      const save = store.saveActive(snapshot(), at, activeDirty ? undefined : unsaved);
      unsaved.clear();
      activeDirty = false;
      await save;
    }
  }

  /**
   * The list of known series is large and only matters for silence during a restart: it is
   * written every persistIntervalMs, not at every change, and in the background (the snapshot
   * is taken now), so the next slices' alerts do not wait for its fsync.
   */
  function saveSeen(at: number): void {
    if (!store || seenSaving || at - lastSeenSave < persistEvery) return;
    lastSeenSave = at;
    seenSaving = store
      .saveSeen(snapshot(), at)
      .catch((e) => logger.error('rule engine could not write the last-seen times', { err: e }))
      .finally(() => {
        seenSaving = undefined;
      });
  }

  async function reloadNow(): Promise<RuleError[]> {
    await ruleSet.reloadDir();
    await enqueue(changeRules);
    return ruleSet.errors();
  }

  function status(name: string): RuleStatus {
    const rt = runtimes.get(name);
    if (!rt) throw new Error(`rule ${name} is not running`);
    return describeRule(rt);
  }

  return {
    async start() {
      await ruleSet.loadApi();
      await ruleSet.reloadDir();
      const loaded = await store?.load((path, e) =>
        logger.error('rule engine state unreadable: moved aside, starting without it', { path, err: e }),
      );
      for (const [name, p] of loaded ?? new Map())
        dormant.set(name, {
          identity: p.identity,
          origin: p.origin,
          series: p.series,
          alerts: new Map(p.alerts),
        });
      applyRules();
      stopped = options.schedule === false;
      const at = clock.now();
      if (stopped) {
        await queueCycle(at, true);
        return;
      }
      startTicking(plan());
      const watch = options.watchIntervalMs ?? 5_000;
      if (options.rulesDir && watch > 0)
        stopWatch = clock.setInterval(() => {
          if (watching) return;
          watching = ruleSet
            .dirChanged()
            .then((changed) => (changed ? reloadNow().then(() => undefined) : undefined))
            .catch((e) => logger.error('rules folder check failed', { err: e }))
            .finally(() => {
              watching = undefined;
            });
        }, watch);
      void queueCycle(at, true);
    },
    async stop() {
      stopped = true;
      stopTick();
      stopWatch();
      await watching;
      await chain;
      await seenSaving;
      if (store) await store.saveSeen(snapshot(), clock.now());
    },
    reload: reloadNow,
    async idle() {
      for (;;) {
        const c = chain;
        const w = watching;
        await w;
        await c;
        await seenSaving;
        if (c === chain && w === watching) return;
      }
    },
    runOnce: () => queueCycle(clock.now(), true),
    rules: () =>
      [...runtimes.values()]
        .map(describeRule)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    rule: (name) => {
      const rt = runtimes.get(name);
      return rt ? describeRule(rt) : undefined;
    },
    errors: () => ruleSet.errors(),
    alerts: () => describeActive(runtimes.values(), dormant, t()),
    history: (q) => history.query(q),
    async createRule(spec, author) {
      const rule = await ruleSet.putApi(spec, author, clock.now());
      await enqueue(changeRules);
      return status(rule.name);
    },
    async updateRule(name, spec, author) {
      await ruleSet.putApi(spec, author, clock.now(), name);
      await enqueue(changeRules);
      return status(name);
    },
    async deleteRule(name) {
      await ruleSet.deleteApi(name);
      await enqueue(changeRules);
    },
    lastCycle: () => last,
  };
}

/** Creates the engine and starts it. */
export async function startRuleEngine(options: RuleEngineOptions): Promise<RuleEngine> {
  const engine = createRuleEngine(options);
  await engine.start();
  return engine;
}
