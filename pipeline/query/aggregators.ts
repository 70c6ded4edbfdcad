/**
 * OpenTSDB's aggregation functions over a run of values, shared by the downsampler (values of one
 * series in a bucket) and the group-by (values of several series at one timestamp). NaN values are
 * skipped, as in OpenTSDB 2.4; a run with no real value gives NaN.
 */
import type { Aggregator } from '../../core/query.ts';

/** Aggregates `values[0 .. n)`. `sortBuf` is free space of at least `n` for order statistics. */
export type AggregateFn = (values: Float64Array, n: number, sortBuf: Float64Array) => number;

/** How a series that lacks a point at a timestamp takes part in a cross-series aggregation. */
export type MissingPolicy = 'lerp' | 'skip';

function sum(v: Float64Array, n: number): number {
  let s = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (!Number.isNaN(x)) {
      s += x;
      k++;
    }
  }
  return k === 0 ? Number.NaN : s;
}

function avg(v: Float64Array, n: number): number {
  let s = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (!Number.isNaN(x)) {
      s += x;
      k++;
    }
  }
  return k === 0 ? Number.NaN : s / k;
}

function min(v: Float64Array, n: number): number {
  let m = Number.POSITIVE_INFINITY;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (!Number.isNaN(x)) {
      if (x < m) m = x;
      k++;
    }
  }
  return k === 0 ? Number.NaN : m;
}

function max(v: Float64Array, n: number): number {
  let m = Number.NEGATIVE_INFINITY;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (!Number.isNaN(x)) {
      if (x > m) m = x;
      k++;
    }
  }
  return k === 0 ? Number.NaN : m;
}

function count(v: Float64Array, n: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(v[i]!)) k++;
  return k;
}

/** Population standard deviation (Welford), as OpenTSDB's `dev`: one value gives 0. */
function dev(v: Float64Array, n: number): number {
  let mean = 0;
  let m2 = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (Number.isNaN(x)) continue;
    k++;
    const delta = x - mean;
    mean += delta / k;
    m2 += delta * (x - mean);
  }
  return k === 0 ? Number.NaN : Math.sqrt(m2 / k);
}

function first(v: Float64Array, n: number): number {
  for (let i = 0; i < n; i++) if (!Number.isNaN(v[i]!)) return v[i]!;
  return Number.NaN;
}

function last(v: Float64Array, n: number): number {
  for (let i = n - 1; i >= 0; i--) if (!Number.isNaN(v[i]!)) return v[i]!;
  return Number.NaN;
}

/** Copies the real values into `buf` and sorts them; returns how many there are. */
function sortedReal(v: Float64Array, n: number, buf: Float64Array): number {
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (!Number.isNaN(x)) buf[k++] = x;
  }
  buf.subarray(0, k).sort();
  return k;
}

/** OpenTSDB's median: the upper middle value, `sorted[floor(k / 2)]`, no averaging. */
function median(v: Float64Array, n: number, buf: Float64Array): number {
  const k = sortedReal(v, n, buf);
  return k === 0 ? Number.NaN : buf[k >> 1]!;
}

/**
 * Percentile as Apache Commons Math's default (`LEGACY`) estimation, which OpenTSDB's pNN use:
 * position `p * (k + 1)` (1-based), clamped to the first and last value, linear in between.
 */
export function percentile(p: number): AggregateFn {
  return (v, n, buf) => {
    const k = sortedReal(v, n, buf);
    if (k === 0) return Number.NaN;
    const pos = p * (k + 1);
    if (pos < 1) return buf[0]!;
    if (pos >= k) return buf[k - 1]!;
    const lowerIndex = Math.floor(pos);
    const lower = buf[lowerIndex - 1]!;
    const upper = buf[lowerIndex]!;
    return lower + (pos - lowerIndex) * (upper - lower);
  };
}

const FUNCTIONS: Record<Exclude<Aggregator, 'none'>, AggregateFn> = {
  sum,
  zimsum: sum,
  avg,
  min,
  mimmin: min,
  max,
  mimmax: max,
  count,
  dev,
  first,
  last,
  median,
  p50: percentile(0.5),
  p75: percentile(0.75),
  p90: percentile(0.9),
  p95: percentile(0.95),
  p99: percentile(0.99),
  p999: percentile(0.999),
};

/** The function of an aggregator; `none` (no aggregation) has none and falls back to `avg`. */
export function aggregateFunction(aggregator: Aggregator): AggregateFn {
  return aggregator === 'none' ? avg : FUNCTIONS[aggregator];
}

/**
 * `zimsum`, `mimmin` and `mimmax` substitute 0, +max or -max for a missing point, which for a sum,
 * min or max is the same as leaving the series out. `count`, `first` and `last` only look at real
 * points. Every other aggregator interpolates.
 */
export function missingPolicy(aggregator: Aggregator): MissingPolicy {
  switch (aggregator) {
    case 'zimsum':
    case 'mimmin':
    case 'mimmax':
    case 'count':
    case 'first':
    case 'last':
      return 'skip';
    default:
      return 'lerp';
  }
}
