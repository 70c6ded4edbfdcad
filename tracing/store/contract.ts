/**
 * The contract every `SpanStore` adapter passes: run `runSpanStoreContract` from the adapter's
 * test file. Each case uses fresh trace ids, so a shared engine can serve all of them.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Span } from '../../core/model.ts';
import type { SpanStore, WriteCheckpoint } from '../../core/ports.ts';

export type SpanStoreFixture = {
  store: SpanStore;
  /** Closes the store and opens it again on the same data, when the adapter keeps data. */
  reopen?: () => Promise<SpanStore>;
  cleanup(): Promise<void>;
};

/** Stores that record a bus checkpoint with a write, as the embedded one does. */
type CheckpointingStore = SpanStore & {
  write(spans: Span[], checkpoint?: WriteCheckpoint): Promise<void>;
  checkpoint(stream: string): Promise<number>;
};

const NOW_US = Date.UTC(2026, 0, 1) * 1000;
const traceId = () => randomBytes(16).toString('hex');
const spanId = (n: number) => n.toString(16).padStart(16, '0');

function span(trace: string, n: number, over: Partial<Span> = {}): Span {
  return {
    traceId: trace,
    spanId: spanId(n),
    name: `op-${n}`,
    kind: 'server',
    service: 'contract-api',
    start: NOW_US + n * 1000,
    duration: 1000 * n,
    tags: { 'http.method': 'GET' },
    annotations: [],
    error: false,
    ...over,
  };
}

const byId = (a: Span, b: Span) =>
  a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : a.kind < b.kind ? -1 : 1;

export function runSpanStoreContract(name: string, make: () => Promise<SpanStoreFixture>): void {
  describe(`SpanStore contract: ${name}`, () => {
    let fixture: SpanStoreFixture;
    let store: SpanStore;

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('gives back every span of a trace, and nothing for an unknown one', async () => {
      const t = traceId();
      const spans = [
        span(t, 1),
        span(t, 2, { parentId: spanId(1), kind: 'client' }),
        span(t, 2, { kind: 'server' }),
      ];
      await store.write(spans);
      await store.write([span(traceId(), 1)]);
      expect((await store.getTrace(t)).sort(byId)).toEqual([...spans].sort(byId));
      expect(await store.getTrace(traceId())).toEqual([]);
    });

    it('keeps one span when the same span is written twice', async () => {
      const t = traceId();
      await store.write([span(t, 1), span(t, 1)]);
      await store.write([span(t, 1)]);
      expect(await store.getTrace(t)).toHaveLength(1);
    });

    it('finds traces by service, name, tags, duration and time, newest first', async () => {
      const [a, b, c] = [traceId(), traceId(), traceId()];
      await store.write([
        span(a, 1, { service: 'contract-search', name: 'get', tags: { env: 'prod' } }),
        span(b, 5, { service: 'contract-search', name: 'get', tags: { env: 'dev' } }),
        span(c, 9, { service: 'contract-other', name: 'put', tags: { env: 'prod' } }),
      ]);
      const range = { start: NOW_US, end: NOW_US + 60_000_000, limit: 10 };
      expect(await store.search({ ...range, service: 'contract-search' })).toEqual([b, a]);
      expect(await store.search({ ...range, service: 'contract-search', limit: 1 })).toEqual([b]);
      expect(await store.search({ ...range, tags: { env: 'prod' } })).toEqual([c, a]);
      expect(await store.search({ ...range, name: 'put' })).toEqual([c]);
      expect(await store.search({ ...range, service: 'contract-search', minDuration: 4000 })).toEqual([b]);
      expect(await store.search({ ...range, start: NOW_US + 4_000, service: 'contract-search' })).toEqual([
        b,
      ]);
      expect(await store.search({ ...range, end: NOW_US + 2_000 })).toEqual([a]);
    });

    it('lists services', async () => {
      await store.write([span(traceId(), 1, { service: 'contract-listed' })]);
      expect(await store.services()).toContain('contract-listed');
    });

    it('keeps what it stored across a restart', async () => {
      if (!fixture.reopen) return;
      const t = traceId();
      await store.write([span(t, 1), span(t, 2, { parentId: spanId(1) })]);
      store = await fixture.reopen();
      expect(await store.getTrace(t)).toHaveLength(2);
      await store.write([span(t, 3, { parentId: spanId(1) })]);
      expect(await store.getTrace(t)).toHaveLength(3);
      expect(await store.services()).toContain('contract-api');
    });

    it('records a checkpoint with the spans it wrote', async () => {
      const s = store as Partial<CheckpointingStore>;
      if (typeof s.checkpoint !== 'function') return;
      const cs = store as CheckpointingStore;
      const stream = `contract-${traceId().slice(0, 8)}`;
      expect(await cs.checkpoint(stream)).toBe(-1);
      await cs.write([span(traceId(), 1)], { stream, offset: 41 });
      expect(await cs.checkpoint(stream)).toBe(41);
      if (fixture.reopen) {
        store = await fixture.reopen();
        expect(await (store as CheckpointingStore).checkpoint(stream)).toBe(41);
      }
    });
  });
}
