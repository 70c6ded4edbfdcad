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
 *
 * The parts, wired together here: rule-table.ts (the running rules, dormant state, what rule
 * changes resolved), ticker.ts (the plan and the timer), cycle.ts (the evaluation cycle),
 * publisher.ts (history, state, sink), rule-changes.ts (folder reloads and its watch, API rule
 * changes taken in), rule-api.ts (the API's views), step-queue.ts (one change at a time).
 */
import { type Clock, systemClock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { silentLogger } from '../../core/logger.ts';
import type { ProjectScope } from '../../core/ports.ts';
import type { MetricQuery, SeriesResult } from '../../core/query.ts';
import { formatRuleError, type Rule, type RuleError } from '../rules/model.ts';
import type { AlertSink } from '../types.ts';
import { type Cycles, createCycles } from './cycle.ts';
import type { HistoryEntry } from './evaluator.ts';
import { createFileHistory, createMemoryHistory, type History, type HistoryQuery } from './history.ts';
import { createPublisher, type Publisher } from './publisher.ts';
import { createRuleApi, type RuleApi } from './rule-api.ts';
import { createRuleChanges, type RuleChanges } from './rule-changes.ts';
import { createRuleSet, type RuleAuthor, type RuleSet } from './rule-set.ts';
import { createRuleTable, type RuleTable } from './rule-table.ts';
import type { ActiveAlert, RuleStatus } from './runtime.ts';
import { createStateStore, type StateStore } from './state-store.ts';
import { createStepQueue, type StepQueue } from './step-queue.ts';
import { createTicker, type Ticker } from './ticker.ts';

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

/** The engine's parts, wired together; each holds its own share of the state. */
type Parts = {
  options: RuleEngineOptions;
  clock: Clock;
  logger: Logger;
  store: StateStore | undefined;
  ruleSet: RuleSet;
  table: RuleTable;
  queue: StepQueue;
  publisher: Publisher;
  ticker: Ticker;
  cycles: Cycles;
  changes: RuleChanges;
  api: RuleApi;
};

function wire(options: RuleEngineOptions): Parts {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const url = options.externalUrl ?? '';
  const externalUrl = () => (typeof url === 'function' ? url() : url);
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
  const table = createRuleTable();
  const queue = createStepQueue(logger);
  const persistEveryMs = options.persistIntervalMs ?? 60_000;
  const publisher = createPublisher({
    table,
    store,
    history,
    sink: options.sink,
    clock,
    logger,
    persistEveryMs,
  });
  // `cycles` is declared below: the timer only ticks once started.
  const ticker = createTicker({ table, clock, sliceRules: options.sliceRules, onTick: () => cycles.tick() });
  const cycles = createCycles({
    table,
    queue,
    publisher,
    fullEveryMs: ticker.fullEveryMs,
    source: options.source,
    concurrency: options.concurrency ?? 32,
    clock,
    logger,
    externalUrl,
  });
  const changes = createRuleChanges({ ruleSet, table, publisher, ticker, queue, clock, logger, externalUrl });
  const api = createRuleApi({ table, ruleSet, history, clock, externalUrl, change: changes.change });
  return { options, clock, logger, store, ruleSet, table, queue, publisher, ticker, cycles, changes, api };
}

async function start(p: Parts): Promise<void> {
  const { options } = p;
  await p.ruleSet.loadApi();
  await p.ruleSet.reloadDir();
  const loaded = await p.store?.load((path, e) =>
    p.logger.error('rule engine state unreadable: moved aside, starting without it', { path, err: e }),
  );
  p.table.restore(loaded);
  p.changes.apply();
  const at = p.clock.now();
  if (options.schedule === false) {
    await p.cycles.run(at, true);
    return;
  }
  p.ticker.start();
  const watch = options.watchIntervalMs ?? 5_000;
  if (options.rulesDir && watch > 0) p.changes.watch(watch);
  void p.cycles.run(at, true);
}

async function stop(p: Parts): Promise<void> {
  p.ticker.stop();
  p.changes.stopWatching();
  await p.changes.watching();
  await p.queue.tail();
  await p.publisher.close();
}

async function idle(p: Parts): Promise<void> {
  // What is awaited may queue more (a reload queues a rule change): until nothing new was queued.
  for (;;) {
    const c = p.queue.tail();
    const w = p.changes.watching();
    await w;
    await c;
    await p.publisher.savingSeen();
    if (c === p.queue.tail() && w === p.changes.watching()) return;
  }
}

export function createRuleEngine(options: RuleEngineOptions): RuleEngine {
  const p = wire(options);
  return {
    start: () => start(p),
    stop: () => stop(p),
    reload: p.changes.reload,
    idle: () => idle(p),
    runOnce: () => p.cycles.run(p.clock.now(), true),
    ...p.api,
    lastCycle: p.cycles.last,
  };
}

/** Creates the engine and starts it. */
export async function startRuleEngine(options: RuleEngineOptions): Promise<RuleEngine> {
  const engine = createRuleEngine(options);
  await engine.start();
  return engine;
}
