/**
 * Capacity advice per app: how much CPU and memory one instance needs and how many instances the
 * app's load needs, from decaying histograms of what its containers used (recent days count most).
 *
 * - Per instance: `percentile × (1 + margin)`, CPU p90 of per-instance cores, memory p95 of
 *   per-instance working set (feed the window's peak when you have it: that is what must fit).
 *   CPU is rounded up to 0.01 core, memory up to a whole MiB.
 * - Instances: `ceil(p90 of the app's total cores / (recommended cpus × targetUtilisation))`, ≥ 1.
 *   The total has its own histogram: per-instance percentiles do not add up to the total's.
 * - Confidence bounds: with `d` days of history, `[estimate / (1 + 1/d), estimate × (1 + 1/d)]`
 *   (the shape of VPA's `(1 + 1/d)^exponent` bounds, made symmetric in ratio): a day of history
 *   gives ×/÷ 2, a week ×/÷ 1.14, a month ×/÷ 1.03. Less than 5 minutes counts as 5 minutes.
 * - Waste per day at today's setting: `(current total − recommended total) × 24` in core-hours and
 *   GiB-hours; negative is a shortfall.
 */
import type { Clock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import type { CapacityAdvice, Interval } from '../types.ts';
import {
  type Bucket,
  createDecayingHistogram,
  type DecayingHistogram,
  type DecayingHistogramJSON,
  type DecayingHistogramOptions,
  histogramFromJSON,
} from './histogram.ts';

const MIB = 1024 * 1024;
const DAY_MS = 86_400_000;
const MIN_HISTORY_MS = 5 * 60_000;

type BucketOptions = Omit<DecayingHistogramOptions, 'halfLifeMs'>;

export type AdvisorOptions = {
  clock: Clock;
  /** How fast old usage fades. Default 24 h. */
  halfLifeMs?: number;
  /** Default 0.9. Also the percentile of the app's total CPU that sizes the instance count. */
  cpuPercentile?: number;
  /** Default 0.95. */
  memPercentile?: number;
  /** Head-room over the percentile. Default 0.15. */
  margin?: number;
  /** The share of the recommended CPU the instances should use at the total's percentile. Default 0.7. */
  targetUtilisation?: number;
  /** No advice for an app not observed for this long. Default 7 days. */
  staleAfterMs?: number;
  /** CPU buckets (cores). Default: first 0.01, 5 % wider each, 200 (up to ~3,400 cores). */
  cpuBuckets?: BucketOptions;
  /** Memory buckets (bytes). Default: first 1 MiB, 5 % wider each, 200 (up to ~330 GiB). */
  memBuckets?: BucketOptions;
};

/** What one instance used at one moment; missing fields are simply not counted. */
export type InstanceUsage = { cpu?: number; memBytes?: number };

export type Advisor = {
  /** Adds one observation of every instance of `appId` taken at `ts` (epoch ms). */
  observe(appId: string, ts: number, perInstance: InstanceUsage[]): void;
  /** Advice against the app's current setting (`mem` in MiB); undefined without (recent) data. */
  advise(
    appId: string,
    current: { cpus: number; mem: number; instances: number },
  ): CapacityAdvice | undefined;
  /** Apps with any history. */
  apps(): string[];
  forget(appId: string): void;
  /** Everything, for persistence across restarts. */
  toJSON(): AdvisorJSON;
  /** Replaces the state with `toJSON()` output; throws `INVALID_INPUT` on anything else. */
  load(j: unknown): void;
};

type AppJSON = {
  cpu: DecayingHistogramJSON;
  mem: DecayingHistogramJSON;
  total: DecayingHistogramJSON;
  first: number;
  last: number;
  samples: number;
};
export type AdvisorJSON = { v: 1; apps: Record<string, AppJSON> };

type AppState = {
  cpu: DecayingHistogram;
  mem: DecayingHistogram;
  total: DecayingHistogram;
  first: number;
  last: number;
  samples: number;
};

/** Creates an advisor; see the module comment for the arithmetic. */
export function createAdvisor(options: AdvisorOptions): Advisor {
  const o = {
    halfLifeMs: options.halfLifeMs ?? DAY_MS,
    cpuPercentile: options.cpuPercentile ?? 0.9,
    memPercentile: options.memPercentile ?? 0.95,
    margin: options.margin ?? 0.15,
    targetUtilisation: options.targetUtilisation ?? 0.7,
    staleAfterMs: options.staleAfterMs ?? 7 * DAY_MS,
  };
  const cpuOpts = { firstBucket: 0.01, ratio: 1.05, maxBuckets: 200, ...options.cpuBuckets };
  const memOpts = { firstBucket: MIB, ratio: 1.05, maxBuckets: 200, ...options.memBuckets };
  const apps = new Map<string, AppState>();

  const fresh = (ts: number): AppState => ({
    cpu: createDecayingHistogram({ ...cpuOpts, halfLifeMs: o.halfLifeMs }),
    mem: createDecayingHistogram({ ...memOpts, halfLifeMs: o.halfLifeMs }),
    total: createDecayingHistogram({ ...cpuOpts, halfLifeMs: o.halfLifeMs }),
    first: ts,
    last: ts,
    samples: 0,
  });

  return {
    observe(appId, ts, perInstance) {
      if (!Number.isFinite(ts)) return;
      let st = apps.get(appId);
      if (!st) {
        st = fresh(ts);
        apps.set(appId, st);
      }
      let total = 0;
      let withCpu = 0;
      for (const u of perInstance) {
        const cpu = u.cpu;
        const mem = u.memBytes;
        const hasCpu = cpu !== undefined && Number.isFinite(cpu) && cpu >= 0;
        const hasMem = mem !== undefined && Number.isFinite(mem) && mem >= 0;
        if (hasCpu) {
          st.cpu.add(cpu, 1, ts);
          total += cpu;
          withCpu++;
        }
        if (hasMem) st.mem.add(mem, 1, ts);
        if (hasCpu || hasMem) st.samples++;
      }
      if (withCpu > 0) st.total.add(total, 1, ts);
      if (ts < st.first) st.first = ts;
      if (ts > st.last) st.last = ts;
    },
    advise(appId, current) {
      const st = apps.get(appId);
      if (!st || options.clock.now() - st.last > o.staleAfterMs) return undefined;
      return adviseFrom(appId, st, current, o);
    },
    apps: () => [...apps.keys()],
    forget(appId) {
      apps.delete(appId);
    },
    toJSON() {
      const out: Record<string, AppJSON> = {};
      for (const [id, st] of apps)
        out[id] = {
          cpu: st.cpu.toJSON(),
          mem: st.mem.toJSON(),
          total: st.total.toJSON(),
          first: st.first,
          last: st.last,
          samples: st.samples,
        };
      return { v: 1, apps: out };
    },
    load(j) {
      const loaded = parseAdvisorJSON(j);
      apps.clear();
      for (const [id, st] of loaded) apps.set(id, st);
    },
  };
}

type Settings = { cpuPercentile: number; memPercentile: number; margin: number; targetUtilisation: number };

function adviseFrom(
  appId: string,
  st: AppState,
  current: { cpus: number; mem: number; instances: number },
  o: Settings,
): CapacityAdvice | undefined {
  const cpuP = st.cpu.percentile(o.cpuPercentile);
  const memP = st.mem.percentile(o.memPercentile);
  if (cpuP === undefined && memP === undefined) return undefined;
  // A dimension without data keeps today's setting rather than inventing one.
  const cpus = cpuP === undefined ? current.cpus : Math.max(0.01, roundUp(cpuP * (1 + o.margin), 0.01));
  const mem = memP === undefined ? current.mem : Math.max(1, roundUp((memP * (1 + o.margin)) / MIB, 1));
  const totalP = st.total.percentile(o.cpuPercentile);
  const instances =
    totalP === undefined || cpuP === undefined
      ? current.instances
      : Math.max(1, Math.ceil(totalP / (cpus * o.targetUtilisation) - 1e-9));
  const historyMs = st.last - st.first;
  const spread = 1 + DAY_MS / Math.max(historyMs, MIN_HISTORY_MS);
  return {
    appId,
    current: { ...current },
    recommended: { cpus, mem, instances },
    bounds: { cpus: bound(cpus, spread, 0.01), mem: bound(mem, spread, 1) },
    samples: st.samples,
    historyMs,
    waste: {
      coreHoursPerDay: (current.cpus * current.instances - cpus * instances) * 24,
      gibHoursPerDay: ((current.mem * current.instances - mem * instances) / 1024) * 24,
    },
    evidence: { cpu: shares(st.cpu.buckets(), 1), mem: shares(st.mem.buckets(), MIB) },
  };
}

/** Rounds up to a multiple of `step`, forgiving float noise just above a multiple. */
function roundUp(x: number, step: number): number {
  const n = Math.ceil(x / step - 1e-9);
  return Number((n * step).toFixed(6));
}

function bound(estimate: number, spread: number, step: number): Interval {
  return {
    low: Number((Math.floor(estimate / spread / step + 1e-9) * step).toFixed(6)),
    high: roundUp(estimate * spread, step),
  };
}

/** Buckets as shares of the total weight (the chart's y), upper bounds in the advice's unit. */
function shares(buckets: Bucket[], unit: number): Bucket[] {
  let sum = 0;
  for (const b of buckets) sum += b.weight;
  return buckets.map((b) => ({ le: b.le / unit, weight: sum > 0 ? b.weight / sum : 0 }));
}

function parseAdvisorJSON(j: unknown): Map<string, AppState> {
  const o = (j ?? {}) as Partial<AdvisorJSON>;
  if (o.v !== 1 || typeof o.apps !== 'object' || o.apps === null)
    throw new HubError('INVALID_INPUT', 'Not saved advisor state', {
      details: [{ field: o.v !== 1 ? 'v' : 'apps', message: o.v !== 1 ? 'must be 1' : 'must be an object' }],
    });
  const out = new Map<string, AppState>();
  for (const [id, a] of Object.entries(o.apps)) {
    const bad = ['first', 'last', 'samples'].filter(
      (k) => !Number.isFinite((a as Record<string, unknown>)[k]),
    );
    if (bad.length)
      throw new HubError('INVALID_INPUT', `Saved advice of ${id} is damaged`, {
        details: bad.map((k) => ({ field: `apps.${id}.${k}`, message: 'must be a number' })),
      });
    out.set(id, {
      cpu: histogramFromJSON(a.cpu),
      mem: histogramFromJSON(a.mem),
      total: histogramFromJSON(a.total),
      first: a.first,
      last: a.last,
      samples: a.samples,
    });
  }
  return out;
}
