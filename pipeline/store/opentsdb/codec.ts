/**
 * OpenTSDB's HTTP and telnet bodies for the OpenTSDB MetricStore adapter, as pure functions:
 * `/api/put` bodies and their `?details` answers, telnet `put` lines, `/api/query` bodies and
 * answers, `/api/suggest` and `/api/search/lookup` parameters and answers. No I/O here.
 */
import { HubError } from '../../../core/errors.ts';
import { type MetricPoint, seriesKey, type Tags } from '../../../core/model.ts';
import type { ProjectScope } from '../../../core/ports.ts';
import type { LookupResult, MetricQuery, SeriesResult, SubQuery, TagFilter } from '../../../core/query.ts';
import { formatDownsample } from '../../query/spec.ts';

/** One data point of an `/api/put` body. Timestamps are sent in ms (OpenTSDB reads 13 digits as ms). */
export type PutDatapoint = { metric: string; timestamp: number; value: number; tags: Tags };

/** The JSON body of `POST /api/put`. */
export function toPutBody(points: readonly MetricPoint[]): PutDatapoint[] {
  return points.map((p) => ({ metric: p.metric, timestamp: p.ts, value: p.value, tags: p.tags }));
}

export type PutRejection = { point: MetricPoint; reason: string };

/** What an `/api/put?details` answer says about the points sent. */
export type PutOutcome = {
  /** Points the server stored, by its count (or all sent ones when it answered without a body). */
  stored: number;
  /** Sent points the server refused, with OpenTSDB's error text. */
  rejected: PutRejection[];
  /** Errors whose datapoint matches none of the sent points (kept for the log). */
  unmatched: { datapoint: unknown; error: string }[];
};

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The key an echoed datapoint is matched by: metric, timestamp in ms and tags (values may come back as strings). */
function echoKey(datapoint: unknown): string | undefined {
  if (!isObject(datapoint) || typeof datapoint['metric'] !== 'string' || !isObject(datapoint['tags']))
    return undefined;
  const ts = Number(datapoint['timestamp']);
  if (!Number.isFinite(ts)) return undefined;
  const ms = ts <= 9_999_999_999 ? ts * 1000 : ts;
  return `${ms} ${seriesKey(datapoint['metric'], datapoint['tags'] as Tags)}`;
}

/**
 * Reads the answer to `POST /api/put?details` for the points `sent`: `{success, failed, errors:
 * [{datapoint, error}]}` (OpenTSDB 2.x and the hub), or an empty body (204: all stored; what
 * VictoriaMetrics always answers). Each error is matched back to the sent point it echoes.
 */
export function parsePutDetails(json: unknown, sent: readonly MetricPoint[]): PutOutcome {
  if (json === undefined || json === null || json === '')
    return { stored: sent.length, rejected: [], unmatched: [] };
  if (!isObject(json) || !Array.isArray(json['errors']))
    throw new HubError(
      'UPSTREAM_FAILED',
      `Unexpected /api/put answer: ${JSON.stringify(json).slice(0, 200)}`,
    );
  const byKey = new Map<string, number[]>();
  sent.forEach((p, i) => {
    const key = `${p.ts} ${seriesKey(p.metric, p.tags)}`;
    const list = byKey.get(key);
    if (list) list.push(i);
    else byKey.set(key, [i]);
  });
  const rejected: PutRejection[] = [];
  const unmatched: PutOutcome['unmatched'] = [];
  for (const e of json['errors'] as unknown[]) {
    const datapoint = isObject(e) ? e['datapoint'] : undefined;
    const error = isObject(e) && typeof e['error'] === 'string' ? e['error'] : 'refused without a reason';
    const key = echoKey(datapoint);
    const index = key === undefined ? undefined : byKey.get(key)?.shift();
    if (index === undefined) unmatched.push({ datapoint, error });
    else rejected.push({ point: sent[index]!, reason: error });
  }
  const success = Number(json['success']);
  return {
    stored: Number.isFinite(success) ? success : sent.length - rejected.length,
    rejected,
    unmatched,
  };
}

/**
 * A timestamp for a telnet `put`: whole seconds as an integer, else `seconds.mmm`. OpenTSDB 2.x
 * reads `seconds.mmm` as milliseconds; VictoriaMetrics (1.79) keeps whole seconds of it.
 */
