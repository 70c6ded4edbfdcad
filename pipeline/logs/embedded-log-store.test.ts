import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { LogRecord } from '../../core/model.ts';
import { tempDir } from '../../test/harness.ts';
import { runLogStoreContract } from './contract.ts';
import { createEmbeddedLogStore, type EmbeddedLogStore } from './embedded-log-store.ts';

runLogStoreContract('embedded DuckDB', async () => {
  const tmp = await tempDir('obs-logs-contract-');
  let store = await createEmbeddedLogStore({ dataDir: tmp.dir, maintenanceIntervalMs: 0 });
  return {
    store,
    async reopen() {
      await store.close();
      store = await createEmbeddedLogStore({ dataDir: tmp.dir, maintenanceIntervalMs: 0 });
      return store;
    },
    async cleanup() {
      await store.close();
      await tmp.cleanup();
    },
  };
});

const DAY = 86_400_000;
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function open(clock = new FakeClock(), retentionMs?: number) {
  const tmp = await tempDir('obs-logs-');
  const make = () =>
    createEmbeddedLogStore({
      dataDir: tmp.dir,
      clock,
      maintenanceIntervalMs: 3_600_000,
      ...(retentionMs ? { retentionMs } : {}),
    });
  const ref: { store: EmbeddedLogStore } = { store: await make() };
  cleanups.push(async () => {
    await ref.store.close();
    await tmp.cleanup();
  });
  return { ref, clock, make };
}

describe('embedded log store', () => {
  it('records the checkpoint with the rows, and keeps it across a reopen', async () => {
    const { ref, make } = await open();
    expect(await ref.store.checkpoint('logs/0')).toBe(-1);
    await ref.store.write([{ ts: 1, source: 's', fields: {} }], { stream: 'logs/0', offset: 41 });
    await ref.store.write([{ ts: 2, source: 's', fields: {} }], { stream: 'logs/1', offset: 7 });
    await ref.store.close();
    ref.store = await make();
    expect(await ref.store.checkpoint('logs/0')).toBe(41);
    expect(await ref.store.checkpoint('logs/1')).toBe(7);
  });

  it('stores neither rows nor checkpoint of a write that fails', async () => {
    const { ref } = await open();
    const bad: LogRecord = { ts: 1, source: 's', fields: {} };
    // A BigInt field cannot become JSON: record 2500 of 3000 (in the second chunk) fails the write.
    const records = Array.from({ length: 3000 }, (_, i) =>
      i === 2500 ? ({ ts: 2, source: 's', fields: { n: 1n } } as unknown as LogRecord) : bad,
    );
    await expect(ref.store.write(records, { stream: 'logs/0', offset: 5 })).rejects.toMatchObject({
      code: 'STORE_FAILED',
    });
    expect(await ref.store.checkpoint('logs/0')).toBe(-1);
    expect(await ref.store.search({ start: 0, end: 10, limit: 10 })).toEqual([]);
    await ref.store.write([bad], { stream: 'logs/0', offset: 5 });
    expect(await ref.store.search({ start: 0, end: 10, limit: 10 })).toEqual([bad]);
  });

  it('deletes records past the retention when its timer fires', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 10));
    const { ref } = await open(clock, 2 * DAY);
    const now = clock.now();
    const old: LogRecord = { ts: now - 3 * DAY, source: 'r', fields: { age: 'old' } };
    const fresh: LogRecord = { ts: now - DAY, source: 'r', fields: { age: 'fresh' } };
    await ref.store.write([old, fresh]);
    const all = { source: 'r', start: 0, end: now, limit: 10 };
    expect(await ref.store.search(all)).toEqual([fresh, old]);
    clock.advance(3_600_000);
    // Deletes and writes share one queue: once an empty write is done, the timer's delete is too.
    await ref.store.write([]);
    expect(await ref.store.search(all)).toEqual([fresh]);
    clock.advance(DAY);
    await ref.store.write([]);
    expect(await ref.store.search({ ...all, end: clock.now() })).toEqual([]);
  });

  it('shows a caller only the records of its projects', async () => {
    const { ref } = await open();
    const a: LogRecord = { ts: 1, source: 'web', fields: { project: 'alpha', msg: 'x' } };
    const b: LogRecord = { ts: 2, source: 'web', fields: { project: 'beta', msg: 'x' } };
    const none: LogRecord = { ts: 3, source: 'web', fields: { msg: 'x' } };
    await ref.store.write([a, b, none]);
    const q = { start: 0, end: 10, limit: 10 };
    expect(await ref.store.search(q)).toEqual([none, b, a]);
    expect(await ref.store.search({ ...q, projects: ['beta'] })).toEqual([b]);
    expect(await ref.store.search({ ...q, projects: [] })).toEqual([]);
  });
});
