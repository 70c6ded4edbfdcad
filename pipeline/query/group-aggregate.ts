/**
 * Aggregation of a group of series into one, at every timestamp any of them has (OpenTSDB's
 * `AggregationIterator`). A series lacking a point at a timestamp is linearly interpolated between
 * its neighbours, or for rates holds its previous value; before its first or after its last point
 * it takes no part. Four strategies give the same answer at different costs:
 * - shared timestamps (downsampled or aligned data): nothing to interpolate, simple folds run
 *   series by series;
 * - aggregators that ignore missing points: only the real points, bucketed by timestamp;
 * - sum and avg: interpolation by difference arrays, linear in the number of points;
 * - the others (min, max, dev, median, pNN): a cursor per series at every timestamp, bounded by
 *   MAX_INTERPOLATIONS.
 */
import type { Aggregator } from '../../core/query.ts';
import { type AggregateFn, aggregateFunction, missingPolicy } from './aggregators.ts';
import { invalidQuery } from './filters.ts';
import { lowerBound, type Points, type Scratch } from './transform.ts';

/** Most series × timestamps the cursor strategy may visit for one group. */
export const MAX_INTERPOLATIONS = 50_000_000;

/** Where each point of each series sits among the union timestamps, and the real values by slot. */
type Layout = { union: Float64Array; index: Int32Array[]; offsets: Int32Array; values: Float64Array };

function sharedTimestamps(group: Points[]): Float64Array | undefined {
  const base = group[0]!.ts;
  for (const s of group) {
    const ts = s.ts;
    if (ts === base) continue;
    if (ts.length !== base.length) return undefined;
    for (let i = 0; i < ts.length; i++) if (ts[i] !== base[i]) return undefined;
  }
  return base;
}

function unionTimestamps(group: Points[]): Float64Array {
  let total = 0;
  for (const s of group) total += s.ts.length;
  const all = new Float64Array(total);
  let at = 0;
  for (const s of group) {
    all.set(s.ts, at);
    at += s.ts.length;
  }
  all.sort();
  let m = 0;
  for (let i = 0; i < total; i++) if (m === 0 || all[i] !== all[m - 1]) all[m++] = all[i]!;
  return all.subarray(0, m);
}

function layout(group: Points[], union: Float64Array): Layout {
  const offsets = new Int32Array(union.length + 1);
  const index = group.map((s) => {
    const ix = new Int32Array(s.ts.length);
    let at = 0;
    for (let k = 0; k < s.ts.length; k++) {
      at = lowerBound(union, s.ts[k]!, at);
      ix[k] = at;
      offsets[at + 1]!++;
    }
    return ix;
  });
  for (let j = 0; j < union.length; j++) offsets[j + 1]! += offsets[j]!;
  const values = new Float64Array(offsets[union.length]!);
  const fill = offsets.slice(0, union.length);
  group.forEach((s, i) => {
    const ix = index[i]!;
    for (let k = 0; k < ix.length; k++) values[fill[ix[k]!]!++] = s.values[k]!;
  });
  return { union, index, offsets, values };
}

type Fold = 'sum' | 'avg' | 'min' | 'max' | 'count';
const FOLDS: Partial<Record<Aggregator, Fold>> = {
  sum: 'sum',
  zimsum: 'sum',
  avg: 'avg',
  min: 'min',
  mimmin: 'min',
  max: 'max',
  mimmax: 'max',
  count: 'count',
};

/** Shared timestamps and a simple fold: series by series, so that memory is read in order. */
function foldShared(group: Points[], ts: Float64Array, fold: Fold): Points {
  const acc = new Float64Array(ts.length).fill(
    fold === 'min' ? Number.POSITIVE_INFINITY : fold === 'max' ? Number.NEGATIVE_INFINITY : 0,
  );
  const seen = new Int32Array(ts.length);
  for (const { values } of group) {
    for (let j = 0; j < values.length; j++) {
      const v = values[j]!;
      if (Number.isNaN(v)) continue;
      seen[j]!++;
      if (fold === 'min') acc[j] = Math.min(v, acc[j]!);
      else if (fold === 'max') acc[j] = Math.max(v, acc[j]!);
      else acc[j]! += v;
    }
  }
  for (let j = 0; j < ts.length; j++) {
    const n = seen[j]!;
    if (fold === 'count') acc[j] = n;
    else if (n === 0) acc[j] = Number.NaN;
    else if (fold === 'avg') acc[j] = acc[j]! / n;
  }
  return { ts, values: acc };
}

function aggregateShared(group: Points[], ts: Float64Array, fn: AggregateFn, scratch: Scratch): Points {
  const count = group.length;
  const columns = group.map((s) => s.values);
  const out = new Float64Array(ts.length);
  scratch.ensure(count);
  const buf = scratch.a;
  for (let j = 0; j < ts.length; j++) {
    for (let i = 0; i < count; i++) buf[i] = columns[i]![j]!;
    out[j] = fn(buf, count, scratch.b);
  }
  return { ts, values: out };
}