export function telnetTimestamp(ts: number): string {
  if (ts % 1000 === 0) return String(ts / 1000);
  const s = Math.floor(ts / 1000);
  return `${s}.${String(ts - s * 1000).padStart(3, '0')}`;
}

/** One telnet line: `put <metric> <timestamp> <value> <tagk=tagv> ...\n`. */
export function toTelnetLine(p: MetricPoint): string {
  let line = `put ${p.metric} ${telnetTimestamp(p.ts)} ${String(p.value)}`;
  for (const [k, v] of Object.entries(p.tags)) line += ` ${k}=${v}`;
  return line + '\n';
}

/** The sub-query of an `/api/query` body. */
export type QueryBodySub = {
  metric: string;
  aggregator: string;
  downsample?: string;
  rate: boolean;
  rateOptions?: { counter: boolean; counterMax?: number; resetValue?: number; dropResets: boolean };
  filters: { type: string; tagk: string; filter: string; groupBy: boolean }[];
  explicitTags: boolean;
};

export type QueryBody = {
  start: number;
  end: number;
  msResolution: boolean;
  showQuery: true;
  queries: QueryBodySub[];
};

/** The filter that keeps a query inside a scope: `project` is one of the scope's projects. */
export function scopeFilter(scope: ProjectScope): TagFilter {
  return { type: 'literal_or', tagk: 'project', filter: scope.projects.join('|'), groupBy: false };
}

function toSubBody(sub: SubQuery, scope: ProjectScope | undefined): QueryBodySub {
  const filters = scope ? [...sub.filters, scopeFilter(scope)] : sub.filters;
  const body: QueryBodySub = {
    metric: sub.metric,
    aggregator: sub.aggregator,
    rate: sub.rate,
    filters: filters.map((f) => ({ type: f.type, tagk: f.tagk, filter: f.filter, groupBy: f.groupBy })),
    explicitTags: sub.explicitTags,
  };
  if (sub.downsample) body.downsample = formatDownsample(sub.downsample);
  if (sub.rateOptions) {
    const { counter, counterMax, resetValue, dropResets } = sub.rateOptions;
    body.rateOptions = {
      counter,
      dropResets,
      ...(counterMax === undefined ? {} : { counterMax }),
      ...(resetValue === undefined ? {} : { resetValue }),
    };
  }
  return body;
}

/**
 * The body of `POST /api/query` for a query, start and end in ms. `showQuery` is always on: the
 * echoed sub-query's `index` is how each answer series is tied to its sub-query. With a scope,
 * every sub-query gets a `project` literal_or filter (not grouped by), which OpenTSDB ANDs with
 * the others. Note: with `explicitTags`, the series must then carry a `project` tag too.
 */
export function toQueryBody(query: MetricQuery, scope?: ProjectScope): QueryBody {
  return {
    start: query.start,
    end: query.end,
    msResolution: query.msResolution,
    showQuery: true,
    queries: query.queries.map((sub) => toSubBody(sub, scope)),
  };
}

/** A dps value as OpenTSDB's Jackson writes it: a number, null, or "NaN" / "Infinity" strings. */
export function decodeValue(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return n;
}

function decodeDps(dps: unknown, msResolution: boolean): [number, number | null][] {
  const toMs = (t: number) => (msResolution || t > 9_999_999_999 ? t : t * 1000);
  let out: [number, number | null][];
  // `arrays=true` answers pairs; the default is an object keyed by timestamp.
  if (Array.isArray(dps))
    out = dps.map((pair) => {
      const [t, v] = pair as [unknown, unknown];
      return [toMs(Number(t)), decodeValue(v)];
    });
  else if (isObject(dps)) out = Object.entries(dps).map(([t, v]) => [toMs(Number(t)), decodeValue(v)]);
  else throw new HubError('UPSTREAM_FAILED', '/api/query answer has a series without dps');
  return out.sort((a, b) => a[0] - b[0]);
}

