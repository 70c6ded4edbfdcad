/**
 * `npx tsx bench/platform.ts` (npm script `bench:platform`): the cost of one round of the platform
 * loop at fleet size. 150 apps × 20 containers = 3,000 containers; a week of history at 1-minute
 * resolution is fed into the capacity advisor's decaying histograms first (setup, timed apart).
 * Then one evaluation, as the loop does every 15 s, is timed 5 times and the median printed:
 *
 * - health of every container (`evaluateContainer`) and every app (`evaluateApp`);
 * - capacity advice for every app (this round's observation, then `advise`);
 * - the autoscaler's `decide` for every app (a third each in off, advise and auto mode; some with
 *   latency and rps targets; a few tasks without data or not ready).
 *
 * The inputs of a round (the usage the store would answer) are built before the clock starts: the
 * store query is not what is measured here. Peak RSS is the process's maximum resident set
 * (`process.resourceUsage().maxRSS`), setup included. The last line is the ratio against the target.
 *
 * Options: --apps N (150), --containers N per app (20), --days N (7), --runs N (5), --seed N (42).
 */
import { parseArgs } from 'node:util';
import { FakeClock } from '../core/clock.ts';
import { createAdvisor } from '../platform/advice/advise.ts';
import { createScalingHistory, type DecideTask, decide } from '../platform/autoscaler/decide.ts';
import { evaluateApp, evaluateContainer } from '../platform/health/evaluate.ts';
import type { AutoscalePolicy, ContainerUsage, HealthVerdict } from '../platform/types.ts';

const { values: opts } = parseArgs({
  options: {
    apps: { type: 'string', default: '150' },
    containers: { type: 'string', default: '20' },
    days: { type: 'string', default: '7' },
    runs: { type: 'string', default: '5' },
    seed: { type: 'string', default: '42' },
  },
});
const APPS = Number(opts.apps);
const PER_APP = Number(opts.containers);
const DAYS = Number(opts.days);
const RUNS = Number(opts.runs);
const TARGET_MS = 1000;
const TARGET_RSS_MB = 500;
const MINUTE = 60_000;
const DAY = 86_400_000;
const MIB = 1024 * 1024;
const START = Date.UTC(2026, 10, 1);

/** mulberry32: a small seeded PRNG so every run sees the same fleet. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(Number(opts.seed));

type App = {
  id: string;
  cpus: number;
  mem: number;
  instances: number;
  /** Mean cores per instance, daily swing share, working set MiB. */
  base: number;
  swing: number;
  memMiB: number;
  policy: AutoscalePolicy;
};

const apps: App[] = Array.from({ length: APPS }, (_, i) => {
  const cpus = [0.25, 0.5, 1, 2, 4][i % 5]!;
  const mem = [256, 512, 1024, 2048][i % 4]!;
  const mode = (['off', 'advise', 'auto'] as const)[i % 3]!;
  const policy: AutoscalePolicy = {
    mode,
    min: 2,
    max: 60,
    targetCpu: 0.6,
    tolerance: 0.1,
    downStabilisationMs: 300_000,
    ...(i % 7 === 0 ? { targetLatency: 0.25 } : {}),
    ...(i % 11 === 0 ? { targetRps: 50 } : {}),
  };
  return {
    id: `/project${i % 15}/app${i}`,
    cpus,
    mem,
    instances: PER_APP,
    base: cpus * (0.05 + rand() * 0.9),
    swing: 0.2 + rand() * 0.6,
    memMiB: mem * (0.2 + rand() * 0.7),
    policy,
  };
});

/** What each instance of `app` used at `ts`: a daily wave with noise. */
function usageAt(app: App, ts: number): { cpu: number; memBytes: number }[] {
  const wave = 1 + app.swing * Math.sin((2 * Math.PI * (ts % DAY)) / DAY);
  return Array.from({ length: app.instances }, () => ({
    cpu: Math.max(0, app.base * wave * (0.7 + rand() * 0.6)),
    memBytes: app.memMiB * MIB * (0.9 + rand() * 0.2),
  }));
}

const mb = (kb: number) => Math.round(kb / 1024);
const log = (s: string) => process.stderr.write(`[bench:platform] ${s}\n`);

// ---------------------------------------------------------------- setup: a week of history

const clock = new FakeClock(START);
const advisor = createAdvisor({ clock });
const setupStart = performance.now();
const setupCpu = process.cpuUsage();
const end = START + DAYS * DAY;
let observations = 0;
for (let ts = START; ts < end; ts += MINUTE) {
  for (const app of apps) advisor.observe(app.id, ts, usageAt(app, ts));
  observations += APPS;
}
const setupMs = performance.now() - setupStart;
const setupCpuS = (() => {
  const u = process.cpuUsage(setupCpu);
  return (u.user + u.system) / 1e6;
})();
clock.advance(end - START);
log(
  `setup: ${observations.toLocaleString('en')} observations (${(observations * PER_APP).toLocaleString('en')} instance samples) in ${(setupMs / 1000).toFixed(1)} s`,
);

// ---------------------------------------------------------------- one round's inputs

