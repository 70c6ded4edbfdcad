import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.ts';
import { silentLogger } from '../../../core/logger.ts';
import type { MetricQuery, SubQuery } from '../../../core/query.ts';
import { tempDir } from '../../../test/harness.ts';
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
    expect(store.stats()).toEqual({ series: 2, hotPoints: 2 });
    const before = await store.query(q(NOW - 6 * HOUR, NOW));
    expect(before[0]!.dps).toEqual([
      [old, 1],
      [recent, 42],
    ]);
    await store.close();

    store = await open(tmp.dir, clock);
    cleanups.push(() => store.close());
    expect(store.stats()).toEqual({ series: 2, hotPoints: 2 });
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
});
