/**
 * The embedded `SpanStore`: a DuckDB file (`<dataDir>/spans.duckdb`) with, in memory, an index
 * from trace id to where its rows are, a cache of the most recent traces, and the service, span
 * and remote-service names.
 *
 * Writes append raw rows; a span reported twice (a client resending, Zipkin's spans sent in
 * pieces) is two rows, merged when read (`mergeSpans`: one span per trace id, span id and kind).
 * Deduplicating on write would cost a lookup per span on the ingest path, while reads merge
 * anyway; replays of the bus write nothing twice thanks to the checkpoint stored in the same
 * transaction as the rows.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import { listValue } from '@duckdb/node-api';
import { type Clock, systemClock } from '../../core/clock.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { SpanQuery, SpanStore, WriteCheckpoint } from '../../core/ports.ts';
import type { LinkDelta, SpanBatch } from '../assembler/assembler.ts';
import type { DependencyLink } from '../assembler/links.ts';
import { mergeSpans } from '../assembler/merge.ts';
import { decodeSpans } from '../codec/spans-codec.ts';
import type { TraceSpan } from '../model.ts';
import { type SearchExpr, searchToSql } from '../query/search.ts';
import { DuckSpans, RANGE_GAP } from './duck-spans.ts';
import { RecordCache } from './record-cache.ts';
import { TraceIndex } from './trace-index.ts';

export type EmbeddedSpanStoreOptions = {
  /** Directory the store owns, e.g. `<data dir>/spans`; created if missing. */
  dataDir: string;
  clock?: Clock;
  logger?: Logger;
  /** Spans older than this (by start) are deleted. Default 7 days. */
  retentionMs?: number;
  /** How often retention runs; 0 = never (tests call `maintain`). Default 10 min. */
  maintenanceIntervalMs?: number;
  /** Spans of traces read from DuckDB kept in memory for the next read. Default 100,000. */
  cacheSpans?: number;
  /**
   * Bytes of the most recent bus records kept (off the JavaScript heap) so that recent traces are
   * read without DuckDB. Default 256 MiB: about a million spans of ~250 bytes.
   */
  recentBytes?: number;
  /** Traces the index remembers; older ones are found by a full scan. Default 5,000,000. */
  maxIndexedTraces?: number;
  /** DuckDB threads for the span file. Default 1 (see `DuckSpans.open`). */
  duckdbThreads?: number;
};

/** A search over spans in a time range; a trace matches when one of its spans matches. */
export type TraceQuery = {
  expr?: SearchExpr;
  /** Epoch µs, span start. */
  start: number;
  end: number;
  limit: number;
  /** Only spans of these services may match (the caller's projects); absent = any. */
  services?: readonly string[];
};

export type EmbeddedSpanStore = Omit<SpanStore, 'write'> & {
  /** Stores spans, and with a checkpoint (and link deltas) records them in the same transaction. */
  write(
    spans: readonly TraceSpan[],
    checkpoint?: WriteCheckpoint,
    links?: readonly LinkDelta[],
  ): Promise<void>;
  /**
   * `write` for spans that came as bus records (the JSON text `encodeSpans` wrote): DuckDB parses
   * the records while the caller is still decoding and assembling them into `batch`. Resolves
   * with the batch once all is stored.
   */
  writeRecords(
    records: readonly (string | Uint8Array)[],
    batch: Promise<SpanBatch>,
    checkpoint: WriteCheckpoint,
  ): Promise<SpanBatch>;
  /** The last checkpoint stored for `stream`, or -1. */
  checkpoint(stream: string): Promise<number>;
  /** Every span of a trace, duplicates merged. */
  getTrace(traceId: string): Promise<TraceSpan[]>;
  /** Several traces at once (missing ones are absent from the map). */
  getTraces(traceIds: readonly string[]): Promise<Map<string, TraceSpan[]>>;
  /** Trace ids with a matching span, newest first. */
  findTraces(query: TraceQuery): Promise<string[]>;
  /** Span names of a service, sorted. */
  spanNames(service: string): Promise<string[]>;
  /** Remote service names that spans of a service name, sorted. */
  remoteServices(service: string): Promise<string[]>;
  /** Dependency links over link buckets in [startMs, endMs]. */
  links(startMs: number, endMs: number): Promise<DependencyLink[]>;
  /** Deletes what is past retention now. */
  maintain(): Promise<void>;
  diskBytes(): Promise<number>;
  /** What the caches hold: traces and bytes of recent records, spans read from DuckDB. */
  cacheStats(): { recentTraces: number; recentBytes: number; cachedSpans: number };
};

