import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../core/clock.ts';
import { createMemoryLogger, silentLogger } from '../core/logger.ts';
import { noopInstruments } from '../core/metrics.ts';
import { type MetricPoint, seriesKey } from '../core/model.ts';
import type { BusRecord } from '../core/ports.ts';
import { createEmbeddedBus } from './bus/embedded/embedded-bus.ts';
import { pointsOf } from './codec/point-columns.ts';
import { BINARY_RECORD_VERSION, decodePoints, encodePoints } from './codec/points-codec.ts';
import { isRefRecord } from './codec/series-refs.ts';
import { createIngest, METRICS_TOPIC, toMessages } from './ingest.ts';
import { parseQueryBody } from './query/parse.ts';
import {
  createEmbeddedMetricStore,
  type EmbeddedMetricStoreOptions,
} from './store/embedded/embedded-metric-store.ts';

const point = (app: string, ts: number): MetricPoint => ({
  metric: 'container.cpu.usage',
  ts,
  value: ts,
  tags: { project: 'shop', app },
});

describe('toMessages', () => {
  it('sends one unkeyed message when the bus has one partition', () => {
    const messages = toMessages([point('a', 1), point('b', 2)], 1);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.key).toBeUndefined();
  });

  it('writes binary records, JSON when asked (Kafka) or when a name cannot stand in a series key', () => {
    const first = (encoding: 'binary' | 'json', points: MetricPoint[]) =>
      toMessages(points, 1, encoding)[0]!.value[0];
    expect(first('binary', [point('a', 1)])).toBe(BINARY_RECORD_VERSION);
    expect(first('json', [point('a', 1)])).toBe('['.charCodeAt(0));
    const odd = { ...point('a', 2), tags: { project: 'shop', app: 'x,y=z' } };
    const [message] = toMessages([point('a', 1), odd], 1, 'binary');
    expect(message!.value[0]).toBe('['.charCodeAt(0));
    expect(decodePoints(message!.value)).toEqual([point('a', 1), odd]);
  });

  it('keeps every point of a series under one key, in order, across batches', () => {
    const apps = Array.from({ length: 40 }, (_, i) => `app-${i}`);
    const keyOf = new Map<string, string>();
    for (let batch = 0; batch < 3; batch++) {
      const points = apps.flatMap((a) => [point(a, batch * 10 + 1), point(a, batch * 10 + 2)]);
      const messages = toMessages(points, 8, batch === 1 ? 'json' : 'binary');
      expect(new Set(messages.map((m) => m.key)).size).toBe(messages.length);
      expect(messages.length).toBeGreaterThan(1);
      expect(messages.length).toBeLessThanOrEqual(8);
      let total = 0;
      for (const m of messages) {
        const decoded = decodePoints(m.value);
        total += decoded.length;
        for (const p of decoded) {
          const app = p.tags['app']!;
          expect(keyOf.get(app) ?? m.key).toBe(m.key);
          keyOf.set(app, m.key!);
        }
        const ofFirst = decoded.filter((p) => p.tags['app'] === decoded[0]!.tags['app']).map((p) => p.ts);
        expect(ofFirst).toEqual([...ofFirst].sort((a, b) => a - b));
      }
      expect(total).toBe(points.length);
    }
  });
});

