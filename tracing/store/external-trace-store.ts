/**
 * The trace store the hub opens when `tracing.store` is `opensearch` or `elasticsearch`: the
 * client of that engine wrapped into an `ElasticApi`, and the trace store over it.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { ElasticApi, ElasticStoreOptions, Refresh, RejectedItem } from './elastic/elastic-stores.ts';
import { createElasticTraceStore, type ElasticTraceStore } from './elastic/elastic-trace-store.ts';
import { elasticsearchApi } from './elastic/elasticsearch-store.ts';
import { openSearchApi } from './elastic/opensearch-store.ts';

/** Which engine and where; the fields of `tracing.elastic` in the hub's config. */
export type ExternalSpanStoreOptions = {
  kind: 'opensearch' | 'elasticsearch';
  /** Base URL, `http://127.0.0.1:9200`. */
  url: string;
  /** Daily indices `<prefix>-spans-*` and `<prefix>-links-*`. Default `obs`. */
  indexPrefix?: string;
  /** Daily indices older than this are deleted (hourly). Unset: kept. */
  retentionDays?: number;
  /**
   * `wait_for` makes a write visible to the next search (each ingest batch then waits for the
   * engine's refresh, ~1 s). Default false: spans show up within the refresh interval.
   */
  refresh?: Refresh;
  /** Replicas of the daily indices; unset keeps the engine's default (1; 0 suits one node). */
  replicas?: number;
  shards?: number;
  /** Called once per span the engine refused for good (a mapping conflict). */
  onRejected?: (item: RejectedItem, reason: string) => void;
};

export type { ElasticTraceStore };

/** The configured engine's client as an `ElasticApi`, and the store options for it (spans and logs share this). */
export function openExternalEngine(options: ExternalSpanStoreOptions & { clock: Clock; logger: Logger }): {
  api: ElasticApi;
  storeOptions: ElasticStoreOptions;
} {
  const storeOptions: ElasticStoreOptions = {
    node: options.url,
    clock: options.clock,
    logger: options.logger,
    ...(options.indexPrefix !== undefined ? { indexPrefix: options.indexPrefix } : {}),
    ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
    ...(options.refresh !== undefined ? { refresh: options.refresh } : {}),
    ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
    ...(options.shards !== undefined ? { shards: options.shards } : {}),
    ...(options.onRejected ? { onRejected: options.onRejected } : {}),
  };
  const api = options.kind === 'opensearch' ? openSearchApi(storeOptions) : elasticsearchApi(storeOptions);
  return { api, storeOptions };
}

/** Opens the trace store on the configured engine (no request is made before the first use). */
export function createExternalTraceStore(
  options: ExternalSpanStoreOptions & { clock: Clock; logger: Logger },
): ElasticTraceStore {
  const { api, storeOptions } = openExternalEngine(options);
  return createElasticTraceStore(api, storeOptions);
}
