/**
 * A histogram whose samples fade with age, for capacity advice. The idea is the one Kubernetes'
 * Vertical Pod Autoscaler uses: exponential buckets (each bucket `ratio` wider than the one before,
 * so the relative error is the same for 0.05 and 50 cores) and a weight that doubles every
 * half-life of sample time, so that yesterday's usage counts half as much as today's.
 *
 * Weights are stored relative to a reference timestamp: a sample at `ts` adds
 * `weight × 2^((ts − reference) / halfLife)`. When that exponent grows too large the reference is
 * moved forward and every bucket rescaled, so the numbers never overflow however long the
 * histogram lives. Reported weights are expressed "as of the newest sample": a sample taken one
 * half-life before the newest one reports half its weight.
 */
import { HubError } from '../../core/errors.ts';

const DAY_MS = 86_400_000;
/** Rescale when a new sample would weigh more than 2^this relative to the reference. */
const MAX_EXPONENT = 64;

/** One bucket: every value up to `le` (and above the previous bucket's `le`), and its weight. */
export type Bucket = { le: number; weight: number };

export type DecayingHistogramOptions = {
  /** Default 24 h. */
  halfLifeMs?: number;
  /** Width of the first bucket (values are ≥ 0). Default 0.01, fit for CPU cores. */
  firstBucket?: number;
  /** Each bucket is this much wider than the previous one. Default 1.05 (5 %). */
  ratio?: number;
  /** Values beyond the last bucket land in it. Default 200. */
  maxBuckets?: number;
};

export type DecayingHistogram = {
  /** Adds `value` with `weight` (≥ 0) observed at `ts` (epoch ms). Negative values count as 0. */
  add(value: number, weight: number, ts: number): void;
  /**
   * The upper bound of the bucket where the cumulative weight reaches `p` (0..1) of the total; the
   * bucket's end rather than its start, so an estimate never falls short. Undefined when empty.
   */
  percentile(p: number): number | undefined;
  /** Sum of the decayed weights, as of the newest sample. */
  totalWeight(): number;
  /** Buckets from the first to the last non-empty one, weights as of the newest sample. */
  buckets(): Bucket[];
  /** Timestamp of the newest sample, undefined when nothing was added. */
  newest(): number | undefined;
  toJSON(): DecayingHistogramJSON;
};

export type DecayingHistogramJSON = {
  v: 1;
  halfLifeMs: number;
  firstBucket: number;
  ratio: number;
  maxBuckets: number;
  reference: number;
  newest: number | null;
  /** Sparse: `[bucket index, weight relative to reference]`. */
  weights: [number, number][];
};

type State = {
  halfLifeMs: number;
  firstBucket: number;
  ratio: number;
  maxBuckets: number;
  reference: number | undefined;
  newest: number | undefined;
  weights: Float64Array;
};

/** Creates an empty decaying histogram; see the module comment for the model. */
export function createDecayingHistogram(options: DecayingHistogramOptions = {}): DecayingHistogram {
  const halfLifeMs = options.halfLifeMs ?? DAY_MS;
  const firstBucket = options.firstBucket ?? 0.01;
  const ratio = options.ratio ?? 1.05;
  const maxBuckets = options.maxBuckets ?? 200;
  const bad = checkOptions(halfLifeMs, firstBucket, ratio, maxBuckets);
  if (bad.length) throw new HubError('INVALID_INPUT', 'Bad histogram options', { details: bad });
  return wrap({
    halfLifeMs,
    firstBucket,
    ratio,
    maxBuckets,
    reference: undefined,
    newest: undefined,
    weights: new Float64Array(maxBuckets),
  });
}

/** Rebuilds a histogram from `toJSON()` output; throws `INVALID_INPUT` on anything else. */
export function histogramFromJSON(j: unknown): DecayingHistogram {
  const o = (j ?? {}) as Partial<DecayingHistogramJSON>;
  const bad = checkOptions(o.halfLifeMs, o.firstBucket, o.ratio, o.maxBuckets);
  if (o.v !== 1) bad.push({ field: 'v', message: 'must be 1' });
  if (!Number.isFinite(o.reference)) bad.push({ field: 'reference', message: 'must be a number' });
  if (o.newest !== null && !Number.isFinite(o.newest))
    bad.push({ field: 'newest', message: 'must be a number or null' });
  if (!Array.isArray(o.weights)) bad.push({ field: 'weights', message: 'must be an array' });
  if (bad.length) throw new HubError('INVALID_INPUT', 'Not a decaying histogram', { details: bad });
  const weights = new Float64Array(o.maxBuckets!);
  for (const [n, entry] of o.weights!.entries()) {
    const [i, w] = Array.isArray(entry) ? entry : [];
    if (!Number.isInteger(i) || i! < 0 || i! >= weights.length || !Number.isFinite(w) || w! < 0)
      throw new HubError('INVALID_INPUT', 'Not a decaying histogram', {
        details: [{ field: `weights[${n}]`, message: 'must be [bucket index, weight ≥ 0]' }],
      });
    weights[i!] = w!;
  }
  return wrap({
    halfLifeMs: o.halfLifeMs!,
    firstBucket: o.firstBucket!,
    ratio: o.ratio!,
    maxBuckets: o.maxBuckets!,
    reference: o.newest === null ? undefined : o.reference!,
    newest: o.newest ?? undefined,
    weights,
  });
}

