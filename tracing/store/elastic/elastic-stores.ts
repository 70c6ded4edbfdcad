/**
 * The span and log stores over any engine that speaks the Elasticsearch REST API. The two
 * adapters (`opensearch-store.ts`, `elasticsearch-store.ts`) only wrap their client into an
 * `ElasticApi`; bulk retries, dead letters, templates and retention live here once.
 */
import type { Clock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { LogRecord, Span } from '../../../core/model.ts';
import type { LogQuery, LogStore, SpanQuery, SpanStore } from '../../../core/ports.ts';
import type { TraceSpan } from '../../model.ts';
import {
  type BulkItem,
  type BulkResponse,
  backoffMs,
  bucketKeys,
  bulkBody,
  bulkOutcome,
  docToLog,
  docToSpan,
  expiredIndices,
  hitSources,
  type IndexKind,
  type IndexTemplate,
  indexPattern,
  type LogDoc,
  logBulkItems,
  logSearchBody,
  logTemplate,
  type SearchBody,
  type SearchResponse,
  type SpanDoc,
  searchIndices,
  servicesBody,
  spanBulkItems,
  spanSearchBody,
  spanTemplate,
  traceBody,
} from './elastic-dsl.ts';

export type Refresh = boolean | 'wait_for';

/** The few calls the stores make, each adapter maps them onto its client. */
export type ElasticApi = {
  putIndexTemplate(template: IndexTemplate): Promise<void>;
  bulk(operations: Record<string, unknown>[], refresh: Refresh): Promise<BulkResponse>;
  search<T>(index: string, body: SearchBody): Promise<SearchResponse<T>>;
  /** Names of the indices matching a wildcard pattern (none is not an error). */
  listIndices(pattern: string): Promise<string[]>;
  deleteIndices(names: string[]): Promise<void>;
  close(): Promise<void>;
};

/** A document the engine refused for good (a mapping conflict, a bad value). */
export type RejectedItem = { kind: 'span'; item: Span } | { kind: 'log'; item: LogRecord };

export type ElasticStoreOptions = {
  /** Base URL of the engine, `http://127.0.0.1:9200`. */
  node: string;
  /** Index names are `<prefix>-spans-YYYY.MM.DD` and `<prefix>-logs-YYYY.MM.DD`. Default `obs`. */
  indexPrefix?: string;
  /** Daily indices older than this are deleted by `enforceRetention()` (and hourly). Unset: kept. */
  retentionDays?: number;
  /** Passed to `_bulk`: `wait_for` makes writes visible to the next search. Default false. */
  refresh?: Refresh;
  logger: Logger;
  clock: Clock;
  /** Called once per document the engine refused for good; the rest of the batch is stored. */
  onRejected?: (item: RejectedItem, reason: string) => void;
  /** Index settings of the templates; unset keeps the engine's defaults. */
  shards?: number;
  replicas?: number;
  /** Documents per `_bulk` request. Default 1000. */
  maxBulkDocs?: number;
  /** Retries of an item the engine answered 429/502/503/504 for. Default 5. */
  maxRetries?: number;
  /** First backoff between retries, doubled each time up to 10 s. Default 200 ms. */
  retryBaseMs?: number;
};

/** A span store on Elasticsearch or OpenSearch. */
export type ElasticSpanStore = SpanStore & {
  /** Deletes the daily span indices past `retentionDays`; returns their names. */
  enforceRetention(): Promise<string[]>;
};

export type ElasticLogStore = LogStore & {
  /** Deletes the daily log indices past `retentionDays`; returns their names. */
  enforceRetention(): Promise<string[]>;
};

const HOUR_MS = 3_600_000;

/** Maps a client error (either client) to a HubError; busy and unreachable engines can retry. */
export function toHubError(err: unknown, what: string): HubError {
  if (err instanceof HubError) return err;
  const e = err as { statusCode?: number; meta?: { statusCode?: number }; name?: string; message?: string };
  const status = e?.statusCode ?? e?.meta?.statusCode;
  const message = `${what}: ${e?.message ?? String(err)}`;
  if (status === undefined || status === 0 || status === 429 || status >= 502)
    return new HubError(status === 504 ? 'TIMEOUT' : 'UNAVAILABLE', message, { cause: err, canRetry: true });
  return new HubError('UPSTREAM_FAILED', message, { cause: err });
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

type Shared = {
  api: ElasticApi;
  prefix: string;
  options: ElasticStoreOptions;
  log: Logger;
  /** Puts the index template once (again after a failure); every call waits for it. */
  ready(): Promise<void>;
  enforceRetention(): Promise<string[]>;
  stopTimer: () => void;
};

function shared(
  api: ElasticApi,
  options: ElasticStoreOptions,
  kind: IndexKind,
  template: IndexTemplate,
): Shared {
  const prefix = options.indexPrefix ?? 'obs';
  const log = options.logger.child({ component: `elastic-${kind}`, node: options.node, prefix });
  let putting: Promise<void> | undefined;
  const ready = () => {
    putting ??= api.putIndexTemplate(template).catch((err: unknown) => {
      putting = undefined;
      throw toHubError(err, `putting index template ${template.name} on ${options.node}`);
    });
    return putting;
  };
  // Put the template at start; a failure here is logged and tried again by the first call.
  ready().catch((err: unknown) => log.warn('index template not in place yet', { error: err }));
  const enforceRetention = async () => {
    if (options.retentionDays === undefined) return [];
    const names = await api.listIndices(indexPattern(prefix, kind));
    const old = expiredIndices(prefix, names, options.retentionDays, options.clock.now());
    if (old.length > 0) {
      await api.deleteIndices(old);
      log.info('deleted daily indices past retention', {
        indices: old,
        retentionDays: options.retentionDays,
      });
    }
    return old;
  };
  const stopTimer =
    options.retentionDays === undefined
      ? () => {}
      : options.clock.setInterval(() => {
          enforceRetention().catch((err: unknown) => log.warn('retention failed', { error: err }));
        }, HOUR_MS);
  return { api, prefix, options, log, ready, enforceRetention, stopTimer };
}

/**
 * Sends items in bulk requests: items the engine was too busy for go again after a backoff,
 * items it refused for good go to `reject`; the good items of a batch are always kept.
 * Throws a retryable HubError only when busy items are still left after every retry.
 */
async function writeBulk<T>(s: Shared, items: BulkItem<T>[], reject: (item: T, reason: string) => void) {
  const { options } = s;
  const chunk = options.maxBulkDocs ?? 1000;
  const maxRetries = options.maxRetries ?? 5;
  const base = options.retryBaseMs ?? 200;
  for (let from = 0; from < items.length; from += chunk) {
    let pending = items.slice(from, from + chunk);
    for (let attempt = 0; pending.length > 0; attempt++) {
      let response: BulkResponse;
      try {
        response = await s.api.bulk(bulkBody(pending), options.refresh ?? false);
      } catch (err) {
        throw toHubError(err, `bulk write of ${pending.length} documents to ${options.node}`);
      }
      const outcome = bulkOutcome(response, pending.length);
      for (const r of outcome.rejected) {
        const reason = `${r.status} ${r.reason}`;
        s.log.warn('document rejected', { index: pending[r.position]!.index, reason });
        reject(pending[r.position]!.item, reason);
      }
      pending = outcome.retry.map((i) => pending[i]!);
      if (pending.length === 0) break;
      if (attempt >= maxRetries)
        throw new HubError(
          'UNAVAILABLE',
          `${options.node} stayed busy: ${pending.length} documents not stored after ${maxRetries} retries`,
          { canRetry: true },
        );
      await sleep(options.clock, backoffMs(attempt, base, 10_000));
    }
  }
}

async function run<T>(what: string, s: Shared, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toHubError(err, `${what} on ${s.options.node}`);
  }
}

/** A SpanStore over an ElasticApi; ensures the span template first. */
export function createElasticSpanStore(api: ElasticApi, options: ElasticStoreOptions): ElasticSpanStore {
  const s = shared(
    api,
    options,
    'spans',
    spanTemplate(options.indexPrefix ?? 'obs', { shards: options.shards, replicas: options.replicas }),
  );
  const pattern = indexPattern(s.prefix, 'spans');
  const reject = (item: Span, reason: string) => options.onRejected?.({ kind: 'span', item }, reason);
  return {
    async write(spans: Span[]) {
      await s.ready();
      await writeBulk(s, spanBulkItems(s.prefix, spans as TraceSpan[]), reject);
    },
    async getTrace(traceId: string) {
      await s.ready();
      const r = await run('reading a trace', s, () => api.search<SpanDoc>(pattern, traceBody(traceId)));
      return hitSources(r).map(docToSpan);
    },
    async search(query: SpanQuery) {
      await s.ready();
      if (query.limit <= 0) return [];
      const index = searchIndices(s.prefix, 'spans', query.start / 1000, query.end / 1000);
      const r = await run('searching spans', s, () => api.search(index, spanSearchBody(query)));
      return bucketKeys(r, 'traces');
    },
    async services() {
      await s.ready();
      return bucketKeys(
        await run('listing services', s, () => api.search(pattern, servicesBody())),
        'services',
      );
    },
    enforceRetention: () => run('enforcing retention', s, s.enforceRetention),
    async close() {
      s.stopTimer();
      await s.ready().catch(() => undefined);
      await api.close();
    },
  };
}

/** A LogStore over an ElasticApi; ensures the log template first. */
export function createElasticLogStore(api: ElasticApi, options: ElasticStoreOptions): ElasticLogStore {
  const s = shared(
    api,
    options,
    'logs',
    logTemplate(options.indexPrefix ?? 'obs', { shards: options.shards, replicas: options.replicas }),
  );
  const reject = (item: LogRecord, reason: string) => options.onRejected?.({ kind: 'log', item }, reason);
  return {
    async write(records: LogRecord[]) {
      await s.ready();
      await writeBulk(s, logBulkItems(s.prefix, records), reject);
    },
    async search(query: LogQuery) {
      await s.ready();
      if (query.limit <= 0) return [];
      const index = searchIndices(s.prefix, 'logs', query.start, query.end);
      const r = await run('searching logs', s, () => api.search<LogDoc>(index, logSearchBody(query)));
      return hitSources(r).map(docToLog);
    },
    enforceRetention: () => run('enforcing retention', s, s.enforceRetention),
    async close() {
      s.stopTimer();
      await s.ready().catch(() => undefined);
      await api.close();
    },
  };
}
