/**
 * Batches of points as columns (`PointColumns`, core/model.ts). The `/api/put` body scanner hands
 * its batches over in this form, and they travel so to the store: an object a point that lives
 * across the bus append is what the garbage collector promotes and later compacts.
 */
import type { MetricPoint, PointColumns, PointSeries, Tags } from '../../core/model.ts';

export function columnsOf(points: readonly MetricPoint[]): PointColumns {
  const ts = new Float64Array(points.length);
  const values = new Float64Array(points.length);
  for (let i = 0; i < points.length; i++) {
    ts[i] = points[i]!.ts;
    values[i] = points[i]!.value;
  }
  return { series: points, ts, values };
}

export function pointsOf(c: PointColumns): MetricPoint[] {
  const points = new Array<MetricPoint>(c.series.length);
  for (let i = 0; i < points.length; i++) {
    const s = c.series[i]!;
    points[i] = { metric: s.metric, tags: s.tags as Tags, ts: c.ts[i]!, value: c.values[i]! };
  }
  return points;
}

/** One batch of several, in order. */
export function concatColumns(parts: readonly PointColumns[]): PointColumns {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.series.length;
  const series = new Array<PointSeries>(n);
  const ts = new Float64Array(n);
  const values = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    for (let i = 0; i < p.series.length; i++, at++) {
      series[at] = p.series[i]!;
      ts[at] = p.ts[i]!;
      values[at] = p.values[i]!;
    }
  }
  return { series, ts, values };
}
