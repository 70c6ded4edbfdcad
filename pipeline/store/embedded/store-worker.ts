/**
 * The thread of the hub's embedded metric store: opens the store (`embedded-metric-store.ts`)
 * with this thread's clock, answers the main thread's requests (`store-thread-protocol.ts`) and
 * sends its log lines to the main thread's logger.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import type { Logger, LogLevel } from '../../../core/logger.ts';
import type { MaybeMemo } from '../../../core/model.ts';
import { toOpenTsdbJson } from '../../query/response.ts';
import { createEmbeddedMetricStore, type EmbeddedMetricStore } from './embedded-metric-store.ts';
import {
  type PackedResults,
  packResults,
  type StoreMessage,
  type StoreRequest,
  type StoreThreadInit,
  type ThreadError,
} from './store-thread-protocol.ts';

const port = parentPort!;
const send = (m: StoreMessage) => port.postMessage(m);

/** A logger whose lines go to the main thread's; fields that cannot be cloned go as text. */
function threadLogger(base: Record<string, unknown> = {}): Logger {
  const log = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    const all = { ...base, ...fields };
    try {
      send({ kind: 'log', level, msg, fields: all });
    } catch {
      const text: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(all)) text[k] = v instanceof Error ? v : String(v);
      send({ kind: 'log', level, msg, fields: text });
    }
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => threadLogger({ ...base, ...fields }),
  };
}

function threadError(e: unknown): ThreadError {
  if (e instanceof HubError)
    return {
      message: e.message,
      code: e.code,
      ...(e.where ? { where: e.where } : {}),
      ...(e.stack ? { stack: e.stack } : {}),
    };
  if (e instanceof Error) return { message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { message: String(e) };
}

/** The series the main thread numbered, by their number; the store fills their memo slots. */
const byRef: MaybeMemo[] = [];

async function answer(store: EmbeddedMetricStore, r: StoreRequest): Promise<unknown> {
  switch (r.op) {
    case 'write': {
      for (const f of r.fresh)
        byRef[f.ref] = { metric: f.metric, tags: f.tags, storeOf: undefined, storeId: 0 };
      const n = r.refs.length;
      const series = new Array<MaybeMemo>(n);
      for (let i = 0; i < n; i++) series[i] = byRef[r.refs[i]!]!;
      await store.writeColumns!({ series, ts: r.ts, values: r.values }, r.checkpoint);
      return undefined;
    }
    case 'checkpoint':
      return store.checkpoint(r.stream);
    case 'query':
      return packResults(await store.query(r.query, r.scope));
    case 'queryJson':
      // Bytes of their own (a Buffer may share a pool), to be moved, not copied.
      return new TextEncoder().encode(toOpenTsdbJson(await store.query(r.query, r.scope), r.query));
    case 'suggest':
      return store.suggest(r.type, r.prefix, r.max, r.scope);
    case 'lookup':
      return store.lookup(r.metric, r.tags, r.limit, r.scope);
    case 'diskBytes':
      return store.diskBytes();
    case 'maintain':
      return store.maintain();
    case 'close':
      return store.close();
  }
}

/** The buffers of an answer, moved to the main thread instead of copied. */
function transferOf(value: unknown): ArrayBuffer[] {
  if (value instanceof Uint8Array) return [value.buffer as ArrayBuffer];
  if (typeof value !== 'object' || value === null || !('ts' in value)) return [];
  const p = value as PackedResults;
  return [p.ts.buffer, p.values.buffer, ...(p.nulls ? [p.nulls.buffer] : [])] as ArrayBuffer[];
}

async function main(): Promise<void> {
  const init = workerData as StoreThreadInit;
  let store: EmbeddedMetricStore;
  try {
    store = await createEmbeddedMetricStore({ ...init, clock: systemClock, logger: threadLogger() });
  } catch (e) {
    send({ kind: 'failed', error: threadError(e) });
    return;
  }
  // The main thread reads the store's counts without asking: they come with every answer and,
  // when they changed (maintenance seals and evicts), once a second.
  let last = JSON.stringify(store.stats());
  const timer = setInterval(() => {
    const stats = store.stats();
    const now = JSON.stringify(stats);
    if (now === last) return;
    last = now;
    send({ kind: 'stats', stats });
  }, 1000);
  timer.unref();
  port.on('message', (r: StoreRequest) => {
    answer(store, r).then(
      (value) => {
        const durable =
          r.op === 'write' && r.checkpoint
            ? { stream: r.checkpoint.stream, offset: store.durableUpTo!(r.checkpoint.stream) }
            : undefined;
        const reply: StoreMessage = { kind: 'reply', id: r.id, ok: true, value, stats: store.stats() };
        if (durable) reply.durable = durable;
        port.postMessage(reply, transferOf(value));
        if (r.op === 'close') {
          clearInterval(timer);
          port.close();
        }
      },
      (e: unknown) =>
        send({ kind: 'reply', id: r.id, ok: false, error: threadError(e), stats: store.stats() }),
    );
  });
  send({ kind: 'ready', stats: store.stats() });
}

void main();
