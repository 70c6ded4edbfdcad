/**
 * Parses OpenTSDB `/api/query` requests, the JSON body of `POST` and the query string of `GET`, into
 * a `MetricQuery`. Every problem is a `HubError('INVALID_QUERY')` whose message says what and where.
 */
import type { MetricQuery, RateOptions, SubQuery, TagFilter } from '../../core/query.ts';
import { addFilter, compileFilter, filterFromTagValue, invalidQuery, isFilterType } from './filters.ts';
import { parseMetricExpression } from './m-syntax.ts';
import { checkBucketCount, parseAggregator, parseDownsample, parseFlag } from './spec.ts';
import { parseRange } from './time.ts';

type Json = Record<string, unknown>;

const METRIC_RE = /^[\p{L}0-9\-_./]+$/u;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optionalNumber(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw invalidQuery(where, 'must be a number');
  return n;
}

function parseRateOptions(value: unknown, where: string): RateOptions {
  if (!isObject(value))
    throw invalidQuery(where, 'must be an object {counter, counterMax, resetValue, dropResets}');
  const counterMax = optionalNumber(value['counterMax'], `${where}.counterMax`);
  const resetValue = optionalNumber(value['resetValue'], `${where}.resetValue`);
  if (counterMax !== undefined && counterMax <= 0)
    throw invalidQuery(`${where}.counterMax`, 'must be positive');
  if (resetValue !== undefined && resetValue < 0)
    throw invalidQuery(`${where}.resetValue`, 'must not be negative');
  return {
    counter: parseFlag(value['counter'], `${where}.counter`),
    dropResets: parseFlag(value['dropResets'], `${where}.dropResets`),
    ...(counterMax === undefined ? {} : { counterMax }),
    ...(resetValue === undefined ? {} : { resetValue }),
  };
}

function parseFilter(value: unknown, where: string): TagFilter {
  if (!isObject(value)) throw invalidQuery(where, 'must be an object {type, tagk, filter, groupBy}');
  const type = typeof value['type'] === 'string' ? value['type'].toLowerCase() : value['type'];
  if (typeof type !== 'string' || !isFilterType(type))
    throw invalidQuery(`${where}.type`, `unknown filter type ${JSON.stringify(type ?? null)}`);
  const { tagk, filter } = value;
  if (typeof tagk !== 'string' || !METRIC_RE.test(tagk))
    throw invalidQuery(`${where}.tagk`, `must be a tag name, not ${JSON.stringify(tagk ?? null)}`);
  if (typeof filter !== 'string' || filter === '')
    throw invalidQuery(`${where}.filter`, 'must be a non-empty string');
  const groupBy = parseFlag(value['groupBy'] ?? value['group_by'], `${where}.groupBy`);
  const f: TagFilter = { type, tagk, filter, groupBy };
  compileFilter(f, where);
  return f;
}

function parseFilters(q: Json, where: string): TagFilter[] {
  const filters: TagFilter[] = [];
  const list = q['filters'];
  if (list !== undefined && list !== null) {
    if (!Array.isArray(list)) throw invalidQuery(`${where}.filters`, 'must be an array');
    list.forEach((f, i) => {
      addFilter(filters, parseFilter(f, `${where}.filters[${i}]`));
    });
  }
  const tags = q['tags'];
  if (tags !== undefined && tags !== null) {
    if (!isObject(tags)) throw invalidQuery(`${where}.tags`, 'must be an object of tag names to values');
    for (const [tagk, value] of Object.entries(tags)) {
      const at = `${where}.tags.${tagk}`;
      if (!METRIC_RE.test(tagk)) throw invalidQuery(at, `invalid tag name "${tagk}"`);
      if (typeof value !== 'string') throw invalidQuery(at, 'must be a string');
      const f = filterFromTagValue(tagk, value, true, at);
      compileFilter(f, at);
      addFilter(filters, f);
    }
  }
  return filters;
}