/** An embedded bus and metric store in a temp dir, and how to close and remove them. */
async function openBusAndStore(storeOptions: Partial<EmbeddedMetricStoreOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-'));
  const bus = await createEmbeddedBus({ dir: join(dir, 'bus'), clock: systemClock, pollMs: 20 });
  const store = await createEmbeddedMetricStore({
    dataDir: join(dir, 'store'),
    clock: systemClock,
    logger: silentLogger,
    maintenanceIntervalMs: 0,
    ...storeOptions,
  });
  const close = async () => {
    await store.close();
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { bus, store, close };
}

describe('createIngest on the embedded bus and store', () => {
  it('stores points of v1 JSON records (older hubs) and v2 binary records alike, once each', async () => {
    const { bus, store, close } = await openBusAndStore();
    try {
      const now = Math.floor(Date.now() / 10_000) * 10_000;
      const old = { ...point('a', now - 20_000), value: 1 };
      await bus.publish(METRICS_TOPIC, [{ value: encodePoints([old]) }]);
      const ingest = createIngest({ bus, store, logger: silentLogger, instruments: noopInstruments });
      await ingest.publish(
        [
          { ...point('a', now - 10_000), value: 2 },
          { ...point('b', now), value: 3 },
        ],
        'http',
      );
      const stored: MetricPoint[] = [];
      ingest.onStored((batch) => stored.push(...pointsOf(batch)));
      await ingest.start();
      await vi.waitFor(() => expect(stored).toHaveLength(3), { timeout: 5_000 });
      await ingest.stop();
      const query = parseQueryBody(
        {
          start: now - 60_000,
          end: now + 1,
          queries: [
            {
              metric: 'container.cpu.usage',
              aggregator: 'sum',
              filters: [{ type: 'wildcard', tagk: 'app', filter: '*', groupBy: true }],
            },
          ],
        },
        now,
      );
      const results = await store.query(query);
      expect(results.map((r) => [r.tags['app'], r.dps])).toEqual([
        [
          'a',
          [
            [now - 20_000, 1],
            [now - 10_000, 2],
          ],
        ],
        ['b', [[now, 3]]],
      ]);
    } finally {
      await close();
    }
  });

  it('stores points published as columns, and turns them into points for its listeners', async () => {
    const { bus, store, close } = await openBusAndStore();
    try {
      const ingest = createIngest({ bus, store, logger: silentLogger, instruments: noopInstruments });
      const stored: MetricPoint[] = [];
      ingest.onStored((batch) => stored.push(...pointsOf(batch)));
      await ingest.start();
      const now = Math.floor(Date.now() / 10_000) * 10_000;
      const a = { metric: 'container.cpu.usage', tags: Object.freeze({ project: 'shop', app: 'a' }) };
      const b = { metric: 'container.cpu.usage', tags: Object.freeze({ project: 'shop', app: 'b' }) };
      const keys = [a, b, a].map((s) => seriesKey(s.metric, s.tags));
      await ingest.publishColumns(
        { series: [a, b, a], ts: [now - 10_000, now, now], values: [1, 2, 3] },
        'http',
        keys,
      );
      // Then a record the consumer decodes (points), and one more as columns: one store write or more.
      await ingest.publish([{ ...point('b', now + 10_000), value: 4 }], 'telnet');
      await ingest.publishColumns(
        { series: [b], ts: new Float64Array([now + 20_000]), values: [5] },
        'http',
        [keys[1]!],
      );
      await vi.waitFor(() => expect(stored).toHaveLength(5), { timeout: 5_000 });
      await ingest.stop();
      expect(stored.map((p) => [p.tags['app'], p.ts, p.value])).toEqual([
        ['a', now - 10_000, 1],
        ['b', now, 2],
        ['a', now, 3],
        ['b', now + 10_000, 4],
        ['b', now + 20_000, 5],
      ]);
      const query = parseQueryBody(
        {
          start: now - 60_000,
          end: now + 60_000,
          queries: [
            {
              metric: 'container.cpu.usage',
              aggregator: 'sum',
              filters: [{ type: 'wildcard', tagk: 'app', filter: '*', groupBy: true }],
            },
          ],
        },
        now,
      );
      expect((await store.query(query)).map((r) => [r.tags['app'], r.dps.length])).toEqual([
        ['a', 2],
        ['b', 3],
      ]);
    } finally {
      await close();
    }
  });

  it('spreads points published as columns over keys as it does points (JSON records, as on Kafka)', async () => {
    const { bus, store, close } = await openBusAndStore();
    try {
      const ingest = createIngest({
        bus,
        store,
        logger: silentLogger,
        instruments: noopInstruments,
        keyBuckets: 8,
        recordEncoding: 'json',
      });
      const apps = Array.from({ length: 20 }, (_, i) => `app-${i}`);
      const series = apps.map((app) => ({ metric: 'container.cpu.usage', tags: { project: 'shop', app } }));
      const keys = series.map((s) => seriesKey(s.metric, s.tags));
      const columns = { series, ts: apps.map(() => 1), values: apps.map((_, i) => i) };
      await ingest.publishColumns(columns, 'http', keys);
      const read: BusRecord[] = [];
      const reader = await bus.subscribe({
        topic: METRICS_TOPIC,
        group: 'reader',
        onBatch: async (records) => {
          read.push(...records);
          return undefined;
        },
      });
      await vi.waitFor(() => expect(read.length).toBeGreaterThan(1), { timeout: 5_000 });
      await reader.close();
      expect(read.every((r) => r.key?.startsWith('series-') && r.value[0] === '['.charCodeAt(0))).toBe(true);
      const points = read.flatMap((r) => decodePoints(r.value));
      expect(points.map((p) => p.value).sort((x, y) => x - y)).toEqual(apps.map((_, i) => i));
    } finally {
      await close();
    }
  });

  it('lets the bus group commit only what the store holds durably, not points still in open chunks', async () => {
    const { bus, store, close } = await openBusAndStore({ chunkPoints: 6, stragglers: 0 });
    const committed = async () =>
      (await bus.stats())
        .find((t) => t.topic === METRICS_TOPIC)!
        .groups.find((g) => g.group === 'metric-store')!.committed;
    try {
      const ingest = createIngest({ bus, store, logger: silentLogger, instruments: noopInstruments });
      let stored = 0;
      ingest.onStored((batch) => {
        stored += batch.series.length;
      });
      await ingest.start();
      const now = Math.floor(Date.now() / 10_000) * 10_000;
      // One record per step, each a point of series a and b: five steps stay in open chunks.
      for (let step = 0; step < 5; step++) {
        await ingest.publish([point('a', now + step * 10_000), point('b', now + step * 10_000)], 'http');
        await vi.waitFor(() => expect(stored).toBe(2 * (step + 1)), { timeout: 5_000 });
      }
      expect(store.durableUpTo?.(`${METRICS_TOPIC}/0`)).toBe(-1);
      expect(await committed()).toBeLessThanOrEqual(0);
      // The sixth step fills both chunks: they are sealed, and the group may commit every record.
      await ingest.publish([point('a', now + 50_000), point('b', now + 50_000)], 'http');
      await vi.waitFor(async () => expect(await committed()).toBe(6), { timeout: 5_000 });
      await ingest.stop();
    } finally {
      await close();
    }
  });

  it('commits v3 records only where an epoch begins, so a consumer resuming there decodes them all', async () => {
    const { bus, store, close } = await openBusAndStore({ chunkPoints: 3, stragglers: 0, sealSpread: 1 });
    const dirB = await mkdtemp(join(tmpdir(), 'ingest-b-'));
    const storeB = await createEmbeddedMetricStore({
      dataDir: dirB,
      clock: systemClock,
      logger: silentLogger,
      maintenanceIntervalMs: 0,
      // Seals every point at once: its checkpoint is the offset of its last write.
      chunkPoints: 1,
      stragglers: 0,
      sealSpread: 1,
    });
    try {
      // Two series, a point of each a record: an epoch is 16 points (8 a series), 8 records.
      const options = {
        bus,
        logger: silentLogger,
        instruments: noopInstruments,
        recordEncoding: 'refs' as const,
      };
      const first = createIngest({ ...options, store, epochPoints: 1 });
      let stored = 0;
      first.onStored((batch) => {
        stored += batch.series.length;
      });
      await first.start();
      const now = Math.floor(Date.now() / 10_000) * 10_000;
      // One record a store write, as in the test above.
      for (let step = 0; step < 20; step++) {
        await first.publish([point('a', now + step * 10_000), point('b', now + step * 10_000)], 'http');
        await vi.waitFor(() => expect(stored).toBe(2 * (step + 1)), { timeout: 5_000 });
      }
      await first.stop();

      const records: BusRecord[] = [];
      const probe = await bus.subscribe({
        topic: METRICS_TOPIC,
        group: 'probe',
        onBatch: async (batch) => {
          records.push(...batch);
        },
      });
      await vi.waitFor(() => expect(records).toHaveLength(20), { timeout: 5_000 });
      await probe.close();
      expect(records.every((r) => isRefRecord(r.value))).toBe(true);
      const epochOf = (r: BusRecord) => Buffer.from(r.value).readUInt32LE(1);
      const starts = records
        .filter((r, i) => i === 0 || epochOf(r) !== epochOf(records[i - 1]!))
        .map((r) => r.offset);
      expect(starts).toEqual([0, 8, 16]);
      // The store sealed chunks into the second and third epochs; the group committed at a start.
      const committed = (await bus.stats())
        .find((t) => t.topic === METRICS_TOPIC)!
        .groups.find((g) => g.group === 'metric-store')!.committed;
      expect(starts.slice(1)).toContain(committed);

      // Another process resumes the group at the committed offset, with a store of its own that
      // already holds the epoch's first three records: they are read again for their series keys,
      // which the records after them need, and not stored twice.
      const steps = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, i) => now + (from + i) * 10_000).flatMap((ts) => [ts, ts]);
      for (let offset = committed; offset < committed + 3; offset++) {
        const ts = now + offset * 10_000;
        await storeB.write([point('a', ts), point('b', ts)], { stream: `${METRICS_TOPIC}/0`, offset });
      }
      expect(await storeB.checkpoint(`${METRICS_TOPIC}/0`)).toBe(committed + 2);
      const logger = createMemoryLogger();
      const second = createIngest({ ...options, logger, store: storeB });
      const resumed: MetricPoint[] = [];
      second.onStored((batch) => resumed.push(...pointsOf(batch)));
      await second.start();
      await vi.waitFor(() => expect(resumed).toHaveLength(2 * (20 - committed - 3)), { timeout: 5_000 });
      await second.stop();
      expect(logger.lines.filter((l) => l['level'] === 'error')).toEqual([]);
      expect(resumed.map((p) => p.ts)).toEqual(steps(committed + 3, 20));
    } finally {
      await storeB.close();
      await rm(dirB, { recursive: true, force: true });
      await close();
    }
  });
});
