/**
 * The embedded metric store on a thread of its own. The main thread of the hub takes requests,
 * decodes points and appends them to the bus; storing them (the series index, the open chunks,
 * the chunk codec, the in-memory window, DuckDB) was about 30 % of its time under telnet load,
 * on the same thread. Here the store runs on a worker thread (`store-worker.ts`) and this is the
 * `MetricStore` the hub sees: each call is a message to the thread and its answer.
 *
 * A write's points move as three typed arrays (a series number, a time and a value a point); the
 * thread learns each series' names once, the first time a write names it. `durableUpTo` and
 * `stats` answer at once from what the thread last said. If the thread stops, every call waiting
 * and every later one fails with an `UNAVAILABLE` HubError, and it is logged.
 */
import { Worker } from 'node:worker_threads';
import { HubError, type HubErrorCode } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import { type MaybeMemo, type MetricPoint, type PointColumns, seriesKey } from '../../../core/model.ts';
import type { WriteCheckpoint } from '../../../core/ports.ts';
import type { LookupResult } from '../../../core/query.ts';
import { columnsOf } from '../../codec/point-columns.ts';
import type { EmbeddedMetricStore } from './embedded-metric-store.ts';
import {
  type PackedResults,
  type SeriesDefinition,
  type StoreMessage,
  type StoreRequest,
  type StoreStats,
  type StoreThreadInit,
  type ThreadError,
  unpackResults,
} from './store-thread-protocol.ts';

export type ThreadedMetricStoreOptions = StoreThreadInit & { logger: Logger };

type Pending = { resolve(value: unknown): void; reject(e: unknown): void };
/** A request without its id (a distributive Omit, so each op keeps its own fields). */
type Request = StoreRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Opens the store on its thread; rejects as the store's own opening would (a bad file, say). */
export async function createThreadedMetricStore(
  options: ThreadedMetricStoreOptions,
): Promise<EmbeddedMetricStore> {
  const { logger, ...init } = options;
  const worker = new Worker(new URL('./store-worker.mjs', import.meta.url), { workerData: init });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let stats: StoreStats = { series: 0, hotPoints: 0, openPoints: 0 };
  const durable = new Map<string, number>();
  /** Why the thread can no longer answer, once it cannot. */
  let stopped: HubError | undefined;
  let opened: Pending | undefined;
  const ready = new Promise<unknown>((resolve, reject) => {
    opened = { resolve, reject };
  });

  function stop(why: HubError): void {
    if (stopped) return;
    stopped = why;
    opened?.reject(why);
    for (const p of pending.values()) p.reject(why);
    pending.clear();
  }

  worker.on('message', (m: StoreMessage) => {
    if (m.kind === 'log') logger[m.level](m.msg, m.fields);
    else if (m.kind === 'stats') stats = m.stats;
    else if (m.kind === 'ready') {
      stats = m.stats;
      opened?.resolve(undefined);
    } else if (m.kind === 'failed') stop(errorOf(m.error));
    else {
      stats = m.stats;
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (!m.ok) return p.reject(errorOf(m.error));
      if (m.durable) durable.set(m.durable.stream, m.durable.offset);
      p.resolve(m.value);
    }
  });
  worker.on('error', (e) => {
    logger.error('the metric store thread failed', { err: e });
    stop(new HubError('UNAVAILABLE', `The metric store thread failed: ${e.message}`, { cause: e }));
  });
  worker.on('exit', (code) => {
    if (!stopped && code !== 0) logger.error('the metric store thread stopped', { code });
    stop(new HubError('UNAVAILABLE', `The metric store thread stopped (exit code ${code})`));
  });

  await ready;

  function call<T>(request: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    if (stopped) return Promise.reject(stopped);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** Marks this store's series numbers on the series objects that have memo slots. */
  const owner = {};
  const refOfKey = new Map<string, number>();

  function writeColumns(columns: PointColumns, checkpoint?: WriteCheckpoint): Promise<void> {
    const n = columns.series.length;
    const refs = new Int32Array(n);
    const ts = new Float64Array(n);
    const values = new Float64Array(n);
    const fresh: SeriesDefinition[] = [];
    for (let i = 0; i < n; i++) {
      const s = columns.series[i] as MaybeMemo;
      let ref: number;
      if (s.storeOf === owner) ref = s.storeId!;
      else {
        const key = seriesKey(s.metric, s.tags);
        let known = refOfKey.get(key);
        if (known === undefined) {
          known = refOfKey.size;
          refOfKey.set(key, known);
          fresh.push({ ref: known, metric: s.metric, tags: s.tags });
        }
        ref = known;
        if ('storeOf' in s) {
          s.storeOf = owner;
          s.storeId = ref;
        }
      }
      refs[i] = ref;
      ts[i] = columns.ts[i]!;
      values[i] = columns.values[i]!;
    }
    return call<void>({ op: 'write', fresh, refs, ts, values, checkpoint }, [
      refs.buffer,
      ts.buffer,
      values.buffer,
    ]);
  }

  return {
    write: (points: MetricPoint[], checkpoint?: WriteCheckpoint) =>
      writeColumns(columnsOf(points), checkpoint),
    writeColumns,
    checkpoint: (stream) => call<number>({ op: 'checkpoint', stream }),
    durableUpTo: (stream) => durable.get(stream) ?? -1,
    query: async (query, scope) => unpackResults(await call<PackedResults>({ op: 'query', query, scope })),
    queryJson: (query, scope) => call<Uint8Array>({ op: 'queryJson', query, scope }),
    suggest: (type, prefix, max, scope) => call<string[]>({ op: 'suggest', type, prefix, max, scope }),
    lookup: (metric, tags, limit, scope) =>
      call<LookupResult[]>({ op: 'lookup', metric, tags, limit, scope }),
    diskBytes: () => call<number>({ op: 'diskBytes' }),
    maintain: () => call<void>({ op: 'maintain' }),
    stats: () => stats,
    async close() {
      if (stopped) return;
      await call<void>({ op: 'close' });
      stop(new HubError('UNAVAILABLE', 'The metric store is closed'));
      await worker.terminate();
    },
  };
}

function errorOf(e: ThreadError): HubError {
  const err = new HubError((e.code as HubErrorCode | undefined) ?? 'STORE_FAILED', e.message, {
    ...(e.where ? { where: e.where } : {}),
  });
  if (e.stack) err.stack = e.stack;
  return err;
}