function checkOptions(
  halfLifeMs: unknown,
  firstBucket: unknown,
  ratio: unknown,
  maxBuckets: unknown,
): { field: string; message: string }[] {
  const bad: { field: string; message: string }[] = [];
  const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (!positive(halfLifeMs)) bad.push({ field: 'halfLifeMs', message: 'must be a positive number' });
  if (!positive(firstBucket)) bad.push({ field: 'firstBucket', message: 'must be a positive number' });
  if (!positive(ratio) || (ratio as number) <= 1) bad.push({ field: 'ratio', message: 'must be above 1' });
  if (!Number.isInteger(maxBuckets) || (maxBuckets as number) < 1 || (maxBuckets as number) > 10_000)
    bad.push({ field: 'maxBuckets', message: 'must be an integer 1..10000' });
  return bad;
}

function wrap(s: State): DecayingHistogram {
  const logRatio = Math.log(s.ratio);
  const scale = (s.ratio - 1) / s.firstBucket;
  // Upper bound of bucket i: the sum of the first i+1 bucket widths, a geometric series.
  const bounds = new Float64Array(s.maxBuckets);
  for (let i = 0; i < s.maxBuckets; i++)
    bounds[i] = (s.firstBucket * (s.ratio ** (i + 1) - 1)) / (s.ratio - 1);
  const upper = (i: number) => bounds[i]!;
  // Observations come in batches sharing a timestamp: compute their factor once.
  let factorTs = Number.NaN;
  let factor = 0;
  const indexOf = (value: number) => {
    if (!(value > 0)) return 0;
    let i = Math.floor(Math.log1p(value * scale) / logRatio);
    if (i >= s.maxBuckets) return s.maxBuckets - 1;
    // Float error at a bucket edge may land one off; a value equal to `le` belongs to that bucket.
    if (i > 0 && value <= upper(i - 1)) i--;
    else if (value > upper(i)) i++;
    return Math.min(i, s.maxBuckets - 1);
  };
  /** Factor that turns stored weights into weights as of the newest sample. */
  const asOfNewest = () =>
    s.reference === undefined || s.newest === undefined ? 0 : 2 ** ((s.reference - s.newest) / s.halfLifeMs);
  const total = () => {
    let sum = 0;
    for (let i = 0; i < s.weights.length; i++) sum += s.weights[i]!;
    return sum;
  };

  return {
    add(value, weight, ts) {
      if (!(weight > 0) || !Number.isFinite(ts) || Number.isNaN(value)) return;
      if (s.reference === undefined) s.reference = ts;
      let exponent = (ts - s.reference) / s.halfLifeMs;
      if (exponent > MAX_EXPONENT) {
        // Move the reference to this sample and shrink what is stored to match.
        const shrink = 2 ** -exponent;
        for (let i = 0; i < s.weights.length; i++) s.weights[i]! *= shrink;
        s.reference = ts;
        exponent = 0;
        factorTs = Number.NaN;
      }
      if (ts !== factorTs) {
        factorTs = ts;
        factor = 2 ** exponent;
      }
      s.weights[indexOf(value)]! += weight * factor;
      if (s.newest === undefined || ts > s.newest) s.newest = ts;
    },
    percentile(p) {
      const sum = total();
      if (!(sum > 0)) return undefined;
      const want = Math.min(1, Math.max(0, p)) * sum;
      let acc = 0;
      let last = 0;
      for (let i = 0; i < s.weights.length; i++) {
        const w = s.weights[i]!;
        if (w <= 0) continue;
        acc += w;
        last = i;
        if (acc >= want * (1 - 1e-12)) return upper(i);
      }
      return upper(last);
    },
    totalWeight: () => total() * asOfNewest(),
    buckets() {
      const factor = asOfNewest();
      let first = -1;
      let last = -1;
      for (let i = 0; i < s.weights.length; i++)
        if (s.weights[i]! > 0) {
          if (first < 0) first = i;
          last = i;
        }
      const out: Bucket[] = [];
      for (let i = Math.max(0, first); i <= last; i++)
        out.push({ le: upper(i), weight: s.weights[i]! * factor });
      return out;
    },
    newest: () => s.newest,
    toJSON() {
      const weights: [number, number][] = [];
      for (let i = 0; i < s.weights.length; i++) if (s.weights[i]! > 0) weights.push([i, s.weights[i]!]);
      return {
        v: 1,
        halfLifeMs: s.halfLifeMs,
        firstBucket: s.firstBucket,
        ratio: s.ratio,
        maxBuckets: s.maxBuckets,
        reference: s.reference ?? 0,
        newest: s.newest ?? null,
        weights,
      };
    },
  };
}
