/**
 * OpenTSDB's query pipeline as a pure function: per sub-query select the series, filter them,
 * downsample and rate each one, group by the group-by tag keys and aggregate each group across
 * series, interpolating series that lack a point at a timestamp.
 */

import { seriesKey, type Tags } from '../../core/model.ts';
import type { Downsample, MetricQuery, RawSeries, SeriesResult, SubQuery } from '../../core/query.ts';
import { compileFilters, invalidQuery } from './filters.ts';
import { aggregateSeries } from './group-aggregate.ts';
import { checkBucketCount } from './spec.ts';
import { clip, downsample, type Points, rate, Scratch, wholeSeconds } from './transform.ts';

/** Returns the raw series of `sub.metric` with points in `[start, end]`; may return more. */
export type SelectSeries = (sub: SubQuery, start: number, end: number) => RawSeries[];

type Prepared = { key: string; tags: Tags; points: Points };

const GROUP_SEPARATOR = '\u0000';

function transform(points: Points, sub: SubQuery, query: MetricQuery, scratch: Scratch): Points {
  let p = points;
  const ds = sub.downsample;
  if (ds && ds.aggregator !== 'none') {
    p = downsample(p, ds, query.start, query.end, scratch);
  } else if (!query.msResolution && !wholeSeconds(p.ts)) {
    // OpenTSDB answers in seconds by merging the points of each second with the query's aggregator.
    const aggregator = sub.aggregator === 'none' ? 'avg' : sub.aggregator;
    const perSecond: Downsample = { intervalMs: 1000, aggregator, fill: 'none' };
    p = downsample(p, perSecond, query.start, query.end, scratch);
  }
  return sub.rate ? rate(p, sub.rateOptions) : p;
}

function prepare(raw: RawSeries[], sub: SubQuery, query: MetricQuery, scratch: Scratch): Prepared[] {
  const matches = compileFilters(sub.filters);
  const keyCount = new Set(sub.filters.map((f) => f.tagk)).size;
  const out: Prepared[] = [];
  for (const series of raw) {
    if (series.metric !== sub.metric || !matches(series.tags)) continue;
    if (sub.explicitTags && Object.keys(series.tags).length !== keyCount) continue;
    const points = clip(series, query.start, query.end);
    if (points.ts.length === 0) continue;
    const key = series.key ?? seriesKey(series.metric, series.tags);
    out.push({ key, tags: series.tags, points: transform(points, sub, query, scratch) });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** OpenTSDB's group tags: keys every series has with one value; aggregateTags: with several. */
function groupTags(group: Prepared[]): { tags: Tags; aggregateTags: string[] } {
  const firstTags = group[0]!.tags;
  const common: [string, string][] = [];
  const aggregateTags: string[] = [];
  for (const key of Object.keys(firstTags).sort()) {
    const value = firstTags[key]!;
    let inAll = true;
    let same = true;
    for (let i = 1; i < group.length && inAll; i++) {
      const tags = group[i]!.tags;
      if (!Object.hasOwn(tags, key)) inAll = false;
      else if (tags[key] !== value) same = false;
    }
    if (inAll && same) common.push([key, value]);
    else if (inAll) aggregateTags.push(key);
  }
  return { tags: Object.fromEntries(common), aggregateTags };
}

function toDps(p: Points, query: MetricQuery, sub: SubQuery): [number, number | null][] {
  const nullFill = sub.downsample?.fill === 'null';
  const dps: [number, number | null][] = [];
  for (let i = 0; i < p.ts.length; i++) {
    const t = p.ts[i]!;
    if (t < query.start || t > query.end) continue;
    const v = p.values[i]!;
    dps.push([t, nullFill && Number.isNaN(v) ? null : v]);
  }
  return dps;
}

function groupSeries(series: Prepared[], sub: SubQuery): Prepared[][] {
  const keys = [...new Set(sub.filters.filter((f) => f.groupBy).map((f) => f.tagk))].sort();
  const groups = new Map<string, Prepared[]>();
  for (const s of series) {
    const id = keys.map((k) => s.tags[k]).join(GROUP_SEPARATOR);
    const group = groups.get(id);
    if (group) group.push(s);
    else groups.set(id, [s]);
  }
  return [...groups.values()];
}

function sortByTags(results: SeriesResult[]): SeriesResult[] {
  const keyed = results.map((r) => ({
    r,
    key: `${seriesKey(r.metric, r.tags)} ${r.aggregateTags.join(',')}`,
  }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.r);
}

function evaluateSubQuery(
  query: MetricQuery,
  sub: SubQuery,
  index: number,
  select: SelectSeries,
  scratch: Scratch,
): SeriesResult[] {
  const where = `queries[${index}]`;
  if (sub.downsample) checkBucketCount(sub.downsample, query.start, query.end, `${where}.downsample`);
  const series = prepare(select(sub, query.start, query.end), sub, query, scratch);
  if (sub.aggregator === 'none') {
    // Already in tag order: prepare() sorts by series key.
    return series.map((s) => ({
      metric: sub.metric,
      tags: { ...s.tags },
      aggregateTags: [],
      dps: toDps(s.points, query, sub),
      index,
    }));
  }
  const results = groupSeries(series, sub).map((group): SeriesResult => {
    const points = group.map((s) => s.points);
    const aggregated = aggregateSeries(points, sub.aggregator, sub.rate, scratch, where);
    return { metric: sub.metric, ...groupTags(group), dps: toDps(aggregated, query, sub), index };
  });
  return sortByTags(results);
}

/**
 * Evaluates every sub-query of `query` over the series `select` returns. Results are ordered by
 * sub-query index, then by their tags; timestamps are epoch ms. Throws INVALID_QUERY on a bad
 * filter or an oversized filling downsampler.
 */
export function evaluateQuery(query: MetricQuery, select: SelectSeries): SeriesResult[] {
  if (!(query.start < query.end)) throw invalidQuery('start', 'start must be before end');
  const scratch = new Scratch();
  const results: SeriesResult[] = [];
  query.queries.forEach((sub, index) => {
    for (const r of evaluateSubQuery(query, sub, index, select, scratch)) results.push(r);
  });
  return results;
}
