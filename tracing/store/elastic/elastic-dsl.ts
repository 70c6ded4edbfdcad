/**
 * What the Elasticsearch and OpenSearch span and log stores send and how they read the answers,
 * as pure functions: daily index names, the index templates, bulk bodies and their per-item
 * results, query DSL for traces, searches, services and logs, and which daily indices retention
 * drops. Both clients (`@elastic/elasticsearch`, `@opensearch-project/opensearch`) share it, so
 * the two adapters differ only in how they call their client.
 */
import type { LogRecord, Span } from '../../../core/model.ts';
import type { LogQuery, SpanQuery } from '../../../core/ports.ts';
import type { TraceSpan } from '../../model.ts';

/** Daily index families: spans, logs, and the dependency-link deltas of the trace assembler. */
export type IndexKind = 'spans' | 'logs' | 'links';

const DAY_MS = 86_400_000;
const pad = (n: number) => String(n).padStart(2, '0');

/** `<prefix>-<kind>-YYYY.MM.DD`, the UTC day of `ms`. */
export function dailyIndex(prefix: string, kind: IndexKind, ms: number): string {
  const d = new Date(ms);
  return `${prefix}-${kind}-${d.getUTCFullYear()}.${pad(d.getUTCMonth() + 1)}.${pad(d.getUTCDate())}`;
}

/** The wildcard over every daily index of one kind. */
export function indexPattern(prefix: string, kind: IndexKind): string {
  return `${prefix}-${kind}-*`;
}

/** Widest time range, in days, that `searchIndices` names day by day instead of by wildcard. */
export const MAX_NAMED_DAYS = 14;

/**
 * The indices a search over [startMs, endMs] needs: the daily indices of those days (searched
 * with `ignore_unavailable`), or the wildcard when the range is long or open.
 */
export function searchIndices(prefix: string, kind: IndexKind, startMs: number, endMs: number): string {
  const first = Math.floor(Math.max(0, startMs) / DAY_MS);
  const last = Math.floor(endMs / DAY_MS);
  if (!Number.isFinite(endMs) || last < first || last - first >= MAX_NAMED_DAYS)
    return indexPattern(prefix, kind);
  const names: string[] = [];
  for (let d = first; d <= last; d++) names.push(dailyIndex(prefix, kind, d * DAY_MS));
  return names.join(',');
}

/** Start of the UTC day a daily index holds, or undefined when `index` is not one of ours. */
export function indexDay(prefix: string, index: string): number | undefined {
  for (const kind of ['spans', 'logs', 'links'] as const) {
    const head = `${prefix}-${kind}-`;
    if (!index.startsWith(head)) continue;
    const m = /^(\d{4})\.(\d{2})\.(\d{2})$/.exec(index.slice(head.length));
    if (!m) return undefined;
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return dailyIndex(prefix, kind, ms) === index ? ms : undefined;
  }
  return undefined;
}

/** Daily indices whose whole day lies more than `retentionDays` before `nowMs`. */
export function expiredIndices(
  prefix: string,
  indices: readonly string[],
  retentionDays: number,
  nowMs: number,
): string[] {
  const cutoff = nowMs - retentionDays * DAY_MS;
  return indices
    .filter((name) => {
      const day = indexDay(prefix, name);
      return day !== undefined && day + DAY_MS <= cutoff;
    })
    .sort();
}

/* ---------------------------------------------------------------- templates */

export type TemplateOptions = { shards?: number; replicas?: number };

/** A composable index template (`PUT _index_template/<name>`), the same body on both engines. */
export type IndexTemplate = {
  name: string;
  body: {
    index_patterns: string[];
    priority: number;
    template: { settings: Record<string, unknown>; mappings: Record<string, unknown> };
    _meta: Record<string, unknown>;
  };
};

const KEYWORD = { type: 'keyword' } as const;
// Stored in _source and given back, but not indexed: tag keys like `http.method` and
// `http` would otherwise clash as object and value, and many keys would blow up the mapping.
const STORED_ONLY = { type: 'object', enabled: false } as const;

function settings(options: TemplateOptions): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  if (options.shards !== undefined) s['number_of_shards'] = options.shards;
  if (options.replicas !== undefined) s['number_of_replicas'] = options.replicas;
  return s;
}

