/**
 * The reductions of window functions: the points of one series in a window (time order, no NaN)
 * to one value, or undefined when the window holds too few points for an answer.
 */

/** Points of one series, in time order; `ts` in epoch ms. */
export type WindowPoints = { ts: number[]; values: number[] };

export function sumOver(p: WindowPoints): number {
  let sum = 0;
  for (const v of p.values) sum += v;
  return sum;
}

export function countOver(p: WindowPoints): number {
  return p.values.length;
}

export function avgOver(p: WindowPoints): number | undefined {
  return p.values.length === 0 ? undefined : sumOver(p) / p.values.length;
}

export function maxOver(p: WindowPoints): number | undefined {
  if (p.values.length === 0) return undefined;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of p.values) if (v > max) max = v;
  return max;
}

export function minOver(p: WindowPoints): number | undefined {
  if (p.values.length === 0) return undefined;
  let min = Number.POSITIVE_INFINITY;
  for (const v of p.values) if (v < min) min = v;
  return min;
}

/** The `q`-quantile (0 ≤ q ≤ 1), interpolating linearly between the two nearest ranks. */
export function percentileOver(p: WindowPoints, q: number): number | undefined {
  const n = p.values.length;
  if (n === 0) return undefined;
  const sorted = Float64Array.from(p.values).sort();
  const rank = q * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/**
 * The increase of a counter over the window: the sum of the differences between consecutive
 * points, where a drop is a reset to zero, so the later value is all the increase since.
 */
export function increaseOver(p: WindowPoints): number | undefined {
  const v = p.values;
  if (v.length < 2) return undefined;
  let increase = 0;
  for (let i = 1; i < v.length; i++) increase += v[i]! >= v[i - 1]! ? v[i]! - v[i - 1]! : v[i]!;
  return increase;
}

/** The per-second increase of a counter between the first and last points of the window. */
export function rateOver(p: WindowPoints): number | undefined {
  const increase = increaseOver(p);
  if (increase === undefined) return undefined;
  const seconds = (p.ts[p.ts.length - 1]! - p.ts[0]!) / 1000;
  return seconds > 0 ? increase / seconds : undefined;
}

/** The least-squares line through the points, evaluated at time `t` (epoch ms). */
export function predictLinear(p: WindowPoints, t: number): number | undefined {
  const n = p.ts.length;
  if (n < 2) return undefined;
  // Times relative to the first point keep the sums small enough to stay exact for epoch ms.
  const t0 = p.ts[0]!;
  let meanT = 0;
  let meanV = 0;
  for (let i = 0; i < n; i++) {
    meanT += p.ts[i]! - t0;
    meanV += p.values[i]!;
  }
  meanT /= n;
  meanV /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dt = p.ts[i]! - t0 - meanT;
    sxy += dt * (p.values[i]! - meanV);
    sxx += dt * dt;
  }
  if (sxx === 0) return undefined;
  return meanV + (sxy / sxx) * (t - t0 - meanT);
}
