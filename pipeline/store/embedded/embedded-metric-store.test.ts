import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.ts';
import { silentLogger } from '../../../core/logger.ts';
import type { SeriesMemo } from '../../../core/model.ts';
import type { MetricQuery, SubQuery } from '../../../core/query.ts';
import { tempDir } from '../../../test/harness.ts';
import { DuckPoints } from './duck-points.ts';
import { createEmbeddedMetricStore, type EmbeddedMetricStore } from './embedded-metric-store.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

const sub = (over: Partial<SubQuery> = {}): SubQuery => ({
  metric: 'm.cpu',
  aggregator: 'sum',
  rate: false,
  filters: [],
  explicitTags: false,
  ...over,
});
const q = (start: number, end: number, over: Partial<SubQuery> = {}): MetricQuery => ({
  start,
  end,
  queries: [sub(over)],
  msResolution: true,
  showQuery: false,
});

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function open(dir: string, clock: FakeClock, extra: object = {}): Promise<EmbeddedMetricStore> {
  const store = await createEmbeddedMetricStore({
    dataDir: dir,
    clock,
    logger: silentLogger,
    maintenanceIntervalMs: 0,
    rawRetentionMs: DAY,
    rollup1mRetentionMs: 7 * DAY,
    rollup1hRetentionMs: 365 * DAY,
    ...extra,
  });
  return store;
}

