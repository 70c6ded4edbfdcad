/**
 * `npm run bench:rules`: the rule engine over the hub's embedded metric store (DuckDB with its
 * in-memory hot window, in a temp dir, points written through `store.write`), against Prometheus
 * evaluating the same rules in PromQL over the same points.
 *
 *   1. Cycle time: every rule evaluated once (`runOnce`), after a fresh point for every series;
 *      the median of several cycles (the first, which creates every series' state, apart).
 *   2. Ingest → alert delay: the engine on the real clock at a 10 s interval while points arrive
 *      (a tenth of the series per second, and a few "trigger" series pushed above the threshold
 *      each second); the time from `store.write` of a trigger point to the `sink.update` that
 *      first carries its alert. The webhook is the notification side's (not measured here).
 *   3. Prometheus (`prometheus` and `promtool` on the PATH): the same points through
 *      `promtool tsdb create-blocks-from openmetrics`, the rules in one group at 10 s; the
 *      group's `evaluationTime` per evaluation, median.
 *
 * Options: --series N (default 100000), --rules N (default 10000), --cycles N (default 5),
 * --delay-seconds N (default 60, 0 skips), --skip-prometheus, --seed N.
 * Progress to stderr; the table to stdout, the ratio of the cycle times last; the figures also to
 * bench/rules/results/rules-<date>.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRuleEngine } from '../../alerting/engine/engine.ts';
import { parseRuleFile } from '../../alerting/rules/load.ts';
import type { Alert } from '../../alerting/types.ts';
import { systemClock } from '../../core/clock.ts';
import { silentLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import {
  createEmbeddedMetricStore,
  type EmbeddedMetricStore,
} from '../../pipeline/store/embedded/embedded-metric-store.ts';
import { type PromResult, prometheusAvailable, runPrometheus } from './prometheus.ts';
import {
  hubRules,
  isTrigger,
  ruleName,
  seriesOf,
  tagsOf,
  Values,
  type Workload,
  workload,
} from './workload.ts';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '100000' },
    rules: { type: 'string', default: '10000' },
    cycles: { type: 'string', default: '5' },
    'delay-seconds': { type: 'string', default: '60' },
    'skip-prometheus': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
  },
});

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? Number.NaN;

function points(
  w: Workload,
  values: Float64Array,
  ts: number,
  from = 0,
  to = w.series,
  skip: (i: number) => boolean = () => false,
): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (let i = from; i < to; i++) {
    if (skip(i)) continue;
    const { m, a, h } = seriesOf(w, i);
    out.push({ metric: `bench.m${m}`, tags: tagsOf(a, h), ts, value: values[i]! });
  }
  return out;
}

/**
 * Writes in batches of 2,000: the embedded store cannot take more than 2,048 new series in one
 * write (DuckPoints.appendSeries makes one DuckDB data chunk of them all).
 */
async function write(store: EmbeddedMetricStore, list: MetricPoint[]): Promise<void> {
  for (let i = 0; i < list.length; i += 2_000) await store.write(list.slice(i, i + 2_000));
}

type Cycles = { first: number; cycles: number[]; writeMs: number[]; firing: number; firingPlain: number };

async function measureCycles(
  store: EmbeddedMetricStore,
  w: Workload,
  gen: Values,
  rulesYaml: string,
  dir: string,
  record: (ts: number, v: Float64Array) => void,
): Promise<Cycles> {
  const rules = parseRuleFile(rulesYaml, 'bench.yaml');
  if (rules.errors.length) throw new Error(JSON.stringify(rules.errors.slice(0, 3)));
  let last: Alert[] = [];
  const engine = createRuleEngine({
    source: store,
    sink: {
      async update(alerts) {
        last = alerts;
      },
    },
    rules: rules.rules,
    dataDir: join(dir, 'engine-cycles'),
    schedule: false,
  });
  let started = performance.now();
  await engine.start();
  const first = performance.now() - started;
  log(`hub: first cycle (every series' state created) ${first.toFixed(0)} ms`);
  const cycles: number[] = [];
  const writeMs: number[] = [];
  for (let c = 0; c < Number(args.cycles); c++) {
    const v = gen.next();
    const ts = Date.now();
    started = performance.now();
    await write(store, points(w, v, ts));
    writeMs.push(performance.now() - started);
    record(ts, v);
    const stats = await engine.runOnce();
    cycles.push(stats.durationMs);
    log(
      `hub: cycle ${c + 1}: ${stats.durationMs.toFixed(0)} ms, ${stats.firing} firing, ${stats.transitions} transitions`,
    );
  }
  await engine.stop();
  const firing = last.filter((a) => a.status === 'firing');
  return {
    first,
    cycles,
    writeMs,
    firing: firing.length,
    firingPlain: firing.filter((a) => a.rule.startsWith('P_')).length,
  };
}