function parseSubQuery(value: unknown, where: string): SubQuery {
  if (!isObject(value)) throw invalidQuery(where, 'must be an object with aggregator and metric');
  const aggregator = parseAggregator(value['aggregator'], `${where}.aggregator`);
  const metric = value['metric'];
  if (metric === undefined || metric === null || metric === '') {
    const hint = value['tsuids'] === undefined ? '' : ' (tsuids queries are not supported)';
    throw invalidQuery(`${where}.metric`, `a metric is required${hint}`);
  }
  if (typeof metric !== 'string' || !METRIC_RE.test(metric))
    throw invalidQuery(`${where}.metric`, `invalid metric name ${JSON.stringify(metric)}`);
  const rate = parseFlag(value['rate'], `${where}.rate`);
  const sub: SubQuery = {
    metric,
    aggregator,
    rate,
    filters: parseFilters(value, where),
    explicitTags: parseFlag(value['explicitTags'], `${where}.explicitTags`),
  };
  const ds = value['downsample'];
  if (ds !== undefined && ds !== null && ds !== '')
    sub.downsample = parseDownsample(ds, `${where}.downsample`);
  const ro = value['rateOptions'];
  if (ro !== undefined && ro !== null) sub.rateOptions = parseRateOptions(ro, `${where}.rateOptions`);
  else if (rate) sub.rateOptions = { counter: false, dropResets: false };
  return sub;
}

function parseBody(body: unknown): Json {
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch (e) {
      throw invalidQuery('body', `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (!isObject(body)) throw invalidQuery('body', 'must be a JSON object with start and queries');
  return body;
}

function checkBuckets(query: MetricQuery, where: (i: number) => string): MetricQuery {
  query.queries.forEach((sub, i) => {
    if (sub.downsample) checkBucketCount(sub.downsample, query.start, query.end, where(i));
  });
  return query;
}

/**
 * Parses the JSON body of `POST /api/query` (OpenTSDB 2.x). `now` (epoch ms) anchors relative
 * times and is the default end.
 */
export function parseQueryBody(body: unknown, now: number): MetricQuery {
  const b = parseBody(body);
  if (parseFlag(b['delete'], 'delete'))
    throw invalidQuery('delete', 'deleting data through a query is not supported');
  if (parseFlag(b['useCalendar'], 'useCalendar'))
    throw invalidQuery(
      'useCalendar',
      'calendar downsampling is not supported; buckets align to the epoch (UTC)',
    );
  const { start, end } = parseRange(b['start'], b['end'], now);
  const list = b['queries'];
  if (!Array.isArray(list) || list.length === 0)
    throw invalidQuery(
      'queries',
      'at least one sub-query is required, e.g. [{"aggregator":"sum","metric":"m"}]',
    );
  const queries = list.map((q, i) => parseSubQuery(q, `queries[${i}]`));
  const ms = b['msResolution'] ?? b['ms'];
  const query: MetricQuery = {
    start,
    end,
    queries,
    msResolution: parseFlag(ms, b['msResolution'] === undefined ? 'ms' : 'msResolution'),
    showQuery: parseFlag(b['showQuery'], 'showQuery'),
    raw: list,
  };
  return checkBuckets(query, (i) => `queries[${i}].downsample`);
}

function paramFlag(params: URLSearchParams, ...names: string[]): boolean {
  return names.some((name) => {
    const v = params.get(name);
    return v !== null && v.toLowerCase() !== 'false' && v !== '0';
  });
}

/**
 * Parses the query string of `GET /api/query`: `start`, `end`, one or more `m` (OpenTSDB's
 * `AGG:[DS:][rate:]METRIC{...}{...}` syntax), and the flags `ms` and `show_query`.
 */
export function parseQueryParams(params: URLSearchParams, now: number): MetricQuery {
  const { start, end } = parseRange(params.get('start') ?? undefined, params.get('end') ?? undefined, now);
  const ms = params.getAll('m');
  if (ms.length === 0) {
    const hint = params.has('tsuid') ? ' (tsuid queries are not supported)' : '';
    throw invalidQuery('m', `at least one m parameter is required, e.g. m=sum:sys.cpu{host=*}${hint}`);
  }
  const query: MetricQuery = {
    start,
    end,
    queries: ms.map((m, i) => parseMetricExpression(m, i)),
    msResolution: paramFlag(params, 'ms', 'msResolution'),
    showQuery: paramFlag(params, 'show_query', 'showQuery'),
    raw: ms,
  };
  return checkBuckets(query, (i) => `m[${i}]`);
}