describe('embedded metric store', () => {
  it('keeps a series object’s id for its own store only (memo slots)', async () => {
    const clock = new FakeClock(NOW);
    const stores: EmbeddedMetricStore[] = [];
    for (let k = 0; k < 2; k++) {
      const tmp = await tempDir();
      cleanups.push(tmp.cleanup);
      const store = await open(tmp.dir, clock);
      cleanups.push(() => store.close());
      stores.push(store);
    }
    // The second store knows another series first, so its ids differ from the first one's.
    await stores[1]!.write([{ metric: 'm.cpu', tags: { host: 'z' }, ts: NOW - 60_000, value: 1000 }]);
    // Series objects that keep what stages learnt of them, as a decoder's remembered series do.
    const memo = (host: string): SeriesMemo => ({
      metric: 'm.cpu',
      tags: Object.freeze({ host }),
      admittedKey: undefined,
      storeOf: undefined,
      storeId: -1,
      refsOf: undefined,
      ref: -1,
    });
    const series = [memo('a'), memo('b')];
    for (let i = 0; i < 3; i++)
      for (const [k, store] of stores.entries())
        await store.writeColumns!({
          series,
          ts: [NOW - i * 10_000, NOW - i * 10_000],
          values: [k + 1, 10 * (k + 1)],
        });
    for (const [k, store] of stores.entries()) {
      const byHost = await store.query(
        q(NOW - HOUR, NOW, { filters: [{ type: 'wildcard', tagk: 'host', filter: '*', groupBy: true }] }),
      );
      const sums = Object.fromEntries(byHost.map((r) => [r.tags['host'], r.dps.map(([, v]) => v)]));
      expect(sums['a']).toEqual([k + 1, k + 1, k + 1]);
      expect(sums['b']).toEqual([10 * (k + 1), 10 * (k + 1), 10 * (k + 1)]);
    }
  });

  it('answers from disk beyond the hot window and from memory within it, across a restart', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock(NOW);
    let store = await open(tmp.dir, clock);
    const old = NOW - 5 * HOUR;
    const recent = NOW - 30 * 60_000;
    await store.write(
      [
        { metric: 'm.cpu', tags: { host: 'a' }, ts: old, value: 1 },
        { metric: 'm.cpu', tags: { host: 'a' }, ts: recent, value: 2 },
        { metric: 'm.cpu', tags: { host: 'b' }, ts: recent, value: 40 },
      ],
      { stream: 'metrics/0', offset: 7 },
    );
    expect(store.stats()).toMatchObject({ series: 2, hotPoints: 2 });
    const before = await store.query(q(NOW - 6 * HOUR, NOW));
    expect(before[0]!.dps).toEqual([
      [old, 1],
      [recent, 42],
    ]);
    await store.close();

    store = await open(tmp.dir, clock);
    cleanups.push(() => store.close());
    expect(store.stats()).toMatchObject({ series: 2, hotPoints: 2 });
    expect(await store.checkpoint('metrics/0')).toBe(7);
    expect(await store.checkpoint('other/0')).toBe(-1);
    expect((await store.query(q(NOW - 6 * HOUR, NOW)))[0]!.dps).toEqual(before[0]!.dps);
    expect(await store.suggest('tagv', '', 10)).toEqual(['a', 'b']);
    expect((await store.lookup('m.cpu', { host: 'b' }, 10)).map((l) => l.tags)).toEqual([{ host: 'b' }]);
  });

  it('takes a batch bringing more new series than one DuckDB chunk holds, across a restart', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock(NOW);
    let store = await open(tmp.dir, clock);
    const points = Array.from({ length: 5000 }, (_, i) => ({
      metric: 'm.many',
      tags: { c: `c${i}` },
      ts: NOW - 1000,
      value: i,
    }));
    await store.write(points);
    await store.close();
    store = await open(tmp.dir, clock);
    cleanups.push(() => store.close());
    expect(store.stats().series).toBe(5000);
    const r = await store.query(q(NOW - 2000, NOW, { metric: 'm.many' }));
    expect(r[0]!.dps).toEqual([[NOW - 1000, (4999 * 5000) / 2]]);
  });

  it('rolls old points up into 1 m and 1 h buckets and keeps answering after raw retention', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock(NOW);
    const store = await open(tmp.dir, clock);
    cleanups.push(() => store.close());
    const threeDays = NOW - 3 * DAY; // past raw retention (1 d), within the 1 m roll-ups (7 d)
    const tenDays = NOW - 10 * DAY; // past the 1 m roll-ups, within the 1 h ones
    const points = [];
    for (let i = 0; i < 12; i++)
      points.push({ metric: 'm.cpu', tags: { host: 'a' }, ts: threeDays + i * 10_000, value: i });
    for (let i = 0; i < 6; i++)
      points.push({ metric: 'm.cpu', tags: { host: 'a' }, ts: tenDays + i * 600_000, value: 10 * i });
    await store.write(points);
    await store.maintain();

    const minute = await store.query(
      q(threeDays, threeDays + 2 * 60_000, {
        downsample: { intervalMs: 60_000, aggregator: 'avg', fill: 'none' },
      }),
    );
    expect(minute[0]!.dps).toEqual([
      [threeDays, 2.5], // 0..5
      [threeDays + 60_000, 8.5], // 6..11
    ]);
    const maxes = await store.query(
      q(threeDays, threeDays + 2 * 60_000, {
        downsample: { intervalMs: 60_000, aggregator: 'max', fill: 'none' },
      }),
    );
    expect(maxes[0]!.dps).toEqual([
      [threeDays, 5],
      [threeDays + 60_000, 11],
    ]);
    const hour = await store.query(
      q(tenDays, tenDays + HOUR - 1, { downsample: { intervalMs: HOUR, aggregator: 'sum', fill: 'none' } }),
    );
    expect(hour[0]!.dps).toEqual([[tenDays, 150]]);

    // Past every retention, points are gone.
    clock.advance(400 * DAY);
    await store.maintain();
    expect(await store.query(q(tenDays - DAY, NOW))).toEqual([]);
  });

  it('counts and averages rolled-up buckets by the points they hold, as over raw points', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock(NOW);
    const store = await open(tmp.dir, clock);
    cleanups.push(() => store.close());
    const threeDays = NOW - 3 * DAY - ((NOW - 3 * DAY) % HOUR); // rolled up into 1 m buckets
    // Minute 0 holds one point (100), minute 1 three (0, 0, 0): buckets of unequal counts.
    const values = [
      [threeDays, 100],
      [threeDays + 60_000, 0],
      [threeDays + 70_000, 0],
      [threeDays + 80_000, 0],
    ] as const;
    await store.write(values.map(([ts, value]) => ({ metric: 'm.cpu', tags: { host: 'a' }, ts, value })));
    const hourOf = (aggregator: 'count' | 'avg' | 'sum' | 'max') =>
      store.query(
        q(threeDays, threeDays + HOUR - 1, { downsample: { intervalMs: HOUR, aggregator, fill: 'none' } }),
      );
    const before = {
      count: (await hourOf('count'))[0]!.dps,
      avg: (await hourOf('avg'))[0]!.dps,
      sum: (await hourOf('sum'))[0]!.dps,
    };
    expect(before).toEqual({ count: [[threeDays, 4]], avg: [[threeDays, 25]], sum: [[threeDays, 100]] });
    await store.maintain();
    // Now from the 1 m roll-ups: the same answers, not 2 buckets and the mean of their means (50).
    expect((await hourOf('count'))[0]!.dps).toEqual(before.count);
    expect((await hourOf('avg'))[0]!.dps).toEqual(before.avg);
    expect((await hourOf('sum'))[0]!.dps).toEqual(before.sum);
    expect((await hourOf('max'))[0]!.dps).toEqual([[threeDays, 100]]);
    const all = await store.query(
      q(threeDays, threeDays + HOUR - 1, {
        downsample: { intervalMs: 0, aggregator: 'count', fill: 'none' },
      }),
    );
    expect(all[0]!.dps).toEqual([[threeDays, 4]]);
  });

  it('keeps the checkpoint before the records of open chunks, and a replay stores no point twice', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock(NOW);
    let store = await open(tmp.dir, clock, { chunkPoints: 4, stragglers: 0 });
    const t = (i: number) => NOW - 3 * HOUR + i * 10_000; // older than the hot window
    const record = (i: number) => [
      { metric: 'm.cpu', tags: { host: 'a' }, ts: t(i), value: i },
      { metric: 'm.cpu', tags: { host: 'b' }, ts: t(i), value: 100 + i },
    ];
    for (let offset = 1; offset <= 3; offset++) await store.write(record(offset), { stream: 'm/0', offset });
    // Three points a series: open chunks, held on the bus only.
    expect(store.stats().openPoints).toBe(6);
    expect(await store.checkpoint('m/0')).toBe(-1);
    expect(store.durableUpTo?.('m/0')).toBe(-1);
    await store.write(record(4), { stream: 'm/0', offset: 4 });
    expect(store.stats().openPoints).toBe(0);
    expect(await store.checkpoint('m/0')).toBe(4);
    expect(store.durableUpTo?.('m/0')).toBe(4);
    for (let offset = 5; offset <= 6; offset++) await store.write(record(offset), { stream: 'm/0', offset });
    expect(await store.checkpoint('m/0')).toBe(4);
    expect(store.durableUpTo?.('m/0')).toBe(4);
    // Records 3..6 again, as a bus gives them back from an earlier offset after a crash.
    for (let offset = 3; offset <= 6; offset++) await store.write(record(offset), { stream: 'm/0', offset });
    const sums = await store.query(q(t(0), t(10)));
    expect(sums[0]!.dps).toEqual([1, 2, 3, 4, 5, 6].map((i) => [t(i), 100 + 2 * i]));
    await store.close();
    expect(await storedTimes(tmp.dir)).toEqual([1, 2, 3, 4, 5, 6].flatMap((i) => [t(i), t(i)]).sort());

    store = await open(tmp.dir, clock, { chunkPoints: 4, stragglers: 0 });
    cleanups.push(() => store.close());
    expect(await store.checkpoint('m/0')).toBe(6);
    expect((await store.query(q(t(0), t(10))))[0]!.dps).toEqual(sums[0]!.dps);
  });

  it('seals the chunks of series written in step a few points apart, not all in one write', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock(NOW);
    const store = await open(tmp.dir, clock, { chunkPoints: 16, stragglers: 0, sealSpread: 4 });
    cleanups.push(() => store.close());
    const t = (i: number) => NOW - 3 * HOUR + i * 10_000;
    const hosts = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const opened: number[] = [];
    for (let i = 1; i <= 19; i++) {
      const points = hosts.map((host, h) => ({ metric: 'm.cpu', tags: { host }, ts: t(i), value: h }));
      await store.write(points, { stream: 'm/0', offset: i });
      opened.push(store.stats().openPoints);
    }
    // Full at the 16th point, each series seals `sid % 4` points later: two of eight a write.
    expect(opened.slice(14)).toEqual([
      8 * 15,
      8 * 16 - 2 * 16,
      8 * 17 - 4 * 16,
      8 * 18 - 6 * 16,
      8 * 19 - 8 * 16,
    ]);
    const sums = await store.query(q(t(0), t(20)));
    expect(sums[0]!.dps).toEqual(Array.from({ length: 19 }, (_, i) => [t(i + 1), 28]));
  });

  it('seals every open chunk once more points than allowed are open', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock(NOW);
    const store = await open(tmp.dir, clock, { maxOpenPoints: 25 });
    cleanups.push(() => store.close());
    const batch = (step: number) =>
      Array.from({ length: 10 }, (_, i) => ({
        metric: 'm.cpu',
        tags: { c: `c${i}` },
        ts: NOW - HOUR + step * 10_000,
        value: step,
      }));
    for (let step = 0; step < 2; step++) await store.write(batch(step), { stream: 'm/0', offset: step });
    expect(store.stats().openPoints).toBe(20);
    expect(store.durableUpTo?.('m/0')).toBe(-1);
    await store.write(batch(2), { stream: 'm/0', offset: 2 });
    expect(store.stats().openPoints).toBe(0);
    expect(store.durableUpTo?.('m/0')).toBe(2);
    expect(await store.checkpoint('m/0')).toBe(2);
    expect((await store.query(q(NOW - 2 * HOUR, NOW)))[0]!.dps.map(([, v]) => v)).toEqual([0, 10, 20]);
  });

  it('stores a late point with a new value as a row that wins over the sealed one', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const clock = new FakeClock(NOW);
    const store = await open(tmp.dir, clock);
    const ts = [NOW - 60_000, NOW - 50_000, NOW - 40_000];
    await store.write(ts.map((t, i) => ({ metric: 'm.cpu', tags: { host: 'a' }, ts: t, value: i })));
    await store.write([{ metric: 'm.cpu', tags: { host: 'a' }, ts: ts[1]!, value: 7 }]);
    await store.write([{ metric: 'm.cpu', tags: { host: 'a' }, ts: ts[2]!, value: 2 }]); // held already
    expect((await store.query(q(NOW - HOUR, NOW)))[0]!.dps).toEqual([
      [ts[0], 0],
      [ts[1], 7],
      [ts[2], 2],
    ]);
    await store.close();
    const duck = await DuckPoints.open(join(tmp.dir, 'metrics.duckdb'));
    const raw = await duck.readRaw(undefined, 0, NOW);
    await duck.close();
    expect(raw.ts).toEqual([ts[0], ts[1], ts[1], ts[2]]);
    expect(raw.value).toEqual([0, 1, 7, 2]);
  });

  it('opens a file written before chunks: its raw rows stay and no roll-up counts twice', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const path = join(tmp.dir, 'metrics.duckdb');
    const fiveDays = NOW - 5 * DAY; // rolled up only (raw retention 1 d)
    const recent = NOW - 2 * HOUR - 60_000; // raw, and rolled up by the old store too
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    for (const sql of [
      'CREATE TABLE series (id INTEGER, metric VARCHAR, tags VARCHAR)',
      'CREATE TABLE points (sid INTEGER, ts BIGINT, value DOUBLE)',
      'CREATE TABLE rollup_1m (sid INTEGER, ts BIGINT, cnt BIGINT, sum DOUBLE, min DOUBLE, max DOUBLE)',
      'CREATE TABLE rollup_1h (sid INTEGER, ts BIGINT, cnt BIGINT, sum DOUBLE, min DOUBLE, max DOUBLE)',
      'CREATE TABLE checkpoints (stream VARCHAR PRIMARY KEY, off BIGINT)',
      'CREATE TABLE meta (k VARCHAR PRIMARY KEY, v BIGINT)',
      `INSERT INTO series VALUES (0, 'm.cpu', '{"host":"a"}')`,
      `INSERT INTO points VALUES (0, ${recent}, 3), (0, ${recent + 10_000}, 5)`,
      `INSERT INTO rollup_1m VALUES (0, ${fiveDays}, 2, 10, 4, 6), (0, ${recent - (recent % 60_000)}, 2, 8, 3, 5)`,
      `INSERT INTO checkpoints VALUES ('metrics/0', 41)`,
      "INSERT INTO meta VALUES ('dirty', 9223372036854775807)",
    ])
      await c.run(sql);
    c.closeSync();
    db.closeSync();

    const clock = new FakeClock(NOW);
    const store = await open(tmp.dir, clock);
    cleanups.push(() => store.close());
    expect(await store.checkpoint('metrics/0')).toBe(41);
    const minute = (t: number) => t - (t % 60_000);
    const sums = async (t: number) =>
      (
        await store.query(
          q(minute(t), minute(t) + 59_999, {
            downsample: { intervalMs: 60_000, aggregator: 'sum', fill: 'none' },
          }),
        )
      )[0]?.dps;
    expect(await sums(recent)).toEqual([[minute(recent), 8]]);
    expect(await sums(fiveDays)).toEqual([[minute(fiveDays), 10]]);
    // Once the raw rows pass retention they are rolled up once: the old store's roll-up of them is gone.
    clock.advance(2 * DAY);
    await store.maintain();
    expect(await sums(recent)).toEqual([[minute(recent), 8]]);
    expect(await sums(fiveDays)).toEqual([[minute(fiveDays), 10]]);
  });
});

/** Timestamps of every stored copy of a point, read from the file itself. */
async function storedTimes(dir: string): Promise<number[]> {
  const duck = await DuckPoints.open(join(dir, 'metrics.duckdb'));
  const raw = await duck.readRaw(undefined, 0, Number.MAX_SAFE_INTEGER);
  await duck.close();
  return raw.ts.slice().sort();
}
