/** Encodes evaluated series as OpenTSDB 2.x's `/api/query` JSON answer. */
import type { Tags } from '../../core/model.ts';
import type { MetricQuery, SeriesResult, SubQuery } from '../../core/query.ts';
import { formatDownsample } from './spec.ts';
import { DEFAULT_COUNTER_MAX } from './transform.ts';

/** A data point value as OpenTSDB writes it: Jackson quotes the non-finite doubles. */
export type OpenTsdbValue = number | null | 'NaN' | 'Infinity' | '-Infinity';

/** A sub-query as OpenTSDB echoes it with `showQuery` (without `filterTagKs`: there are no UIDs). */
export type OpenTsdbQueryEcho = {
  aggregator: string;
  metric: string;
  tsuids: null;
  downsample: string | null;
  rate: boolean;
  filters: { tagk: string; filter: string; group_by: boolean; type: string }[];
  index: number;
  tags: Tags;
  rateOptions: { counter: boolean; counterMax: number; resetValue: number; dropResets: boolean } | null;
  explicitTags: boolean;
};

export type OpenTsdbSeries = {
  metric: string;
  tags: Tags;
  aggregateTags: string[];
  dps: Record<string, OpenTsdbValue>;
  query?: OpenTsdbQueryEcho;
};

/** One dps value as OpenTSDB's Jackson writes it. */
export function encodeValue(v: number | null): OpenTsdbValue {
  if (v === null) return null;
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? 'Infinity' : '-Infinity';
}

/** The sub-query as OpenTSDB serializes its `TSSubQuery`; group-by filters reappear as `tags`. */
export function echoSubQuery(sub: SubQuery, index: number): OpenTsdbQueryEcho {
  const tags: [string, string][] = sub.filters
    .filter((f) => f.groupBy)
    .map((f) => [f.tagk, `${f.type}(${f.filter})`]);
  const ro = sub.rateOptions ?? (sub.rate ? { counter: false, dropResets: false } : undefined);
  return {
    aggregator: sub.aggregator,
    metric: sub.metric,
    tsuids: null,
    downsample: sub.downsample ? formatDownsample(sub.downsample) : null,
    rate: sub.rate,
    filters: sub.filters.map((f) => ({ tagk: f.tagk, filter: f.filter, group_by: f.groupBy, type: f.type })),
    index,
    tags: Object.fromEntries(tags),
    rateOptions: ro
      ? {
          counter: ro.counter,
          counterMax: ro.counterMax ?? DEFAULT_COUNTER_MAX,
          resetValue: ro.resetValue ?? 0,
          dropResets: ro.dropResets,
        }
      : null,
    explicitTags: sub.explicitTags,
  };
}

/**
 * OpenTSDB's answer: one object per series with `dps` keyed by timestamp, in seconds unless
 * `msResolution` (several points in one second keep the last). NaN is written as the string
 * "NaN", a `null` fill as null. With `showQuery` each series carries its sub-query.
 */
export function toOpenTsdbResponse(results: SeriesResult[], query: MetricQuery): OpenTsdbSeries[] {
  const echoes = query.showQuery ? query.queries.map((sub, i) => echoSubQuery(sub, i)) : [];
  return results.map((r) => {
    const dps: Record<string, OpenTsdbValue> = {};
    for (const [ts, value] of r.dps) {
      const key = query.msResolution ? ts : Math.floor(ts / 1000);
      dps[String(key)] = encodeValue(value);
    }
    const out: OpenTsdbSeries = { metric: r.metric, tags: r.tags, aggregateTags: r.aggregateTags, dps };
    const echo = echoes[r.index];
    if (echo) out.query = echo;
    return out;
  });
}

/**
 * `JSON.stringify(toOpenTsdbResponse(results, query))`, written straight to text: no object per
 * series keyed by thousands of timestamps, which costs more to build and to serialize than the
 * query itself. `dps` keys come in time order, as the object's integer-like keys would.
 */
export function toOpenTsdbJson(results: SeriesResult[], query: MetricQuery): string {
  const echoes = query.showQuery ? query.queries.map((sub, i) => echoSubQuery(sub, i)) : [];
  // Groups share their timestamps: each key is written to text once, with its comma.
  const keys = new Map<number, string>();
  // Appending piece by piece to one string is the cheapest way V8 has to build it.
  let json = '[';
  for (let r = 0; r < results.length; r++) {
    const { metric, tags, aggregateTags, dps, index } = results[r]!;
    if (r > 0) json += ',';
    json += `{"metric":${JSON.stringify(metric)},"tags":${JSON.stringify(tags)},"aggregateTags":${JSON.stringify(aggregateTags)},"dps":{`;
    let first = true;
    for (let i = 0; i < dps.length; i++) {
      const ts = dps[i]![0];
      const key = query.msResolution ? ts : Math.floor(ts / 1000);
      // Several points in one second: the last one stands, as in the object.
      if (!query.msResolution && i + 1 < dps.length && Math.floor(dps[i + 1]![0] / 1000) === key) continue;
      let text = keys.get(key);
      if (text === undefined) {
        text = `,"${key}":`;
        keys.set(key, text);
      }
      json += first ? text.slice(1) : text;
      first = false;
      const v = dps[i]![1];
      if (v !== null && Number.isFinite(v)) json += v;
      else json += JSON.stringify(encodeValue(v));
    }
    json += '}';
    const echo = echoes[index];
    if (echo) json += `,"query":${JSON.stringify(echo)}`;
    json += '}';
  }
  return `${json}]`;
}
