/**
 * SpanStore and LogStore on Elasticsearch, through `@elastic/elasticsearch` 9. That client checks
 * the `X-Elastic-Product: Elasticsearch` header of every answer and refuses OpenSearch, which is
 * why OpenSearch has its own adapter; both share `elastic-dsl.ts` and `elastic-stores.ts`.
 */
import { Client } from '@elastic/elasticsearch';
import type { BulkResponse, SearchResponse } from './elastic-dsl.ts';
import {
  createElasticLogStore,
  createElasticSpanStore,
  type ElasticApi,
  type ElasticLogStore,
  type ElasticSpanStore,
  type ElasticStoreOptions,
} from './elastic-stores.ts';

export type ElasticsearchStoreOptions = ElasticStoreOptions & {
  /** Per-request timeout. Default 30 s. */
  requestTimeoutMs?: number;
  /** `Authorization: ApiKey …` for secured clusters. */
  apiKey?: string;
};

/** The ElasticApi calls on an Elasticsearch 8/9 client. */
export function elasticsearchApi(options: ElasticsearchStoreOptions): ElasticApi {
  // maxRetries 0: busy items are retried per item by the store, not whole requests by the client.
  const client = new Client({
    node: options.node,
    maxRetries: 0,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    ...(options.apiKey ? { auth: { apiKey: options.apiKey } } : {}),
  });
  return {
    async putIndexTemplate(t) {
      // The 9.x client takes the body's keys as request parameters.
      await client.indices.putIndexTemplate({ name: t.name, ...(t.body as object) });
    },
    async bulk(operations, refresh) {
      return (await client.bulk({ operations, refresh })) as unknown as BulkResponse;
    },
    async search<T>(index: string, body: Record<string, unknown>) {
      const r = await client.search({ index, ignore_unavailable: true, allow_no_indices: true, ...body });
      return r as unknown as SearchResponse<T>;
    },
    async listIndices(pattern) {
      const rows = await client.cat.indices({
        index: pattern,
        format: 'json',
        h: 'index',
        expand_wildcards: 'all',
      });
      return (rows as { index?: string }[]).map((row) => row.index ?? '').filter((n) => n !== '');
    },
    async deleteIndices(names) {
      if (names.length > 0) await client.indices.delete({ index: names });
    },
    async close() {
      await client.close();
    },
  };
}

/** A SpanStore on Elasticsearch: daily `<prefix>-spans-YYYY.MM.DD` indices, idempotent writes. */
export function createElasticsearchSpanStore(options: ElasticsearchStoreOptions): ElasticSpanStore {
  return createElasticSpanStore(elasticsearchApi(options), options);
}

/** A LogStore on Elasticsearch: daily `<prefix>-logs-YYYY.MM.DD` indices. */
export function createElasticsearchLogStore(options: ElasticsearchStoreOptions): ElasticLogStore {
  return createElasticLogStore(elasticsearchApi(options), options);
}