type Names = { names: Set<string>; remotes: Set<string> };

export async function createEmbeddedSpanStore(options: EmbeddedSpanStoreOptions): Promise<EmbeddedSpanStore> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const retentionMs = options.retentionMs ?? 7 * 86_400_000;
  const cacheSpans = options.cacheSpans ?? 100_000;
  await mkdir(options.dataDir, { recursive: true });
  const duck = await DuckSpans.open(join(options.dataDir, 'spans.duckdb'), options.duckdbThreads ?? 1);
  const index = new TraceIndex(options.maxIndexedTraces ?? 5_000_000, RANGE_GAP);
  for (const ref of await duck.traceRefs()) {
    index.add(ref.traceId, ref.min, ref.lastStart);
    index.add(ref.traceId, ref.max, ref.lastStart);
  }
  const byService = new Map<string, Names>();
  const names = (service: string): Names => {
    let n = byService.get(service);
    if (!n) {
      n = { names: new Set(), remotes: new Set() };
      byService.set(service, n);
    }
    return n;
  };
  for (const [service, name, remote] of await duck.names()) {
    names(service).names.add(name);
    if (remote !== null) names(service).remotes.add(remote);
  }
  /** Traces read from DuckDB, least recently used first. */
  const cache = new Map<string, TraceSpan[]>();
  /** The most recent records written, by trace. */
  const recent = new RecordCache(options.recentBytes ?? 256 * 1024 * 1024);
  let cached = 0;
  /** Bumped by every write, so a read that raced a write does not cache a stale trace. */
  let generation = 0;

  function cachePut(traceId: string, spans: TraceSpan[]): void {
    const had = cache.get(traceId);
    if (had) cached -= had.length;
    cache.delete(traceId);
    if (spans.length > cacheSpans / 10) return;
    cache.set(traceId, spans);
    cached += spans.length;
    while (cached > cacheSpans) {
      const [id, old] = cache.entries().next().value as [string, TraceSpan[]];
      cache.delete(id);
      cached -= old.length;
    }
  }

  /**
   * Updates the index, the names and the caches after a commit. With the batch's bus records, its
   * new traces are cached as those records; without, as the span objects. Spans that are only
   * summaries (no tags) are not added to a trace cached as objects: the trace leaves that cache.
   */
  function afterWrite(
    spans: readonly TraceSpan[],
    first: number,
    records?: readonly Uint8Array[],
    summaries = false,
  ): void {
    generation++;
    const asRecords =
      records !== undefined &&
      recent.add(records, spans, (id) => index.complete && !index.has(id) && !cache.has(id));
    const fresh = new Map<string, TraceSpan[]>();
    // Spans of one trace mostly come one after another: look a trace (and a service) up once per run.
    let runId: string | undefined;
    let runFrom = 0;
    let runLast = 0;
    let runList: TraceSpan[] | undefined;
    let runCached = false;
    let service: string | undefined;
    let n: Names | undefined;
    const endRun = (to: number) => {
      if (runId === undefined) return;
      index.add(runId, first + runFrom, runLast);
      if (to - 1 > runFrom) index.add(runId, first + to - 1, runLast);
    };
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!;
      if (s.traceId !== runId) {
        endRun(i);
        runId = s.traceId;
        runFrom = i;
        runLast = s.start;
        const hit = cache.get(runId);
        runCached = hit !== undefined;
        runList = hit ?? fresh.get(runId);
        if (!runList && !asRecords && !summaries && index.complete && !index.has(runId)) {
          runList = [];
          fresh.set(runId, runList);
        }
      } else if (s.start > runLast) runLast = s.start;
      if (runList && summaries && runCached) {
        cached -= runList.length;
        cache.delete(s.traceId);
        runList = undefined;
        runCached = false;
      }
      if (runList) {
        runList.push(s);
        if (runCached) cached++;
      }
      if (s.service !== service) {
        service = s.service;
        n = names(service);
      }
      n!.names.add(s.name);
      if (s.remoteService !== undefined) n!.remotes.add(s.remoteService);
    }
    endRun(spans.length);
    for (const [id, list] of fresh) cachePut(id, list);
  }

  async function getTrace(traceId: string): Promise<TraceSpan[]> {
    const hit = cache.get(traceId);
    if (hit) {
      cache.delete(traceId);
      cache.set(traceId, hit);
      return mergeSpans(hit);
    }
    const written = recent.get(traceId, decodeSpans);
    if (written) return mergeSpans(written);
    const ranges = index.ranges(traceId);
    if (!ranges && index.complete) return [];
    const gen = generation;
    const rows = await duck.trace(traceId, ranges);
    if (rows.length > 0 && gen === generation) cachePut(traceId, rows);
    return mergeSpans(rows);
  }

  async function maintain(): Promise<void> {
    const now = clock.now();
    const beforeUs = (now - retentionMs) * 1000;
    await duck.deleteBefore(beforeUs, now - retentionMs);
    for (const id of index.prune(beforeUs)) {
      recent.delete(id);
      const had = cache.get(id);
      if (had) {
        cached -= had.length;
        cache.delete(id);
      }
    }
  }

  const stopMaintenance =
    options.maintenanceIntervalMs === 0
      ? undefined
      : clock.setInterval(() => {
          maintain().catch((e) => logger.error('span store maintenance failed', { err: e }));
        }, options.maintenanceIntervalMs ?? 600_000);

  async function findTraces(q: TraceQuery): Promise<string[]> {
    let where = 'start BETWEEN ? AND ?';
    const params: DuckDBValue[] = [BigInt(Math.max(0, Math.floor(q.start))), BigInt(Math.floor(q.end))];
    if (q.services) {
      if (q.services.length === 0) return [];
      where += ' AND service IN (SELECT unnest(?))';
      params.push(listValue([...q.services]));
    }
    if (q.expr) {
      const { sql, params: p } = searchToSql(q.expr);
      where += ` AND ${sql}`;
      params.push(...p);
    }
    return duck.findTraceIds(where, params, q.limit);
  }

  return {
    async write(spans, checkpoint, links) {
      if (spans.length === 0 && !checkpoint && (!links || links.length === 0)) return;
      const first = await duck.write(links ? { spans, links } : { spans }, checkpoint);
      afterWrite(spans, first);
    },
    async writeRecords(records, batch, checkpoint) {
      const first = await duck.write(batch, checkpoint, records);
      const done = await batch;
      afterWrite(
        done.spans,
        first,
        records.map((r) => (typeof r === 'string' ? Buffer.from(r) : r)),
        done.summaries,
      );
      return done;
    },
    checkpoint: (stream) => duck.checkpoint(stream),
    getTrace,
    async getTraces(traceIds) {
      const out = new Map<string, TraceSpan[]>();
      const misses: string[] = [];
      for (const id of traceIds) {
        if (cache.has(id) || recent.has(id) || index.has(id)) {
          const spans = await getTrace(id);
          if (spans.length > 0) out.set(id, spans);
        } else if (!index.complete) misses.push(id);
      }
      const groups = new Map<string, TraceSpan[]>();
      for (const s of await duck.traces(misses)) {
        const list = groups.get(s.traceId);
        if (list) list.push(s);
        else groups.set(s.traceId, [s]);
      }
      for (const [id, list] of groups) out.set(id, mergeSpans(list));
      return out;
    },
    async search(query: SpanQuery) {
      const items: SearchExpr[] = [];
      if (query.service !== undefined)
        items.push({ op: 'match', field: 'service', negate: false, value: query.service });
      if (query.name !== undefined)
        items.push({ op: 'match', field: 'name', negate: false, value: query.name });
      for (const [k, v] of Object.entries(query.tags ?? {}))
        items.push({ op: 'match', field: { tag: k }, negate: false, value: v });
      if (query.minDuration !== undefined) items.push({ op: 'duration', cmp: '>=', us: query.minDuration });
      return findTraces({
        start: query.start,
        end: query.end,
        limit: query.limit,
        ...(items.length > 0 ? { expr: { op: 'and', items } } : {}),
      });
    },
    findTraces,
    async services() {
      return [...byService.keys()].sort();
    },
    async spanNames(service) {
      return [...(byService.get(service)?.names ?? [])].filter((n) => n !== '').sort();
    },
    async remoteServices(service) {
      return [...(byService.get(service)?.remotes ?? [])].sort();
    },
    async links(startMs, endMs) {
      return (await duck.links(startMs, endMs))
        .filter((l) => l.calls > 0)
        .map((l) => ({ parent: l.parent, child: l.child, callCount: l.calls, errorCount: l.errors }))
        .sort((a, b) =>
          a.parent === b.parent ? (a.child < b.child ? -1 : 1) : a.parent < b.parent ? -1 : 1,
        );
    },
    maintain,
    diskBytes: () => duck.diskBytes(),
    cacheStats: () => ({ recentTraces: recent.size, recentBytes: recent.bytes, cachedSpans: cached }),
    async close() {
      stopMaintenance?.();
      await duck.close();
    },
  };
}