function indexOf(item: Record<string, unknown>, query: MetricQuery): number {
  const echo = item['query'];
  if (isObject(echo) && typeof echo['index'] === 'number') return echo['index'];
  // Without an echoed index (older servers), tie the series to the first sub-query of its metric.
  const metric = isObject(echo) && typeof echo['metric'] === 'string' ? echo['metric'] : item['metric'];
  const i = query.queries.findIndex((q) => q.metric === metric);
  return Math.max(i, 0);
}

/** Throws the error an OpenTSDB error body `{error: {code, message, details}}` carries. */
export function errorOf(json: unknown): HubError | undefined {
  if (!isObject(json) || !isObject(json['error'])) return undefined;
  const e = json['error'];
  const code = Number(e['code']);
  const message = [e['message'], e['details']].filter((s) => typeof s === 'string' && s !== '').join(': ');
  const hubCode = code >= 400 && code < 500 ? 'INVALID_QUERY' : 'UPSTREAM_FAILED';
  return new HubError(hubCode, `OpenTSDB answered ${Number.isFinite(code) ? code : 'an error'}: ${message}`);
}

/**
 * Reads an `/api/query` answer into series with `dps` in ms, in time order. Keys are seconds
 * unless the query asked for `msResolution`. `aggregatedTags` (as the 2.4 docs' examples spell it)
 * is read like `aggregateTags` (what the server writes).
 */
export function fromQueryResponse(json: unknown, query: MetricQuery): SeriesResult[] {
  const error = errorOf(json);
  if (error) throw error;
  if (!Array.isArray(json))
    throw new HubError('UPSTREAM_FAILED', `/api/query answered ${JSON.stringify(json).slice(0, 200)}`);
  return json.map((raw) => {
    if (!isObject(raw)) throw new HubError('UPSTREAM_FAILED', '/api/query answer holds a non-object');
    const agg = raw['aggregateTags'] ?? raw['aggregatedTags'] ?? [];
    return {
      metric: String(raw['metric']),
      tags: isObject(raw['tags']) ? (raw['tags'] as Tags) : {},
      aggregateTags: Array.isArray(agg) ? agg.map(String) : [],
      dps: decodeDps(raw['dps'], query.msResolution),
      index: indexOf(raw, query),
    };
  });
}

/** The query string of `GET /api/suggest`. */
export function suggestParams(
  type: 'metrics' | 'tagk' | 'tagv',
  prefix: string,
  max: number,
): URLSearchParams {
  return new URLSearchParams({ type, q: prefix, max: String(max) });
}

/** Reads an `/api/suggest` answer: an array of names. */
export function fromSuggestResponse(json: unknown): string[] {
  const error = errorOf(json);
  if (error) throw error;
  if (!Array.isArray(json)) throw new HubError('UPSTREAM_FAILED', '/api/suggest did not answer an array');
  return json.map(String);
}

/** The query string of `GET /api/search/lookup`: `m=metric{k=v,...}` (`*` for any metric or value). */
export function lookupParams(metric: string, tags: Tags, limit: number): URLSearchParams {
  const pairs = Object.entries(tags).map(([k, v]) => `${k}=${v}`);
  return new URLSearchParams({ m: `${metric}{${pairs.join(',')}}`, limit: String(limit) });
}

/** Reads an `/api/search/lookup` answer: `{results: [{metric, tags, tsuid}]}`. */
export function fromLookupResponse(json: unknown): LookupResult[] {
  const error = errorOf(json);
  if (error) throw error;
  if (!isObject(json) || !Array.isArray(json['results']))
    throw new HubError('UPSTREAM_FAILED', '/api/search/lookup answer has no results array');
  return (json['results'] as unknown[]).filter(isObject).map((r) => ({
    metric: String(r['metric']),
    tags: isObject(r['tags']) ? (r['tags'] as Tags) : {},
    tsuid: String(r['tsuid'] ?? ''),
  }));
}

/** The sum of a gauge in Prometheus text (VictoriaMetrics' `/metrics`), or undefined when absent. */
export function sumPrometheusGauge(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** Reads `host:port` (the `store.opentsdb.telnet` setting) into the adapter's `telnet` option. */
export function parseTelnetAddress(text: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port < 1 || port > 65_535)
    throw new HubError('INVALID_CONFIG', `Invalid telnet address "${text}": expected host:port`, {
      where: 'store.opentsdb.telnet',
    });
  return { host: m[1]!, port };
}
