/**
 * The OpenTSDB MetricStore adapter's read path and per-point refusals, against a real hub speaking
 * OpenTSDB's HTTP API (VictoriaMetrics serves no `/api/query`). Every answer the adapter gives is
 * compared with what the hub's own store answers for the same query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryLogger, silentLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import type { ProjectScope } from '../../core/ports.ts';
import type { MetricQuery, SubQuery } from '../../core/query.ts';
import {
  createOpenTsdbMetricStore,
  type OpenTsdbMetricStore,
} from '../../pipeline/store/opentsdb/opentsdb-metric-store.ts';
import { eventually, postJson, startTestHub, type TestHub } from '../harness.ts';

// Whole minutes, within the hub's hot window.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
const HUB_MAX_TAGS = 3;
const HUB_SERIES_PER_PROJECT = 4;

let hub: TestHub;
let capped: TestHub;
let adapter: OpenTsdbMetricStore;

const sub = (over: Partial<SubQuery> = {}): SubQuery => ({
  metric: 'rd.cpu',
  aggregator: 'sum',
  rate: false,
  filters: [],
  explicitTags: false,
  ...over,
});
const q = (queries: SubQuery[], over: Partial<MetricQuery> = {}): MetricQuery => ({
  start: T0,
  end: T0 + 600_000,
  queries,
  msResolution: true,
  showQuery: false,
  ...over,
});

/** Seeds through the hub's own `/api/put`, as any OpenTSDB client would. */
function seed(): object[] {
  const out: object[] = [];
  const hosts = [
    ['a', 'p1'],
    ['b', 'p1'],
    ['c', 'p2'],
  ] as const;
  hosts.forEach(([host, project], h) => {
    for (let i = 0; i < 40; i++) {
      const ts = T0 + i * 10_000 + ((h * 250 + i * 7) % 1000);
      out.push({ metric: 'rd.cpu', timestamp: ts, value: h * 10 + i / 4, tags: { host, project } });
      out.push({
        metric: 'rd.bytes',
        timestamp: T0 + i * 15_000,
        value: 1000 * h + i * i * 3,
        tags: { host, project },
      });
    }
  });
  return out;
}

beforeAll(async () => {
  hub = await startTestHub();
  // A second hub with tight limits, to make the server refuse points the adapter finds valid.
  capped = await startTestHub({
    maxTags: HUB_MAX_TAGS,
    limits: { maxSeriesPerProject: HUB_SERIES_PER_PROJECT },
  });
  adapter = createOpenTsdbMetricStore({ url: hub.url, logger: silentLogger });
  const body = seed();
  const r = await postJson(`${hub.url}api/put`, body);
  expect(r.status).toBe(204);
  await eventually(async () => {
    const all = await hub.store.query(q([sub({ aggregator: 'count', metric: 'rd.bytes' })]));
    expect(all[0]!.dps.length).toBe(40);
    const cpu = await hub.store.query(q([sub({ aggregator: 'none' })]));
    expect(cpu.reduce((n, s) => n + s.dps.length, 0)).toBe(120);
  });
});

afterAll(async () => {
  await adapter?.close();
  await hub?.stop();
  await capped?.stop();
});

const groupByHost = { type: 'wildcard', tagk: 'host', filter: '*', groupBy: true } as const;
const cases: [string, MetricQuery, ProjectScope?][] = [
  ['a sum over every series', q([sub()])],
  ['a group-by on host with a wildcard filter', q([sub({ filters: [groupByHost] })])],
  [
    'avg downsampled to 1 m with zero fill',
    q([sub({ aggregator: 'avg', downsample: { intervalMs: 60_000, aggregator: 'avg', fill: 'zero' } })]),
  ],
  [
    'a counter rate per host',
    q([
      sub({
        metric: 'rd.bytes',
        rate: true,
        rateOptions: { counter: true, dropResets: false },
        filters: [groupByHost],
      }),
    ]),
  ],
  [
    'seconds resolution, ms points merged per second',
    q([sub({ aggregator: 'max' })], { msResolution: false }),
  ],
  [
    'two sub-queries, each series tied to its own',
    q([
      sub({ metric: 'rd.bytes' }),
      sub({
        aggregator: 'none',
        filters: [{ type: 'literal_or', tagk: 'host', filter: 'a|c', groupBy: false }],
      }),
    ]),
  ],
  ['a project scope', q([sub({ filters: [groupByHost] })]), { projects: ['p1'] }],
];