type Round = {
  usage: Map<string, ContainerUsage[]>;
  latest: Map<string, { cpu: number; memBytes: number }[]>;
  traffic: Map<string, { latencyP99: number; errorRatio: number; rps: number }>;
};

function roundInputs(now: number): Round {
  const usage = new Map<string, ContainerUsage[]>();
  const latest = new Map<string, { cpu: number; memBytes: number }[]>();
  const traffic = new Map<string, { latencyP99: number; errorRatio: number; rps: number }>();
  for (const app of apps) {
    const per = usageAt(app, now);
    latest.set(app.id, per);
    traffic.set(app.id, { latencyP99: 0.05 + rand() * 0.4, errorRatio: rand() * 0.02, rps: rand() * 2000 });
    usage.set(
      app.id,
      per.map((u, k) => ({
        container: `${app.id.slice(1).replace('/', '-')}-${k}`,
        appId: app.id,
        task: `task-${k}`,
        // One container in 50 has no CPU data this round.
        ...(k % 50 === 49 ? {} : { cpu: u.cpu }),
        cpuLimit: app.cpus,
        throttled: rand() * 0.3,
        workingSet: u.memBytes,
        memLimit: app.mem * MIB,
        oomKills: 0,
        restarts: rand() < 0.01 ? 1 : 0,
        healthChecks: [rand() > 0.02],
      })),
    );
  }
  return { usage, latest, traffic };
}

// ---------------------------------------------------------------- the timed evaluation

const history = createScalingHistory();

/** Time spent per part of the evaluation, summed over its apps. */
type Parts = { health: number; advice: number; decide: number };

function evaluate(
  now: number,
  round: Round,
  parts: Parts,
): { containers: number; advised: number; scaled: number } {
  let containers = 0;
  let advised = 0;
  let scaled = 0;
  for (const app of apps) {
    const t0 = performance.now();
    const usages = round.usage.get(app.id)!;
    const traffic = round.traffic.get(app.id)!;
    const judged: { usage: ContainerUsage; verdict: HealthVerdict }[] = usages.map((u) => ({
      usage: u,
      verdict: evaluateContainer(u, undefined, app.cpus),
    }));
    containers += judged.length;
    evaluateApp(app.id, judged, traffic);
    const t1 = performance.now();

    advisor.observe(app.id, now, round.latest.get(app.id)!);
    if (advisor.advise(app.id, { cpus: app.cpus, mem: app.mem, instances: app.instances })) advised++;
    const t2 = performance.now();

    const tasks: DecideTask[] = judged.map((j) => ({
      id: j.usage.task!,
      ready: j.usage.healthChecks?.every(Boolean) ?? true,
      ...(j.usage.cpu === undefined ? {} : { cpu: j.usage.cpu }),
    }));
    const record = decide(
      {
        appId: app.id,
        now,
        policy: app.policy,
        current: app.instances,
        appCpus: app.cpus,
        tasks,
        deploymentRunning: false,
        latencyP99: traffic.latencyP99,
        rps: traffic.rps,
      },
      history,
    );
    if (record.action === 'scaled') scaled++;
    parts.health += t1 - t0;
    parts.advice += t2 - t1;
    parts.decide += performance.now() - t2;
  }
  return { containers, advised, scaled };
}

const times: number[] = [];
const partsOf: Parts[] = [];
let last = { containers: 0, advised: 0, scaled: 0 };
for (let run = 0; run < RUNS; run++) {
  clock.advance(15_000);
  const round = roundInputs(clock.now());
  const parts = { health: 0, advice: 0, decide: 0 };
  const t0 = performance.now();
  last = evaluate(clock.now(), round, parts);
  times.push(performance.now() - t0);
  partsOf.push(parts);
}
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const median = medianOf(times);
const part = (k: keyof Parts) => medianOf(partsOf.map((p) => p[k])).toFixed(1);
const rssMb = mb(process.resourceUsage().maxRSS);

console.log(
  `fleet: ${APPS} apps × ${PER_APP} containers = ${(APPS * PER_APP).toLocaleString('en')} containers`,
);
console.log(
  `setup: ${DAYS} days at 1-minute resolution, ${(observations * PER_APP).toLocaleString('en')} instance samples into the advisor: ${(setupMs / 1000).toFixed(2)} s (${setupCpuS.toFixed(2)} s CPU)`,
);
console.log(
  `one evaluation: health of ${last.containers} containers + ${APPS} apps, advice for ${last.advised} apps, decide for ${APPS} apps (${last.scaled} scaled)`,
);
console.log(`runs (ms): ${times.map((t) => t.toFixed(1)).join(', ')}; median ${median.toFixed(1)} ms`);
console.log(
  `median per part (ms): health ${part('health')}, advice ${part('advice')}, decide ${part('decide')}`,
);
console.log(`heap used ${mb(process.memoryUsage().heapUsed / 1024)} MB; peak RSS ${rssMb} MB`);
console.log(
  `evaluation ${median.toFixed(1)} ms (target ${TARGET_MS} ms): ${(median / TARGET_MS).toFixed(3)}× of budget; rss ${rssMb} MB (target ${TARGET_RSS_MB} MB)`,
);
