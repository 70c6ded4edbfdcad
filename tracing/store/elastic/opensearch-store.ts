/**
 * SpanStore and LogStore on OpenSearch, through `@opensearch-project/opensearch`. The request
 * bodies come from `elastic-dsl.ts`; the client's generated body types are stricter than the
 * plain objects built there, hence the casts at the call sites.
 */
import { Client } from '@opensearch-project/opensearch';
import type { BulkResponse, SearchResponse } from './elastic-dsl.ts';
import {
  createElasticLogStore,
  createElasticSpanStore,
  type ElasticApi,
  type ElasticLogStore,
  type ElasticSpanStore,
  type ElasticStoreOptions,
} from './elastic-stores.ts';

export type OpenSearchStoreOptions = ElasticStoreOptions & {
  /** Per-request timeout. Default 30 s. */
  requestTimeoutMs?: number;
};

/** The ElasticApi calls on an OpenSearch client (2.x and 3.x servers). */
export function openSearchApi(options: OpenSearchStoreOptions): ElasticApi {
  // maxRetries 0: busy items are retried per item by the store, not whole requests by the client.
  const client = new Client({
    node: options.node,
    maxRetries: 0,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
  });
  return {
    async putIndexTemplate(t) {
      await client.indices.putIndexTemplate({ name: t.name, body: t.body as never });
    },
    async bulk(operations, refresh) {
      const r = await client.bulk({ body: operations, refresh: refresh as never });
      return r.body as unknown as BulkResponse;
    },
    async search<T>(index: string, body: Record<string, unknown>) {
      const r = await client.search({
        index,
        body: body as never,
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      return r.body as unknown as SearchResponse<T>;
    },
    async listIndices(pattern) {
      const r = await client.cat.indices({
        index: pattern,
        format: 'json',
        h: ['index'],
        expand_wildcards: 'all',
      });
      return (r.body as { index?: string }[]).map((row) => row.index ?? '').filter((n) => n !== '');
    },
    async deleteIndices(names) {
      if (names.length > 0) await client.indices.delete({ index: names.join(',') });
    },
    async close() {
      await client.close();
    },
  };
}

/** A SpanStore on OpenSearch: daily `<prefix>-spans-YYYY.MM.DD` indices, idempotent writes. */
export function createOpenSearchSpanStore(options: OpenSearchStoreOptions): ElasticSpanStore {
  return createElasticSpanStore(openSearchApi(options), options);
}

/** A LogStore on OpenSearch: daily `<prefix>-logs-YYYY.MM.DD` indices. */
export function createOpenSearchLogStore(options: OpenSearchStoreOptions): ElasticLogStore {
  return createElasticLogStore(openSearchApi(options), options);
}
