/**
 * The hub's trace store on Elasticsearch or OpenSearch: what the tracing ingest writes through
 * (`CheckpointedSpanStore`) and what the Zipkin and search routes read (`TraceReadStore`), over
 * the span store of `elastic-stores.ts` and the same `ElasticApi`.
 *
 * There is no checkpoint in the engine: `checkpoint()` answers -1, so the ingest writes every
 * record the Bus delivers again. Nothing doubles: span documents have ids of their own (a rewrite
 * replaces), and link-delta documents are keyed by the batch's checkpoint (see `linkBulkItems`).
 */
import { HubError } from '../../../core/errors.ts';
import type { WriteCheckpoint } from '../../../core/ports.ts';
import type { TraceReadStore } from '../../api/zipkin-routes.ts';
import type { LinkDelta } from '../../assembler/assembler.ts';
import type { DependencyLink } from '../../assembler/links.ts';
import { mergeSpans } from '../../assembler/merge.ts';
import type { TraceSpan } from '../../model.ts';
import type { CheckpointedSpanStore } from '../../tracing-ingest.ts';
import type { TraceQuery } from '../embedded-span-store.ts';
import {
  bucketKeys,
  bulkBody,
  bulkOutcome,
  docToSpan,
  expiredIndices,
  hitSources,
  indexPattern,
  MAX_TRACE_SPANS,
  type SpanDoc,
  searchIndices,
} from './elastic-dsl.ts';
import {
  createElasticSpanStore,
  type ElasticApi,
  type ElasticSpanStore,
  type ElasticStoreOptions,
  toHubError,
} from './elastic-stores.ts';
import {
  findTracesBody,
  type LinksResponse,
  linkBulkItems,
  linksBody,
  linksPage,
  linkTemplate,
  serviceTermsBody,
  sortLinks,
  tracesBody,
} from './trace-dsl.ts';

/** Everything the tracing pipeline needs of a span store, on Elasticsearch or OpenSearch. */
export type ElasticTraceStore = TraceReadStore &
  CheckpointedSpanStore & {
    /** The plain span store underneath (port `SpanStore`). */
    spans: ElasticSpanStore;
    /** Deletes the daily span and link indices past `retentionDays`; returns their names. */
    enforceRetention(): Promise<string[]>;
    close(): Promise<void>;
  };

