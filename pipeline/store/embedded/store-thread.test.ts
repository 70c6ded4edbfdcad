import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import { createMemoryLogger, silentLogger } from '../../../core/logger.ts';
import type { MetricPoint, SeriesMemo } from '../../../core/model.ts';
import type { MetricQuery, SubQuery } from '../../../core/query.ts';
import { tempDir } from '../../../test/harness.ts';
import { toOpenTsdbJson } from '../../query/response.ts';
import { createEmbeddedMetricStore, type EmbeddedMetricStore } from './embedded-metric-store.ts';
import { createThreadedMetricStore } from './store-thread.ts';

const MINUTE = 60_000;
const STREAM = 'metrics/0';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

async function dir(): Promise<string> {
  const tmp = await tempDir();
  cleanups.push(tmp.cleanup);
  return tmp.dir;
}

const settings = { maintenanceIntervalMs: 0, chunkPoints: 8, stragglers: 2, sealSpread: 1 };

async function both(): Promise<{
  local: EmbeddedMetricStore;
  threaded: EmbeddedMetricStore;
  threadDir: string;
}> {
  const local = await createEmbeddedMetricStore({
    dataDir: await dir(),
    clock: systemClock,
    logger: silentLogger,
    ...settings,
  });
  cleanups.push(() => local.close());
  const threadDir = await dir();
  const threaded = await createThreadedMetricStore({ dataDir: threadDir, logger: silentLogger, ...settings });
  cleanups.push(() => threaded.close());
  return { local, threaded, threadDir };
}

/** Series objects with memo slots, as a decoder keeps them across batches. */
function memoSeries(app: string, host: string): SeriesMemo {
  return {
    metric: 'container.cpu.usage',
    tags: { app, host },
    admittedKey: undefined,
    storeOf: undefined,
    storeId: 0,
    refsOf: undefined,
    ref: 0,
  };
}

const sub = (over: Partial<SubQuery> = {}): SubQuery => ({
  metric: 'container.cpu.usage',
  aggregator: 'sum',
  rate: false,
  filters: [{ type: 'wildcard', tagk: 'app', filter: '*', groupBy: true }],
  explicitTags: false,
  ...over,
});

describe('the metric store on a thread of its own', () => {
  it('answers every call as the store on the main thread does, and keeps what it stored', async () => {
    const { local, threaded, threadDir } = await both();
    const start = Math.floor((Date.now() - 60 * MINUTE) / MINUTE) * MINUTE;
    const series = [memoSeries('web', 'h1'), memoSeries('web', 'h2'), memoSeries('db', 'h1')];
    // Three batches of columns through the same series objects (the thread learns their names
    // once), with a gap in `db` so that a downsample with fill `null` answers nulls.
    for (let batch = 0; batch < 3; batch++) {
      const cols = { series: [] as SeriesMemo[], ts: [] as number[], values: [] as number[] };
      for (let step = 0; step < 10; step++) {
        const t = start + (batch * 10 + step) * 10_000;
        series.forEach((s, k) => {
          if (s.tags['app'] === 'db' && batch === 1) return;
          cols.series.push(s);
          cols.ts.push(t);
          cols.values.push(k + step / 4 + batch);
        });
      }
      const checkpoint = { stream: STREAM, offset: batch };
      await local.writeColumns!(cols, checkpoint);
      await threaded.writeColumns!(cols, checkpoint);
      expect(threaded.durableUpTo!(STREAM)).toBe(local.durableUpTo!(STREAM));
    }
    // Points as objects, of a new series and of a known one.
    const points: MetricPoint[] = [
      { metric: 'container.mem.rss', tags: { app: 'web', host: 'h1' }, ts: start, value: 4096 },
      { metric: 'container.cpu.usage', tags: { app: 'web', host: 'h1' }, ts: start + 300_000, value: 7 },
    ];
    await local.write(points, { stream: STREAM, offset: 3 });
    await threaded.write(points, { stream: STREAM, offset: 3 });

    const query: MetricQuery = {
      start,
      end: start + 400_000,
      queries: [
        sub({ downsample: { intervalMs: MINUTE, aggregator: 'avg', fill: 'null' } }),
        sub({ rate: true }),
      ],
      msResolution: true,
      showQuery: false,
    };
    const expected = await local.query(query);
    expect(expected.some((r) => r.dps.some(([, v]) => v === null))).toBe(true);
    expect(await threaded.query(query)).toEqual(expected);
    // The JSON the thread writes is the one the API writes from the answer.
    const json = new TextDecoder().decode(await threaded.queryJson!(query));
    expect(json).toBe(toOpenTsdbJson(expected, query));
    expect(JSON.parse(json)).toHaveLength(expected.length);
    expect(await threaded.query(query, { projects: ['nobody'] })).toEqual(
      await local.query(query, { projects: ['nobody'] }),
    );
    expect(await threaded.suggest('tagv', '', 10)).toEqual(await local.suggest('tagv', '', 10));
    expect(await threaded.suggest('metrics', 'container.m', 10)).toEqual(['container.mem.rss']);
    expect(await threaded.lookup('*', {}, 100)).toEqual(await local.lookup('*', {}, 100));
    expect(await threaded.checkpoint(STREAM)).toBe(await local.checkpoint(STREAM));
    expect(threaded.durableUpTo!(STREAM)).toBe(local.durableUpTo!(STREAM));
    expect(threaded.stats()).toEqual(local.stats());
    expect(await threaded.diskBytes()).toBeGreaterThan(0);

    // A clean stop seals every open point into the file: a new thread on the same dir has them all.
    await threaded.close();
    const again = await createThreadedMetricStore({ dataDir: threadDir, logger: silentLogger, ...settings });
    cleanups.push(() => again.close());
    expect(await again.query(query)).toEqual(expected);
    expect(again.stats().series).toBe(4);
  });

  it('gives back the store’s own error, with its code and where', async () => {
    const { threaded } = await both();
    const query: MetricQuery = {
      start: 0,
      end: Date.now(),
      queries: [sub({ filters: [{ type: 'regexp', tagk: 'app', filter: 'web(', groupBy: false }] })],
      msResolution: false,
      showQuery: false,
    };
    const err = await threaded.query(query).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('INVALID_QUERY');
    expect((err as HubError).message).toContain('invalid regexp "web("');
    // The thread goes on answering.
    expect(await threaded.suggest('metrics', '', 10)).toEqual([]);
  });

  it('sends its log lines to the hub’s logger', async () => {
    const logger = createMemoryLogger();
    const store = await createThreadedMetricStore({ dataDir: await dir(), logger, ...settings });
    cleanups.push(() => store.close());
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'info', msg: 'metric store opened', series: 0 }),
    );
  });

  it('fails to open as the store does, saying why, and refuses calls once closed', async () => {
    const file = join(await dir(), 'not-a-dir');
    await writeFile(file, 'x');
    const err = await createThreadedMetricStore({ dataDir: file, logger: silentLogger }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).message).toMatch(/not-a-dir/);

    const store = await createThreadedMetricStore({
      dataDir: await dir(),
      logger: silentLogger,
      ...settings,
    });
    await store.close();
    const late = await store.suggest('metrics', '', 10).catch((e: unknown) => e);
    expect((late as HubError).code).toBe('UNAVAILABLE');
  });
});
