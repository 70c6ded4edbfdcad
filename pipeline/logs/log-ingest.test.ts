import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../core/logger.ts';
import type { LogRecord } from '../../core/model.ts';
import type { BusRecord } from '../../core/ports.ts';
import { tempDir } from '../../test/harness.ts';
import { createEmbeddedBus, type EmbeddedBus } from '../bus/embedded/embedded-bus.ts';
import {
  type CheckpointedLogStore,
  createEmbeddedLogStore,
  type EmbeddedLogStore,
} from './embedded-log-store.ts';
import { createLogIngest, type LogIngest, logMessages } from './log-ingest.ts';
import { decodeLogRecords } from './log-text.ts';

const T0 = Date.UTC(2026, 0, 1);
const all = { start: 0, end: T0 + 1e9, limit: 1000 };
const rec = (n: number, source = 'web'): LogRecord => ({ ts: T0 + n, source, fields: { n } });

describe('logMessages', () => {
  it('keys messages by source and splits them at the record limit', () => {
    const records = [rec(1, 'a'), rec(2, 'b'), rec(3, 'a'), rec(4, 'a')];
    const messages = logMessages(records, 2);
    expect(messages.map((m) => [m.key, decodeLogRecords(m.value).map((r) => r.fields['n'])])).toEqual([
      ['a', [1, 3]],
      ['a', [4]],
      ['b', [2]],
    ]);
  });
});

type Running = { bus: EmbeddedBus; store: EmbeddedLogStore; ingest: LogIngest };
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** Opens bus, store and ingest on `dir`, as a hub process would at start. */
async function startOn(
  dir: string,
  wrap?: (real: EmbeddedLogStore) => CheckpointedLogStore,
): Promise<Running> {
  const bus = await createEmbeddedBus({ dir: `${dir}/bus`, pollMs: 20 });
  const store = await createEmbeddedLogStore({ dataDir: `${dir}/logs`, maintenanceIntervalMs: 0 });
  const ingest = createLogIngest({ bus, store: wrap ? wrap(store) : store, logger: silentLogger });
  await ingest.start();
  return { bus, store, ingest };
}

async function stop(r: Running): Promise<void> {
  await r.ingest.stop();
  await r.bus.close();
  await r.store.close();
}

describe('log ingest', () => {
  it('stores each record once when a restarted hub gets a batch again that the store had committed', async () => {
    const tmp = await tempDir('obs-log-ingest-');
    cleanups.push(tmp.cleanup);
    let crashed = false;
    // The store commits, then the "process" dies before the bus commits the offset.
    const first = await startOn(tmp.dir, (real) => ({
      checkpoint: (s) => real.checkpoint(s),
      search: (q) => real.search(q),
      close: () => real.close(),
      async write(records, checkpoint) {
        await real.write(records, checkpoint);
        crashed = true;
        throw new Error('killed after the store committed, before the bus did');
      },
    }));
    await first.ingest.publish([rec(1), rec(2), rec(3, 'db')]);
    await vi.waitFor(() => expect(crashed).toBe(true), { timeout: 10_000, interval: 20 });
    await stop(first);

    const second = await startOn(tmp.dir);
    cleanups.push(() => stop(second));
    await second.ingest.publish([rec(4)]);
    await vi.waitFor(() => expect(second.ingest.stats().stored).toBe(1), { timeout: 10_000, interval: 20 });
    expect(second.ingest.stats().replayed).toBeGreaterThan(0);
    const stored = await second.store.search(all);
    expect(stored.map((r) => r.fields['n'])).toEqual([4, 3, 2, 1]);
  });

  it('writes a batch whose store write failed before its commit again, once', async () => {
    const tmp = await tempDir('obs-log-ingest-');
    cleanups.push(tmp.cleanup);
    let failures = 0;
    const r = await startOn(tmp.dir, (real) => ({
      checkpoint: (s) => real.checkpoint(s),
      search: (q) => real.search(q),
      close: () => real.close(),
      async write(records, checkpoint) {
        if (failures++ === 0) throw new Error('disk full, nothing committed');
        await real.write(records, checkpoint);
      },
    }));
    cleanups.push(() => stop(r));
    await r.ingest.publish([rec(1), rec(2)]);
    await vi.waitFor(() => expect(r.ingest.stats().stored).toBe(2), { timeout: 10_000, interval: 20 });
    expect((await r.store.search(all)).map((x) => x.fields['n'])).toEqual([2, 1]);
  });

  it('dead-letters an undecodable bus record and stores the rest of its batch', async () => {
    const tmp = await tempDir('obs-log-ingest-');
    cleanups.push(tmp.cleanup);
    const r = await startOn(tmp.dir);
    cleanups.push(() => stop(r));
    const dead: BusRecord[] = [];
    const sub = await r.bus.subscribe({
      topic: 'obs.dead-letter',
      group: 'test',
      onBatch: async (batch) => {
        dead.push(...batch);
      },
    });
    cleanups.push(() => sub.close());
    await r.bus.publish('logs', [{ key: 'web', value: Buffer.from('not json at all') }]);
    await r.ingest.publish([rec(7)]);
    await vi.waitFor(() => expect(r.ingest.stats().stored).toBe(1), { timeout: 10_000, interval: 20 });
    await vi.waitFor(() => expect(dead).toHaveLength(1), { timeout: 10_000, interval: 20 });
    expect(Buffer.from(dead[0]!.value).toString()).toBe('not json at all');
    expect(dead[0]!.headers?.['obs-dlq-topic']).toBe('logs');
    expect(dead[0]!.headers?.['obs-dlq-reason']).toMatch(/JSON/);
    expect(r.ingest.stats().deadLettered).toBe(1);
    expect(await r.store.search(all)).toEqual([rec(7)]);
  });
});