async function measureDelay(
  store: EmbeddedMetricStore,
  w: Workload,
  gen: Values,
  rulesYaml: string,
  dir: string,
) {
  const seconds = Number(args['delay-seconds']);
  const triggers = Array.from({ length: w.series }, (_, i) => i).filter(isTrigger);
  const perSecond = Math.max(1, Math.floor(triggers.length / (seconds + 20)));
  const pending = new Map<string, number>();
  const delays: number[] = [];
  const engine = createRuleEngine({
    source: store,
    sink: {
      async update(alerts) {
        const now = Date.now();
        for (const a of alerts) {
          if (a.status !== 'firing') continue;
          const key = `${a.rule}|${a.labels['app']}|${a.labels['host']}`;
          const at = pending.get(key);
          if (at === undefined) continue;
          delays.push(now - at);
          pending.delete(key);
        }
      },
    },
    rules: parseRuleFile(rulesYaml, 'bench.yaml').rules,
    dataDir: join(dir, 'engine-delay'),
    clock: systemClock,
  });
  await engine.start();
  await engine.idle();
  log(
    `hub: ingest → sink.update for ${seconds} s: a tenth of the series per second, ${perSecond} triggers per second`,
  );
  const end = Date.now() + seconds * 1000;
  let slice = 0;
  let next = 0;
  const v = gen.next();
  while (Date.now() < end) {
    const tick = Date.now();
    const size = Math.ceil(w.series / 10);
    // Trigger series keep their value until pushed: a regular point must not undo a trigger.
    const batch = points(w, v, tick, slice * size, Math.min(w.series, (slice + 1) * size), isTrigger);
    slice = (slice + 1) % 10;
    for (let k = 0; k < perSecond && next < triggers.length; k++, next++) {
      const i = triggers[next]!;
      const { m, a, h } = seriesOf(w, i);
      batch.push({ metric: `bench.m${m}`, tags: tagsOf(a, h), ts: tick, value: 99 });
      pending.set(`${ruleName(m, a)}|a${a}|h${h}`, Date.now());
    }
    await write(store, batch);
    const wait = tick + 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const sent = delays.length + pending.size;
  const deadline = Date.now() + 30_000;
  while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  await engine.stop();
  return { sent, delays, missing: pending.size };
}

async function main(): Promise<void> {
  const w = workload(Number(args.series), Number(args.rules));
  const gen = new Values(w, Number(args.seed));
  const dir = await mkdtemp(join(tmpdir(), 'obs-bench-rules-'));
  log(
    `workload: ${w.series} series (${w.metrics} metrics × ${w.apps} apps × ${w.hosts} hosts), ${w.rules} rules; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`,
  );
  const times: number[] = [];
  const steps: Float64Array[] = [];
  const record = (ts: number, v: Float64Array) => {
    times.push(ts);
    steps.push(v);
  };
  try {
    const store = await createEmbeddedMetricStore({
      dataDir: join(dir, 'metrics'),
      clock: systemClock,
      logger: silentLogger,
      maintenanceIntervalMs: 0,
    });
    let started = performance.now();
    const t0 = Date.now();
    for (let k = 3; k >= 1; k--) {
      const v = gen.next();
      await write(store, points(w, v, t0 - k * 10_000));
      record(t0 - k * 10_000, v);
    }
    log(`hub: loaded ${3 * w.series} points in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const yaml = hubRules(w);
    started = performance.now();
    const cycles = await measureCycles(store, w, gen, yaml, dir, record);
    const delay =
      Number(args['delay-seconds']) > 0 ? await measureDelay(store, w, gen, yaml, dir) : undefined;
    await store.close();

    let prom: PromResult | undefined;
    if (!args['skip-prometheus'] && prometheusAvailable())
      prom = await runPrometheus(join(dir, 'prometheus'), w, times, steps, Number(args.cycles), log);
    else log('prometheus: skipped (not installed, or --skip-prometheus)');

    const hubMs = median(cycles.cycles);
    const out = (l: string) => process.stdout.write(`${l}\n`);
    out(`rules: ${w.rules}, series: ${w.series}, interval 10s, ${cpus().length} cores`);
    out(
      `hub      one evaluation cycle, median of ${cycles.cycles.length}: ${hubMs.toFixed(0)} ms  (first cycle ${cycles.first.toFixed(0)} ms; writing ${w.series} points: ${median(cycles.writeMs).toFixed(0)} ms)`,
    );
    out(
      `hub      firing after the last cycle: ${cycles.firing} (${cycles.firingPlain} of the plain "> 90" rules)`,
    );
    if (delay)
      out(
        `hub      ingest → sink.update: median ${median(delay.delays).toFixed(0)} ms, p99 ${quantile(delay.delays, 0.99).toFixed(0)} ms, max ${Math.max(...delay.delays).toFixed(0)} ms (${delay.delays.length} of ${delay.sent} trigger points; ${delay.missing} never seen)`,
      );
    if (prom) {
      const promMs = median(prom.evaluations);
      out(`prometheus ${prom.version}`);
      out(
        `prometheus one group evaluation, median of ${prom.evaluations.length}: ${promMs.toFixed(0)} ms  (firing of the plain rules: ${prom.firingPlain}; load ${prom.loadSeconds.toFixed(0)} s)`,
      );
      out(`ratio hub / prometheus cycle time: ${(hubMs / promMs).toFixed(2)}`);
    }
    const results = join(import.meta.dirname, 'results');
    await mkdir(results, { recursive: true });
    await writeFile(
      join(results, `rules-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.json`),
      JSON.stringify(
        {
          workload: w,
          cycles,
          delay: delay && {
            ...delay,
            delays: undefined,
            median: median(delay.delays),
            p99: quantile(delay.delays, 0.99),
          },
          prometheus: prom,
        },
        null,
        2,
      ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
