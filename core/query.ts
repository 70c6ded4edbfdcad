/**
 * The metric query model: OpenTSDB's `/api/query` in typed form. The hub's HTTP API parses
 * into it, the embedded store evaluates it, the OpenTSDB adapter sends it on.
 */
import type { Tags } from './model.ts';

export const AGGREGATORS = [
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'dev',
  'first',
  'last',
  'median',
  'p50',
  'p75',
  'p90',
  'p95',
  'p99',
  'p999',
  'zimsum',
  'mimmin',
  'mimmax',
  'none',
] as const;
export type Aggregator = (typeof AGGREGATORS)[number];

export const FILTER_TYPES = [
  'literal_or',
  'iliteral_or',
  'not_literal_or',
  'not_iliteral_or',
  'wildcard',
  'iwildcard',
  'regexp',
] as const;
export type FilterType = (typeof FILTER_TYPES)[number];

export type TagFilter = {
  type: FilterType;
  tagk: string;
  filter: string;
  /** Whether the results are split by this tag's values. */
  groupBy: boolean;
};

export type FillPolicy = 'none' | 'nan' | 'null' | 'zero';

export type Downsample = {
  /** Bucket width in ms, or 0 for one bucket over the whole range (`0all-`). */
  intervalMs: number;
  aggregator: Aggregator;
  fill: FillPolicy;
};

export type RateOptions = {
  counter: boolean;
  counterMax?: number;
  resetValue?: number;
  dropResets: boolean;
};

export type SubQuery = {
  metric: string;
  aggregator: Aggregator;
  downsample?: Downsample;
  rate: boolean;
  rateOptions?: RateOptions;
  filters: TagFilter[];
  /** Only series that have exactly the filtered tag keys. */
  explicitTags: boolean;
};

export type MetricQuery = {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, inclusive. */
  end: number;
  queries: SubQuery[];
  msResolution: boolean;
  showQuery: boolean;
  /** Keep the raw query text for `showQuery` answers. */
  raw?: unknown[];
};

/** One answer series: OpenTSDB's shape with `dps` as ordered pairs (ms). */
export type SeriesResult = {
  metric: string;
  tags: Tags;
  aggregateTags: string[];
  dps: [number, number | null][];
  /** Index of the sub-query that produced it. */
  index: number;
};

/** Raw points of one stored series over a range, in time order. */
export type RawSeries = {
  metric: string;
  tags: Tags;
  ts: ArrayLike<number>;
  values: ArrayLike<number>;
  /**
   * How many raw points each value stands for, when some stand for more than one (a roll-up
   * bucket's count): a `count` downsample adds them up and an `avg` downsample weighs by them.
   * Absent: one each.
   */
  weights?: ArrayLike<number>;
  /** `seriesKey(metric, tags)`, when the store has it at hand. */
  key?: string;
};

/** A `RawSeries` being built point by point. */
export type GrowingSeries = RawSeries & { ts: number[]; values: number[] };

export type LookupResult = { metric: string; tags: Tags; tsuid: string };