export function spanTemplate(prefix: string, options: TemplateOptions = {}): IndexTemplate {
  return {
    name: `${prefix}-spans`,
    body: {
      index_patterns: [indexPattern(prefix, 'spans')],
      priority: 100,
      template: {
        settings: settings(options),
        mappings: {
          // Fields a later version adds stay in _source without changing the mapping.
          dynamic: false,
          properties: {
            traceId: KEYWORD,
            spanId: KEYWORD,
            parentId: KEYWORD,
            name: KEYWORD,
            kind: KEYWORD,
            service: KEYWORD,
            remoteService: KEYWORD,
            localIp: KEYWORD,
            peerIp: KEYWORD,
            localPort: { type: 'integer' },
            peerPort: { type: 'integer' },
            start: { type: 'long' },
            duration: { type: 'long' },
            /** Epoch ms of `start`, for Kibana / OpenSearch Dashboards time pickers. */
            timestamp: { type: 'date', format: 'epoch_millis' },
            error: { type: 'boolean' },
            tagPairs: KEYWORD,
            /** Annotation values, so that a search word finds an event (`retried`). */
            annotationValues: KEYWORD,
            tags: STORED_ONLY,
            annotations: STORED_ONLY,
          },
        },
      },
      _meta: { owner: 'obs', kind: 'spans' },
    },
  };
}

export function logTemplate(prefix: string, options: TemplateOptions = {}): IndexTemplate {
  return {
    name: `${prefix}-logs`,
    body: {
      index_patterns: [indexPattern(prefix, 'logs')],
      priority: 100,
      template: {
        settings: settings(options),
        mappings: {
          dynamic: false,
          properties: {
            ts: { type: 'date', format: 'epoch_millis' },
            source: KEYWORD,
            message: { type: 'text' },
            fields: STORED_ONLY,
          },
        },
      },
      _meta: { owner: 'obs', kind: 'logs' },
    },
  };
}

/* ---------------------------------------------------------------- documents */

export type SpanDoc = TraceSpan & { timestamp: number; tagPairs: string[]; annotationValues?: string[] };
export type LogDoc = LogRecord & { message: string };

/** `k=v` keywords: one term query finds a tag without a mapping per tag key. */
export const tagPair = (key: string, value: string) => `${key}=${value}`;

export function spanToDoc(span: TraceSpan): SpanDoc {
  return {
    ...span,
    timestamp: Math.floor(span.start / 1000),
    tagPairs: Object.entries(span.tags).map(([k, v]) => tagPair(k, v)),
    ...(span.annotations.length > 0 ? { annotationValues: span.annotations.map((a) => a.value) } : {}),
  };
}

export function docToSpan(doc: SpanDoc): TraceSpan {
  const { timestamp: _t, tagPairs: _p, annotationValues: _a, ...span } = doc;
  return span;
}

/**
 * The document id: a second write of the same span replaces the first. The kind is part of it
 * because Zipkin's shared spans give a client and its server the same span id.
 */
export const spanDocId = (s: Span) => `${s.traceId}-${s.spanId}-${s.kind}`;

/** The text `message` a log search matches: the raw line, or the parsed fields' values. */
export function logMessage(record: LogRecord): string {
  if (record.raw !== undefined && record.raw !== '') return record.raw;
  return Object.values(record.fields)
    .filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .join(' ');
}

export function logToDoc(record: LogRecord): LogDoc {
  return { ...record, message: logMessage(record) };
}

export function docToLog(doc: LogDoc): LogRecord {
  const { message: _m, ...record } = doc;
  return record;
}

/* ---------------------------------------------------------------- bulk */

/** One document of a bulk request, and the caller's item it came from. */
export type BulkItem<T> = { index: string; id?: string; doc: Record<string, unknown>; item: T };

export function spanBulkItems(prefix: string, spans: readonly TraceSpan[]): BulkItem<TraceSpan>[] {
  return spans.map((s) => ({
    index: dailyIndex(prefix, 'spans', Math.floor(s.start / 1000)),
    id: spanDocId(s),
    doc: spanToDoc(s),
    item: s,
  }));
}

export function logBulkItems(prefix: string, records: readonly LogRecord[]): BulkItem<LogRecord>[] {
  return records.map((r) => ({ index: dailyIndex(prefix, 'logs', r.ts), doc: logToDoc(r), item: r }));
}

/** The `_bulk` body: an `index` action line, then the document, per item. */
export function bulkBody(items: readonly BulkItem<unknown>[]): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const it of items) {
    lines.push({ index: it.id === undefined ? { _index: it.index } : { _index: it.index, _id: it.id } });
    lines.push(it.doc);
  }
  return lines;
}

/** The documented shape of a `_bulk` answer, as far as the stores read it. */
export type BulkResponse = {
  errors: boolean;
  items: Record<string, { status: number; error?: { type?: string; reason?: string } | string }>[];
};

