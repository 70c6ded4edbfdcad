import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../core/clock.ts';
import { silentLogger } from '../core/logger.ts';
import { createEmbeddedBus } from '../pipeline/bus/embedded/embedded-bus.ts';
import { tempDir } from '../test/harness.ts';
import { createTraceAssembler, type LinkDelta } from './assembler/assembler.ts';
import type { TraceSpan } from './model.ts';
import { createEmbeddedSpanStore, type EmbeddedSpanStore } from './store/embedded-span-store.ts';
import { type CheckpointedSpanStore, createTracingIngest } from './tracing-ingest.ts';

const US = Date.UTC(2026, 0, 1) * 1000;
const T = 'f'.repeat(32);

const client: TraceSpan = {
  traceId: T,
  spanId: '0000000000000001',
  name: 'call',
  kind: 'client',
  service: 'web',
  start: US,
  duration: 100,
  tags: {},
  annotations: [],
  error: false,
};
const server: TraceSpan = {
  ...client,
  spanId: '0000000000000002',
  parentId: '0000000000000001',
  kind: 'server',
  service: 'api',
  start: US + 10,
  duration: 50,
};

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(
  wrap: (real: EmbeddedSpanStore) => CheckpointedSpanStore,
  recordEncoding?: 'binary' | 'json',
) {
  const tmp = await tempDir('obs-tracing-ingest-');
  const bus = await createEmbeddedBus({ dir: `${tmp.dir}/bus`, pollMs: 20 });
  const store = await createEmbeddedSpanStore({ dataDir: `${tmp.dir}/spans`, maintenanceIntervalMs: 0 });
  const assembler = createTraceAssembler({ clock: new FakeClock(), keepLinkDeltas: true });
  const ingest = createTracingIngest({
    bus,
    store: wrap(store),
    assembler,
    logger: silentLogger,
    ...(recordEncoding ? { recordEncoding } : {}),
  });
  await ingest.start();
  cleanups.push(async () => {
    await ingest.stop();
    await bus.close();
    await store.close();
    await tmp.cleanup();
  });
  return { store, ingest, assembler };
}

describe('tracing ingest', () => {
  it('stores each span once when the bus delivers a stored batch again', async () => {
    const written: number[] = [];
    let failOnce = true;
    const { store, ingest } = await setup((real) => ({
      checkpoint: (s) => real.checkpoint(s),
      async write(spans, checkpoint, links) {
        await real.write(spans, checkpoint, links);
        written.push(spans.length);
        if (failOnce) {
          failOnce = false;
          throw new Error('crash after the store committed, before the bus did');
        }
      },
    }));
    await ingest.publish([client, server]);
    await vi.waitFor(() => expect(ingest.stats().replayedRecords).toBe(1), { timeout: 10_000, interval: 20 });
    await ingest.publish([{ ...server, spanId: '0000000000000003' }]);
    await vi.waitFor(() => expect(ingest.stats().stored).toBe(1), { timeout: 10_000, interval: 20 });
    expect(written).toEqual([2, 1]);
    expect(await store.getTrace(T)).toHaveLength(3);
    expect(await store.links(0, Number.MAX_SAFE_INTEGER)).toEqual([
      { parent: 'web', child: 'api', callCount: 2, errorCount: 0 },
    ]);
  });

  it('keeps the link changes of a write that failed for the retry', async () => {
    let failOnce = true;
    const seen: LinkDelta[][] = [];
    const { store, ingest } = await setup((real) => ({
      checkpoint: (s) => real.checkpoint(s),
      async write(spans, checkpoint, links) {
        seen.push([...(links ?? [])]);
        if (failOnce) {
          failOnce = false;
          throw new Error('disk full');
        }
        await real.write(spans, checkpoint, links);
      },
    }));
    await ingest.publish([client, server]);
    await vi.waitFor(() => expect(ingest.stats().stored).toBe(2), { timeout: 10_000, interval: 20 });
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
    expect(await store.links(0, Number.MAX_SAFE_INTEGER)).toEqual([
      { parent: 'web', child: 'api', callCount: 1, errorCount: 0 },
    ]);
  });

  it('stores every field of spans published in either record version, and hands listeners whole spans', async () => {
    const tagged: TraceSpan = {
      ...server,
      tags: { 'http.path': '/push' },
      annotations: [{ ts: US + 20, value: 'wr' }],
      peerIp: '10.0.0.9',
      peerPort: 9090,
    };
    for (const encoding of ['binary', 'json'] as const) {
      const { store, ingest, assembler } = await setup((real) => real, encoding);
      await ingest.publish([client, tagged]);
      await vi.waitFor(() => expect(ingest.stats().stored).toBe(2), { timeout: 10_000, interval: 20 });
      expect(await store.getTrace(T)).toEqual([client, tagged]);
      expect(assembler.dependencies(0, Number.MAX_SAFE_INTEGER)).toEqual([
        { parent: 'web', child: 'api', callCount: 1, errorCount: 0 },
      ]);
      const heard: TraceSpan[] = [];
      ingest.onStored((spans) => heard.push(...spans));
      await ingest.publish([{ ...tagged, spanId: '0000000000000003' }]);
      await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 10_000, interval: 20 });
      expect(heard[0]).toEqual({ ...tagged, spanId: '0000000000000003' });
    }
  });
});
