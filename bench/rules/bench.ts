/**
 * `npm run bench:rules`: the rule engine over the hub's embedded metric store (DuckDB with its
 * in-memory hot window, in a temp dir, points written through `store.write`), against Prometheus
 * evaluating the same rules in PromQL over the same points.
 *
 *   1. Cycle time: every rule evaluated once (`runOnce`), after a fresh point for every series;
 *      the median of several cycles (the first, which creates every series' state, apart).
 *   2. Ingest → webhook delay (`hub-delay.ts`): a real hub process with the same rules, points
 *      through HTTP `/api/put`, alerts through its notification pipeline (group_wait 0s, one
 *      group per alert) to a webhook receiver here; the time from the 2xx of the put carrying a
 *      trigger point to the webhook POST carrying its alert, firing.
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
import { measureHubDelay } from './hub-delay.ts';
import { type PromResult, prometheusAvailable, runPrometheus } from './prometheus.ts';
import { hubRules, seriesOf, tagsOf, Values, type Workload, workload } from './workload.ts';

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

function points(w: Workload, values: Float64Array, ts: number, from = 0, to = w.series): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (let i = from; i < to; i++) {
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
    await store.close();
    const seconds = Number(args['delay-seconds']);
    const delay =
      seconds > 0
        ? await measureHubDelay(w, new Values(w, Number(args.seed)), join(dir, 'hub'), seconds, log)
        : undefined;

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
        `hub      ingest → webhook (hub process, /api/put 2xx → webhook POST; group_wait 0s): median ${median(delay.delays).toFixed(0)} ms, p99 ${quantile(delay.delays, 0.99).toFixed(0)} ms, max ${Math.max(...delay.delays).toFixed(0)} ms (${delay.delays.length} of ${delay.sent} trigger points; ${delay.missing} never seen)`,
      );
    if (delay)
      out(
        `hub      of which evaluation (the alert's startsAt) → webhook: median ${median(delay.afterEvaluation).toFixed(0)} ms, p99 ${quantile(delay.afterEvaluation, 0.99).toFixed(0)} ms`,
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
            afterEvaluation: undefined,
            median: median(delay.delays),
            p99: quantile(delay.delays, 0.99),
            afterEvaluationMedian: median(delay.afterEvaluation),
            afterEvaluationP99: quantile(delay.afterEvaluation, 0.99),
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