export type BulkOutcome = {
  /** Positions (in the request) of items to send again: the engine was busy. */
  retry: number[];
  /** Items the engine refused for good, with its reason. */
  rejected: { position: number; status: number; reason: string }[];
};

/** 429 (queue full, circuit breaker) and 5xx gateway statuses pass; a bad document never does. */
export const RETRIABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

function errorReason(error: { type?: string; reason?: string } | string | undefined): string {
  if (error === undefined) return 'unknown error';
  if (typeof error === 'string') return error;
  return [error.type, error.reason].filter(Boolean).join(': ') || 'unknown error';
}

/** Sorts the items of a `_bulk` answer into stored, to retry and rejected. */
export function bulkOutcome(response: BulkResponse, sent: number): BulkOutcome {
  const out: BulkOutcome = { retry: [], rejected: [] };
  for (let i = 0; i < sent; i++) {
    const entry = response.items[i];
    const result = entry ? Object.values(entry)[0] : undefined;
    if (!result) {
      out.retry.push(i);
      continue;
    }
    if (result.status >= 200 && result.status < 300) continue;
    if (RETRIABLE_STATUSES.has(result.status)) out.retry.push(i);
    else out.rejected.push({ position: i, status: result.status, reason: errorReason(result.error) });
  }
  return out;
}

/** Exponential backoff with a cap: 1×, 2×, 4× … `baseMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** attempt);
}

/* ---------------------------------------------------------------- queries */

/** A search request body, the same on both engines. */
export type SearchBody = Record<string, unknown>;

/** Most spans one trace read returns (the engines' default `index.max_result_window`). */
export const MAX_TRACE_SPANS = 10_000;

export function traceBody(traceId: string): SearchBody {
  return {
    size: MAX_TRACE_SPANS,
    query: { bool: { filter: [{ term: { traceId } }] } },
    sort: [{ start: 'asc' }, { spanId: 'asc' }],
  };
}

/** Trace ids with a span matching every condition, newest first by their latest matching span. */
export function spanSearchBody(q: SpanQuery): SearchBody {
  const filter: Record<string, unknown>[] = [
    { range: { start: { gte: Math.max(0, Math.floor(q.start)), lte: Math.floor(q.end) } } },
  ];
  if (q.service !== undefined) filter.push({ term: { service: q.service } });
  if (q.name !== undefined) filter.push({ term: { name: q.name } });
  for (const [k, v] of Object.entries(q.tags ?? {})) filter.push({ term: { tagPairs: tagPair(k, v) } });
  if (q.minDuration !== undefined) filter.push({ range: { duration: { gte: q.minDuration } } });
  const size = Math.max(1, Math.floor(q.limit));
  return {
    size: 0,
    query: { bool: { filter } },
    aggs: {
      traces: {
        terms: {
          field: 'traceId',
          size,
          shard_size: Math.max(size * 2, 100),
          order: [{ newest: 'desc' }, { _key: 'asc' }],
        },
        aggs: { newest: { max: { field: 'start' } } },
      },
    },
  };
}

/** How many distinct services `services()` lists at most. */
export const MAX_SERVICES = 10_000;

export function servicesBody(): SearchBody {
  return {
    size: 0,
    aggs: { services: { terms: { field: 'service', size: MAX_SERVICES, order: { _key: 'asc' } } } },
  };
}

export function logSearchBody(q: LogQuery): SearchBody {
  const filter: Record<string, unknown>[] = [
    { range: { ts: { gte: Math.max(0, Math.floor(q.start)), lte: Math.floor(q.end) } } },
  ];
  if (q.source !== undefined) filter.push({ term: { source: q.source } });
  const must = q.text ? [{ match: { message: { query: q.text, operator: 'and' } } }] : [];
  return {
    size: Math.max(0, Math.floor(q.limit)),
    query: { bool: { filter, must } },
    sort: [{ ts: 'desc' }],
  };
}

/** The documented shape of a search answer, as far as the stores read it. */
export type SearchResponse<T = unknown> = {
  hits?: { hits?: { _id?: string; _source?: T }[] };
  aggregations?: Record<string, { buckets?: { key: string | number }[] }>;
};

export function hitSources<T>(response: SearchResponse<T>): T[] {
  const out: T[] = [];
  for (const h of response.hits?.hits ?? []) if (h._source !== undefined) out.push(h._source);
  return out;
}

export function bucketKeys(response: SearchResponse, agg: string): string[] {
  return (response.aggregations?.[agg]?.buckets ?? []).map((b) => String(b.key));
}
