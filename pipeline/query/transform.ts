/**
 * Per-series steps of OpenTSDB's pipeline, on plain and typed arrays: clip to the query range,
 * downsample into epoch-aligned buckets (with an optional fill policy), then rate.
 */
import type { Downsample, RateOptions } from '../../core/query.ts';
import { aggregateFunction } from './aggregators.ts';

/**
 * Points of one series in time order, as typed arrays so the hot loops stay monomorphic;
 * `weights` as in `RawSeries` (roll-up buckets), until a downsample has used them.
 */
export type Points = { ts: Float64Array; values: Float64Array; weights?: Float64Array };

/** OpenTSDB's default counter max, `Long.MAX_VALUE` as a double. */
export const DEFAULT_COUNTER_MAX = 2 ** 63;

/** Reusable buffers so that the hot loops allocate nothing per point. */
export class Scratch {
  a = new Float64Array(64);
  b = new Float64Array(64);

  ensure(n: number): void {
    if (this.a.length >= n) return;
    const size = Math.max(n, this.a.length * 2);
    this.a = new Float64Array(size);
    this.b = new Float64Array(size);
  }
}

/** First index whose timestamp is `>= t`. */
export function lowerBound(ts: ArrayLike<number>, t: number, from = 0, to = ts.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Copies the points within `[start, end]` into typed arrays. */
export function clip(
  p: { ts: ArrayLike<number>; values: ArrayLike<number>; weights?: ArrayLike<number> },
  start: number,
  end: number,
): Points {
  const lo = lowerBound(p.ts, start);
  const hi = lowerBound(p.ts, end + 1, lo);
  if (p.weights) return { ...clipValues(p, lo, hi), weights: Float64Array.from(p.weights).subarray(lo, hi) };
  return clipValues(p, lo, hi);
}

function clipValues(p: { ts: ArrayLike<number>; values: ArrayLike<number> }, lo: number, hi: number): Points {
  // Typed arrays (the store's own copies) are read through views: nothing writes into them.
  if (p.ts instanceof Float64Array && p.values instanceof Float64Array)
    return { ts: p.ts.subarray(lo, hi), values: p.values.subarray(lo, hi) };
  const ts = new Float64Array(hi - lo);
  const values = new Float64Array(hi - lo);
  if (lo === 0 && hi === p.ts.length) {
    ts.set(p.ts);
    values.set(p.values);
    return { ts, values };
  }
  for (let i = lo; i < hi; i++) {
    ts[i - lo] = p.ts[i]!;
    values[i - lo] = p.values[i]!;
  }
  return { ts, values };
}

/** Start of the bucket holding `t`; exact for integer ms below 2^52 and cheaper than `%` on doubles. */
function bucketOf(t: number, interval: number): number {
  return Math.floor(t / interval) * interval;
}

/** The weights a downsample uses: for `count` and `avg`, when the points have them. */
function weightsFor(p: Points, ds: Downsample): Float64Array | undefined {
  return ds.aggregator === 'count' || ds.aggregator === 'avg' ? p.weights : undefined;
}

/** A bucket of weighted points, `from` to `to` (exclusive): `count` adds the weights, `avg` weighs by them. */
function weightedValue(p: Points, w: Float64Array, from: number, to: number, count: boolean): number {
  let weight = 0;
  let sum = 0;
  for (let i = from; i < to; i++) {
    weight += w[i]!;
    sum += p.values[i]! * w[i]!;
  }
  return count ? weight : sum / weight;
}

function runAll(p: Points, ds: Downsample, start: number, scratch: Scratch): Points {
  const n = p.ts.length;
  if (n === 0) return { ts: p.ts, values: p.values };
  const w = weightsFor(p, ds);
  if (w)
    return {
      ts: Float64Array.of(start),
      values: Float64Array.of(weightedValue(p, w, 0, n, ds.aggregator === 'count')),
    };
  scratch.ensure(n);
  for (let i = 0; i < n; i++) scratch.a[i] = p.values[i]!;
  const value = aggregateFunction(ds.aggregator)(scratch.a, n, scratch.b);
  return { ts: Float64Array.of(start), values: Float64Array.of(value) };
}

/**
 * Downsamples into buckets `[k * interval, (k + 1) * interval)` stamped with their start; `0all`
 * makes one bucket stamped `start`. With a fill policy every bucket from the one holding `start`
 * to the one holding `end` is emitted, the empty ones as NaN (`nan`, `null`) or 0 (`zero`).
 */
export function downsample(p: Points, ds: Downsample, start: number, end: number, scratch: Scratch): Points {
  if (ds.intervalMs === 0) return runAll(p, ds, start, scratch);
  const n = p.ts.length;
  const interval = ds.intervalMs;
  const fn = aggregateFunction(ds.aggregator);
  const w = weightsFor(p, ds);
  const count = ds.aggregator === 'count';
  const filling = ds.fill !== 'none';
  const first = bucketOf(start, interval);
  const size = filling ? Math.floor((bucketOf(end, interval) - first) / interval) + 1 : n;
  const ts = new Float64Array(size);
  const values = new Float64Array(size);
  let out = 0;
  if (filling) {
    const empty = ds.fill === 'zero' ? 0 : Number.NaN;
    for (let k = 0; k < size; k++) {
      ts[k] = first + k * interval;
      values[k] = empty;
    }
  }
  scratch.ensure(n);
  let i = 0;
  while (i < n) {
    const bucket = bucketOf(p.ts[i]!, interval);
    const from = i;
    let k = 0;
    while (i < n && p.ts[i]! < bucket + interval) scratch.a[k++] = p.values[i++]!;
    const value = w ? weightedValue(p, w, from, i, count) : fn(scratch.a, k, scratch.b);
    if (!filling) {
      ts[out] = bucket;
      values[out++] = value;
    } else {
      const slot = (bucket - first) / interval;
      if (slot >= 0 && slot < size) values[slot] = value;
    }
  }
  return filling ? { ts, values } : { ts: ts.subarray(0, out), values: values.subarray(0, out) };
}

/**
 * Per-second rate between consecutive points, stamped with the later point; the first point has
 * no rate. A counter that drops wrapped at `counterMax` unless `dropResets` (the point is skipped
 * and the next rate starts from it); a counter rate above a positive `resetValue` becomes 0.
 */
export function rate(p: Points, options: RateOptions | undefined): Points {
  const n = p.ts.length;
  const size = Math.max(0, n - 1);
  const ts = new Float64Array(size);
  const values = new Float64Array(size);
  const counter = options?.counter ?? false;
  const dropResets = options?.dropResets ?? false;
  const counterMax = options?.counterMax ?? DEFAULT_COUNTER_MAX;
  const resetValue = options?.resetValue ?? 0;
  let out = 0;
  for (let i = 1; i < n; i++) {
    const v0 = p.values[i - 1]!;
    const v1 = p.values[i]!;
    const seconds = (p.ts[i]! - p.ts[i - 1]!) / 1000;
    if (seconds <= 0) continue;
    let delta = v1 - v0;
    let wrapped = false;
    if (counter && delta < 0) {
      if (dropResets) continue;
      delta = counterMax - v0 + v1;
      wrapped = true;
    }
    const r = delta / seconds;
    ts[out] = p.ts[i]!;
    values[out++] = wrapped && resetValue > 0 && r > resetValue ? 0 : r;
  }
  return { ts: ts.subarray(0, out), values: values.subarray(0, out) };
}

/** True when every timestamp is a whole second, so second resolution changes nothing. */
export function wholeSeconds(ts: ArrayLike<number>): boolean {
  for (let i = 0; i < ts.length; i++) {
    const seconds = ts[i]! / 1000;
    if (seconds !== Math.floor(seconds)) return false;
  }
  return true;
}
