/**
 * The log store the hub opens when `tracing.store` is `opensearch` or `elasticsearch`: the
 * engine's `LogStore` (`tracing/store/elastic/`), whose bulk requests get a document id per
 * record from its bus position (`LOG_ID`). The engine keeps no checkpoint, so the ingest writes
 * a redelivered batch again, and those ids make the second write replace the first.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { createElasticLogStore, type ElasticApi } from '../../tracing/store/elastic/elastic-stores.ts';
import {
  type ExternalSpanStoreOptions,
  openExternalEngine,
} from '../../tracing/store/external-trace-store.ts';
import type { CheckpointedLogStore } from './embedded-log-store.ts';
import { LOG_ID } from './log-ingest.ts';
import { recordProject } from './log-text.ts';

/** Hits fetched per wanted one when filtering by project after the engine's search. */
const OVERFETCH = 5;

/** Same engine options as the span store's (`tracing.elastic`); `onRejected` sees log records. */
export type ExternalLogStoreOptions = ExternalSpanStoreOptions & { clock: Clock; logger: Logger };

export type ExternalLogStore = CheckpointedLogStore & {
  /** Deletes the daily log indices past `retentionDays`; returns their names. */
  enforceRetention(): Promise<string[]>;
};

/** Sets `_id` on each `index` action whose document carries a `LOG_ID`. */
export function withLogIds(operations: Record<string, unknown>[]): Record<string, unknown>[] {
  const out = operations.slice();
  for (let i = 0; i + 1 < out.length; i += 2) {
    const action = out[i] as { index?: Record<string, unknown> };
    const id = (out[i + 1] as { [LOG_ID]?: string })[LOG_ID];
    if (id !== undefined && action.index && action.index['_id'] === undefined)
      out[i] = { ...action, index: { ...action.index, _id: id } };
  }
  return out;
}

/** Opens the log store on the configured engine (no request is made before the first use). */
export function createExternalLogStore(options: ExternalLogStoreOptions): ExternalLogStore {
  const { api, storeOptions } = openExternalEngine(options);
  const identified: ElasticApi = { ...api, bulk: (ops, refresh) => api.bulk(withLogIds(ops), refresh) };
  const store = createElasticLogStore(identified, storeOptions);
  return {
    write: (records) => store.write(records),
    checkpoint: async () => -1,
    async search(query) {
      const { projects, ...plain } = query;
      if (!projects) return store.search(plain);
      if (projects.length === 0 || plain.limit <= 0) return [];
      // The engine's documents have no project field to filter on: over-fetch and filter here.
      const wanted = new Set(projects);
      const hits = await store.search({ ...plain, limit: Math.min(10_000, plain.limit * OVERFETCH) });
      return hits.filter((r) => wanted.has(recordProject(r) ?? '')).slice(0, plain.limit);
    },
    enforceRetention: () => store.enforceRetention(),
    close: () => store.close(),
  };
}
