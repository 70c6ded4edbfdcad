/**
 * Decoding of span requests on worker threads: parsing the JSON body, decoding and checking the
 * spans and encoding them for the Bus take most of the CPU of an ingest request, and the main
 * thread also runs the consumer (assembler, store). With a pool, a 2-core machine uses both.
 *
 * When a worker cannot start or dies, `decode` rejects with an `UNAVAILABLE` HubError and the
 * caller decodes in its own thread; the pool does not restart workers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HubError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { SpanError } from '../model.ts';
import type { SpanRecordEncoding } from './spans-codec.ts';

export type DecodeFormat = 'zipkin' | 'otlp';

/** A request to a worker (structured-cloned). */
export type DecodeRequest = {
  id: number;
  format: DecodeFormat;
  body: Uint8Array;
  perRecord: number;
  encoding: SpanRecordEncoding;
  withServices: boolean;
};

/** A worker's answer. */
export type DecodeResponse =
  | {
      id: number;
      ok: true;
      /** Bus messages, `perRecord` spans each. */
      records: { key: string; value: Uint8Array }[];
      count: number;
      /** Position in the request of each good span. */
      indexes: number[];
      errors: SpanError[];
      /** The service of each good span, when asked for (to check the caller's projects). */
      services: string[] | undefined;
    }
  | { id: number; ok: false; message: string };

export type DecodedBatch = Extract<DecodeResponse, { ok: true }>;

export type DecodePool = {
  /**
   * Decodes a body; a body that is not JSON rejects with a `BAD_REQUEST` HubError. A body that
   * owns all of its memory moves to the thread instead of being copied: it is empty afterwards.
   */
  decode(format: DecodeFormat, body: Uint8Array, withServices: boolean): Promise<DecodedBatch>;
  close(): Promise<void>;
};

export type DecodePoolOptions = {
  /** Threads; default one less than the cores, at least 1, at most 4. */
  size?: number;
  /** Spans per bus record. Default 5,000. */
  perRecord?: number;
  /** The bus records' version (`spans-codec.ts`). Default `binary`. */
  encoding?: SpanRecordEncoding;
  logger: Logger;
};

type Slot = { worker: Worker; busy: number; dead: boolean };
type Pending = { resolve(r: DecodedBatch): void; reject(e: unknown): void; slot: Slot };

export function createDecodePool(options: DecodePoolOptions): DecodePool {
  const size = options.size ?? Math.min(4, Math.max(1, availableParallelism() - 1));
  const perRecord = options.perRecord ?? 5000;
  const encoding = options.encoding ?? 'binary';
  const pending = new Map<number, Pending>();
  let nextId = 1;
  const slots: Slot[] = [];

  function fail(slot: Slot, err: unknown): void {
    if (slot.dead) return;
    slot.dead = true;
    options.logger.warn('a span-decoding thread stopped; decoding on the main thread instead', { err });
    for (const [id, p] of pending)
      if (p.slot === slot) {
        pending.delete(id);
        p.reject(new HubError('UNAVAILABLE', 'The decoding thread stopped', { cause: err, canRetry: true }));
      }
  }

  for (let i = 0; i < size; i++) {
    const worker = new Worker(new URL('./decode-worker.mjs', import.meta.url));
    const slot: Slot = { worker, busy: 0, dead: false };
    worker.unref();
    worker.on('message', (r: DecodeResponse) => {
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      slot.busy--;
      if (r.ok) p.resolve(r);
      else p.reject(new HubError('BAD_REQUEST', r.message, { where: 'body' }));
    });
    worker.on('error', (e) => fail(slot, e));
    worker.on('exit', (code) => fail(slot, new Error(`exited with ${code}`)));
    slots.push(slot);
  }

  return {
    decode(format, body, withServices) {
      let best: Slot | undefined;
      for (const s of slots) if (!s.dead && (!best || s.busy < best.busy)) best = s;
      if (!best)
        return Promise.reject(
          new HubError('UNAVAILABLE', 'No decoding thread is running', { canRetry: true }),
        );
      const slot = best;
      const id = nextId++;
      slot.busy++;
      return new Promise<DecodedBatch>((resolve, reject) => {
        pending.set(id, { resolve, reject, slot });
        const req: DecodeRequest = { id, format, body, perRecord, encoding, withServices };
        const owns =
          body.buffer instanceof ArrayBuffer &&
          body.byteOffset === 0 &&
          body.byteLength === body.buffer.byteLength;
        slot.worker.postMessage(req, owns ? [body.buffer] : []);
      });
    },
    async close() {
      for (const s of slots) s.dead = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new HubError('UNAVAILABLE', 'The decoding pool closed'));
      }
    },
  };
}