function aggregateReal(l: Layout, fn: AggregateFn, scratch: Scratch): Points {
  const out = new Float64Array(l.union.length);
  let widest = 0;
  for (let j = 0; j < out.length; j++) widest = Math.max(widest, l.offsets[j + 1]! - l.offsets[j]!);
  scratch.ensure(widest);
  const buf = scratch.a;
  for (let j = 0; j < out.length; j++) {
    const from = l.offsets[j]!;
    const n = l.offsets[j + 1]! - from;
    for (let k = 0; k < n; k++) buf[k] = l.values[from + k]!;
    out[j] = fn(buf, n, scratch.b);
  }
  return { ts: l.union, values: out };
}

/** Adds each segment's line `c + slope * (t - t0)` to the timestamps strictly inside it. */
function segmentDeltas(group: Points[], l: Layout, hold: boolean) {
  const size = l.union.length + 1;
  const base = l.union[0]!;
  const dc = new Float64Array(size);
  const ds = new Float64Array(size);
  const dn = new Int32Array(size);
  group.forEach((s, i) => {
    const ix = l.index[i]!;
    for (let k = 0; k + 1 < ix.length; k++) {
      const a = ix[k]!;
      const b = ix[k + 1]!;
      const v0 = s.values[k]!;
      const v1 = s.values[k + 1]!;
      if (b - a < 2 || Number.isNaN(v0) || (!hold && Number.isNaN(v1))) continue;
      const t0 = s.ts[k]!;
      const slope = hold ? 0 : (v1 - v0) / (s.ts[k + 1]! - t0);
      const c = v0 - slope * (t0 - base);
      dc[a + 1]! += c;
      dc[b]! -= c;
      ds[a + 1]! += slope;
      ds[b]! -= slope;
      dn[a + 1]!++;
      dn[b]!--;
    }
  });
  return { dc, ds, dn, base };
}

/** Neumaier-compensated running sum, so that added and removed segments cancel out cleanly. */
class RunningSum {
  private sum = 0;
  private comp = 0;

  add(x: number): number {
    const t = this.sum + x;
    this.comp += Math.abs(this.sum) >= Math.abs(x) ? this.sum - t + x : x - t + this.sum;
    this.sum = t;
    return this.sum + this.comp;
  }
}

function aggregateLinear(group: Points[], l: Layout, average: boolean, hold: boolean): Points {
  const { dc, ds, dn, base } = segmentDeltas(group, l, hold);
  const out = new Float64Array(l.union.length);
  const c = new RunningSum();
  const slope = new RunningSum();
  let lerped = 0;
  for (let j = 0; j < out.length; j++) {
    const cj = c.add(dc[j]!);
    const sj = slope.add(ds[j]!);
    lerped += dn[j]!;
    let sum = 0;
    let n = 0;
    for (let k = l.offsets[j]!; k < l.offsets[j + 1]!; k++) {
      const v = l.values[k]!;
      if (!Number.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    if (lerped > 0) sum += cj + sj * (l.union[j]! - base);
    n += lerped;
    out[j] = n === 0 ? Number.NaN : average ? sum / n : sum;
  }
  return { ts: l.union, values: out };
}

function aggregateByCursor(
  group: Points[],
  union: Float64Array,
  fn: AggregateFn,
  hold: boolean,
  scratch: Scratch,
): Points {
  const count = group.length;
  const cursors = new Int32Array(count);
  const out = new Float64Array(union.length);
  scratch.ensure(count);
  const buf = scratch.a;
  for (let j = 0; j < union.length; j++) {
    const t = union[j]!;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const { ts, values } = group[i]!;
      let c = cursors[i]!;
      while (c < ts.length && ts[c]! < t) c++;
      cursors[i] = c;
      if (c < ts.length && ts[c] === t) buf[n++] = values[c]!;
      else if (c > 0 && c < ts.length) {
        const t0 = ts[c - 1]!;
        const v0 = values[c - 1]!;
        buf[n++] = hold ? v0 : v0 + ((t - t0) * (values[c]! - v0)) / (ts[c]! - t0);
      }
    }
    out[j] = fn(buf, n, scratch.b);
  }
  return { ts: union, values: out };
}

/**
 * Aggregates a group of series (each in time order) into one. `hold` makes missing points take
 * the series' previous value instead of interpolating, as OpenTSDB does for rates. Throws
 * INVALID_QUERY at `where` when the unaligned data would need more than MAX_INTERPOLATIONS.
 */
export function aggregateSeries(
  group: Points[],
  aggregator: Aggregator,
  hold: boolean,
  scratch: Scratch,
  where: string,
): Points {
  const fn = aggregateFunction(aggregator);
  const shared = sharedTimestamps(group);
  if (shared) {
    const fold = FOLDS[aggregator];
    return fold ? foldShared(group, shared, fold) : aggregateShared(group, shared, fn, scratch);
  }
  const union = unionTimestamps(group);
  if (missingPolicy(aggregator) === 'skip') return aggregateReal(layout(group, union), fn, scratch);
  if (aggregator === 'sum' || aggregator === 'avg')
    return aggregateLinear(group, layout(group, union), aggregator === 'avg', hold);
  const cells = union.length * group.length;
  if (cells > MAX_INTERPOLATIONS)
    throw invalidQuery(
      where,
      `${aggregator} over ${group.length} series with ${union.length} distinct timestamps needs ${cells} interpolations (limit ${MAX_INTERPOLATIONS}); add a downsampler such as 1m-avg`,
    );
  return aggregateByCursor(group, union, fn, hold, scratch);
}