const HOUR_MS = 3_600_000;
/** Traces read one request each when a combined read may have been cut short. */
const TRACE_READ_CONCURRENCY = 8;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A trace store over an ElasticApi; puts the span and link index templates first. */
export function createElasticTraceStore(api: ElasticApi, options: ElasticStoreOptions): ElasticTraceStore {
  const prefix = options.indexPrefix ?? 'obs';
  const log = options.logger.child({ component: 'elastic-links', node: options.node, prefix });
  const spans = createElasticSpanStore(api, options);
  const spanPattern = indexPattern(prefix, 'spans');
  const template = linkTemplate(prefix, { shards: options.shards, replicas: options.replicas });
  let putting: Promise<void> | undefined;
  const linksReady = () => {
    putting ??= api.putIndexTemplate(template).catch((err: unknown) => {
      putting = undefined;
      throw toHubError(err, `putting index template ${template.name} on ${options.node}`);
    });
    return putting;
  };
  linksReady().catch((err: unknown) => log.warn('links index template not in place yet', { error: err }));

  async function search<T>(what: string, index: string, body: Record<string, unknown>) {
    try {
      return await api.search<T>(index, body);
    } catch (err) {
      throw toHubError(err, `${what} on ${options.node}`);
    }
  }

  async function getTrace(traceId: string): Promise<TraceSpan[]> {
    return mergeSpans(await spans.getTrace(traceId));
  }

  async function writeLinks(deltas: readonly LinkDelta[], checkpoint?: WriteCheckpoint): Promise<void> {
    await linksReady();
    const items = linkBulkItems(prefix, deltas, checkpoint);
    for (let from = 0; from < items.length; from += 1000) {
      const part = items.slice(from, from + 1000);
      let outcome: ReturnType<typeof bulkOutcome>;
      try {
        outcome = bulkOutcome(await api.bulk(bulkBody(part), options.refresh ?? false), part.length);
      } catch (err) {
        throw toHubError(err, `writing ${part.length} dependency links to ${options.node}`);
      }
      // A refused link document is a bug of ours, not something a retry mends: log it and go on.
      for (const r of outcome.rejected)
        log.warn('dependency link rejected', { index: part[r.position]!.index, reason: r.reason });
      // Busy: the ingest redelivers the batch, whose documents keep their ids.
      if (outcome.retry.length > 0)
        throw new HubError(
          'UNAVAILABLE',
          `${options.node} was busy: ${outcome.retry.length} dependency links not stored`,
          { canRetry: true },
        );
    }
  }

  async function links(startMs: number, endMs: number): Promise<DependencyLink[]> {
    await linksReady();
    const index = searchIndices(prefix, 'links', startMs, endMs);
    const out: DependencyLink[] = [];
    let after: Record<string, unknown> | undefined;
    do {
      const r = await search<never>('reading dependency links', index, linksBody(startMs, endMs, after));
      const page = linksPage(r as LinksResponse);
      out.push(...page.links);
      after = page.after;
    } while (after);
    return sortLinks(out);
  }

  async function getTraces(traceIds: readonly string[]): Promise<Map<string, TraceSpan[]>> {
    const out = new Map<string, TraceSpan[]>();
    if (traceIds.length === 0) return out;
    const r = await search<SpanDoc>('reading traces', spanPattern, tracesBody(traceIds));
    const docs = hitSources(r);
    if (docs.length >= MAX_TRACE_SPANS) {
      // Cut short: read each trace on its own (each up to MAX_TRACE_SPANS spans).
      const traces = await mapLimit(traceIds, TRACE_READ_CONCURRENCY, getTrace);
      traceIds.forEach((id, i) => {
        if (traces[i]!.length > 0) out.set(id, traces[i]!);
      });
      return out;
    }
    const groups = new Map<string, TraceSpan[]>();
    for (const d of docs) {
      const list = groups.get(d.traceId);
      if (list) list.push(docToSpan(d));
      else groups.set(d.traceId, [docToSpan(d)]);
    }
    for (const [id, list] of groups) out.set(id, mergeSpans(list));
    return out;
  }

  async function findTraces(q: TraceQuery): Promise<string[]> {
    if (q.limit <= 0 || q.services?.length === 0) return [];
    const body = findTracesBody(q);
    const index = searchIndices(prefix, 'spans', q.start / 1000, q.end / 1000);
    return bucketKeys(await search('searching traces', index, body), 'traces');
  }

  const names = async (service: string, field: 'name' | 'remoteService') => {
    const r = await search('listing names', spanPattern, serviceTermsBody(service, field));
    return bucketKeys(r, 'values').filter((n) => n !== '');
  };

  async function enforceLinkRetention(): Promise<string[]> {
    if (options.retentionDays === undefined) return [];
    const all = await api.listIndices(indexPattern(prefix, 'links'));
    const old = expiredIndices(prefix, all, options.retentionDays, options.clock.now());
    if (old.length > 0) await api.deleteIndices(old);
    return old;
  }
  const stopTimer =
    options.retentionDays === undefined
      ? () => {}
      : options.clock.setInterval(() => {
          enforceLinkRetention().catch((err: unknown) => log.warn('link retention failed', { error: err }));
        }, HOUR_MS);

  return {
    spans,
    async write(batch, checkpoint, deltas) {
      if (batch.length > 0) await spans.write(batch as TraceSpan[]);
      if (deltas && deltas.length > 0) await writeLinks(deltas, checkpoint);
    },
    checkpoint: async () => -1,
    getTrace,
    getTraces,
    findTraces,
    services: () => spans.services(),
    spanNames: (service) => names(service, 'name'),
    remoteServices: (service) => names(service, 'remoteService'),
    links,
    async enforceRetention() {
      const gone = await spans.enforceRetention();
      try {
        return [...gone, ...(await enforceLinkRetention())];
      } catch (err) {
        throw toHubError(err, `enforcing link retention on ${options.node}`);
      }
    },
    async close() {
      stopTimer();
      await linksReady().catch(() => undefined);
      await spans.close();
    },
  };
}