describe('OpenTSDB adapter reading from a hub', () => {
  it.each(cases)('answers %s exactly as the hub’s own store', async (_name, query, scope) => {
    const expected = await hub.store.query(query, scope);
    expect(expected.length).toBeGreaterThan(0);
    expect(await adapter.query(query, scope)).toEqual(expected);
  });

  it('answers nothing for a series outside the scope, though the filter asks for it', async () => {
    const hostC = q([sub({ filters: [{ type: 'literal_or', tagk: 'host', filter: 'c', groupBy: true }] })]);
    expect((await adapter.query(hostC)).map((r) => r.tags)).toEqual([{ host: 'c', project: 'p2' }]);
    expect(await adapter.query(hostC, { projects: ['p1'] })).toEqual([]);
  });

  it('answers nothing for an empty scope without asking the server', async () => {
    const offline = createOpenTsdbMetricStore({ url: 'http://127.0.0.1:9', logger: silentLogger });
    expect(await offline.query(q([sub()]), { projects: [] })).toEqual([]);
  });

  it('suggests metrics, tag keys and values as the hub does, also within a scope', async () => {
    for (const [type, prefix] of [
      ['metrics', 'rd.'],
      ['tagk', ''],
      ['tagv', ''],
    ] as const) {
      expect(await adapter.suggest(type, prefix, 10)).toEqual(await hub.store.suggest(type, prefix, 10));
      const scope = { projects: ['p2'] };
      expect(await adapter.suggest(type, prefix, 10, scope)).toEqual(
        await hub.store.suggest(type, prefix, 10, scope),
      );
    }
    expect(await adapter.suggest('tagv', '', 10, { projects: ['p2'] })).toEqual(['c', 'p2']);
  });

  it('looks series up as the hub does, also within a scope', async () => {
    const byHost = (await adapter.lookup('rd.cpu', { host: 'b' }, 10)).map((r) => r.tags);
    expect(byHost).toEqual([{ host: 'b', project: 'p1' }]);
    expect(await adapter.lookup('*', { host: '*' }, 100)).toEqual(
      await hub.store.lookup('*', { host: '*' }, 100),
    );
    const scope = { projects: ['p1'] };
    const scoped = await adapter.lookup('rd.cpu', {}, 100, scope);
    expect(scoped.map((r) => r.tags['host']).sort()).toEqual(['a', 'b']);
    expect(await adapter.lookup('rd.cpu', { project: 'p2' }, 100, scope)).toEqual([]);
  });

  it('turns a query the server refuses into INVALID_QUERY with its message', async () => {
    const bad = q([sub({ filters: [{ type: 'regexp', tagk: 'host', filter: '(', groupBy: false }] })]);
    await expect(adapter.query(bad)).rejects.toMatchObject({ code: 'INVALID_QUERY' });
  });
});

describe('OpenTSDB adapter writing to a hub', () => {
  it('stores a batch of 5 000 new series, read back whole (contract of the embedded store)', async () => {
    const points = Array.from({ length: 5000 }, (_, i) => ({
      metric: 'wr.many',
      tags: { c: `c${i}` },
      ts: T0 + 1000,
      value: i,
    }));
    const s = createOpenTsdbMetricStore({ url: hub.url, logger: silentLogger, batchSize: 1200 });
    await s.write(points);
    const query = q([sub({ metric: 'wr.many' })]);
    await eventually(async () =>
      expect((await s.query(query))[0]?.dps).toEqual([[T0 + 1000, (4999 * 5000) / 2]]),
    );
    expect(await s.checkpoint('metrics/0')).toBe(-1);
  });

  it('writing the same batch twice gives the same query answer as writing it once', async () => {
    const points: MetricPoint[] = Array.from({ length: 30 }, (_, i) => ({
      metric: 'wr.replay',
      tags: { host: `h${i % 3}` },
      ts: T0 + i * 1000,
      value: i * 1.5,
    }));
    const s = createOpenTsdbMetricStore({ url: hub.url, logger: silentLogger, batchSize: 7 });
    const query = q([sub({ metric: 'wr.replay', filters: [groupByHost] })]);
    await s.write(points);
    await eventually(async () => expect((await s.query(query)).flatMap((r) => r.dps)).toHaveLength(30));
    const once = await s.query(query);
    await s.write(points);
    // The hub stores through its bus: wait until a marker written after the replay is visible.
    await s.write([{ metric: 'wr.replay.marker', tags: { host: 'm' }, ts: T0, value: 1 }]);
    await eventually(async () =>
      expect(await s.query(q([sub({ metric: 'wr.replay.marker' })]))).toHaveLength(1),
    );
    expect(await s.query(query)).toEqual(once);
  });

  it('sends the points the server refuses, with its text, to onRejected; the good ones are stored', async () => {
    const rejected: [MetricPoint, string][] = [];
    const s = createOpenTsdbMetricStore({
      url: capped.url,
      logger: silentLogger,
      onRejected: (p, reason) => rejected.push([p, reason]),
    });
    const good = (i: number): MetricPoint => ({
      metric: 'wr.mixed',
      tags: { host: `g${i}`, project: 'cap' },
      ts: T0,
      value: i,
    });
    const tooManyTags: MetricPoint = {
      metric: 'wr.mixed',
      tags: { a: '1', b: '2', c: '3', d: '4' },
      ts: T0,
      value: 9,
    };
    const overLimit: MetricPoint = {
      ...good(HUB_SERIES_PER_PROJECT),
      tags: { host: 'extra', project: 'cap' },
    };
    const batch = [good(0), tooManyTags, good(1), good(2), good(3), overLimit];
    await s.write(batch);
    expect(rejected.map(([p]) => p)).toEqual([tooManyTags, overLimit]);
    expect(rejected[0]![1]).toMatch(/Too many tags: 4, the limit is 3/);
    expect(rejected[1]![1]).toMatch(/Series limit reached for project "cap"/);
    expect(s.stats()).toMatchObject({ written: 4, rejected: 2 });
    const query = q([sub({ metric: 'wr.mixed', aggregator: 'count' })]);
    await eventually(async () => expect((await s.query(query))[0]?.dps).toEqual([[T0, 4]]));
  });

  it('writes over the hub’s telnet port and reads the errors it answers', async () => {
    const logger = createMemoryLogger();
    const s = createOpenTsdbMetricStore({
      url: capped.url,
      telnet: { host: '127.0.0.1', port: capped.telnetPort },
      logger,
    });
    const points: MetricPoint[] = [
      { metric: 'wr.telnet', tags: { host: 'a' }, ts: T0 + 2000, value: 1 },
      { metric: 'wr.telnet', tags: { host: 'a', b: '1', c: '2', d: '3' }, ts: T0 + 2000, value: 1 },
      { metric: 'wr.telnet', tags: { host: 'a' }, ts: T0 + 3500, value: 2 },
    ];
    await s.write(points);
    await eventually(async () => expect(s.stats().telnetErrors).toBe(1));
    expect(logger.lines.find((l) => l['msg'] === 'telnet put refused')?.['reply']).toMatch(/Too many tags/);
    const query = q([sub({ metric: 'wr.telnet' })]);
    await eventually(async () =>
      expect((await s.query(query))[0]?.dps).toEqual([
        [T0 + 2000, 1],
        [T0 + 3500, 2],
      ]),
    );
    await s.close();
  });
});
