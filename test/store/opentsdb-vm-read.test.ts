/**
 * The OpenTSDB MetricStore adapter reading from a real VictoriaMetrics through its Prometheus API
 * (`promReadUrl`): points written through the adapter's OpenTSDB put are read back, and every
 * answer is compared with the hub's own embedded store given the same points.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import type { ProjectScope } from '../../core/ports.ts';
import type { MetricQuery } from '../../core/query.ts';
import { parseMetricExpression } from '../../pipeline/query/m-syntax.ts';
import {
  createEmbeddedMetricStore,
  type EmbeddedMetricStore,
} from '../../pipeline/store/embedded/embedded-metric-store.ts';
import {
  createOpenTsdbMetricStore,
  type OpenTsdbMetricStore,
} from '../../pipeline/store/opentsdb/opentsdb-metric-store.ts';
import { engineSkip, VM_HTTP, VM_PUT } from '../engines.ts';
import { eventually, freePort, tempDir } from '../harness.ts';

const missing = await engineSkip('the OpenTSDB adapter reading VictoriaMetrics', ['victoria-metrics']);
const skipNote = missing ? ` (skipped: ${missing})` : '';

/** Unique per run: the shared engine keeps every earlier run's series. */
const RUN = `vmr.t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const CPU = `${RUN}.cpu`;
const REQS = `${RUN}.reqs`;
const P1 = `${RUN}-p1`;
const P2 = `${RUN}-p2`;
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
const END = T0 + 20 * 60_000;

/** 6 hosts over 3 apps and 2 projects; points every 10 s with ms jitter and a gap per host, a counter for rate. */
function makePoints(): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let h = 0; h < 6; h++) {
    const tags: Record<string, string> = {
      host: `web.${h}`,
      app: ['api', 'db', 'api-v2'][h % 3]!,
      project: h < 4 ? P1 : P2,
    };
    // One series with an extra key, for explicit_tags.
    if (h === 5) tags['rack'] = 'r1';
    let counter = h * 100;
    for (let i = 0; i < 120; i++) {
      if (i >= 30 + h * 5 && i < 40 + h * 5) continue;
      const ts = T0 + i * 10_000 + ((h * 37 + i * 13) % 1000);
      counter += (i % 7) + h;
      if (h === 5 && i === 80) counter = 3;
      points.push({ metric: CPU, tags, ts, value: h * 10 + (i % 9) * 0.25 });
      points.push({ metric: REQS, tags, ts, value: counter });
    }
  }
  points.push({
    metric: `${CPU}.odd`,
    tags: { 'k-dash': 'x', 'k.dot': 'y/q', project: P1 },
    ts: T0 + 5,
    value: 1,
  });
  return points;
}

const q = (ms: string[], over: Partial<MetricQuery> = {}): MetricQuery => ({
  start: T0,
  end: END,
  queries: ms.map((m, i) => parseMetricExpression(m, i)),
  msResolution: true,
  showQuery: false,
  ...over,
});

let embedded: EmbeddedMetricStore;
let vm: OpenTsdbMetricStore;
let cleanup: () => Promise<void> = async () => {};

describe.skipIf(missing)(`OpenTSDB adapter reading VictoriaMetrics through promReadUrl${skipNote}`, () => {
  beforeAll(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    embedded = await createEmbeddedMetricStore({
      dataDir: tmp.dir,
      clock: systemClock,
      logger: silentLogger,
      maintenanceIntervalMs: 0,
    });
    vm = createOpenTsdbMetricStore({ url: VM_PUT, promReadUrl: VM_HTTP, logger: silentLogger });
    const points = makePoints();
    await embedded.write(points);
    await vm.write(points);
    expect(vm.stats()).toMatchObject({ written: points.length, rejected: 0 });
    await fetch(`${VM_HTTP}/internal/force_flush`);
    // Freshly written series take a flush to be searchable.
    await eventually(async () => {
      await fetch(`${VM_HTTP}/internal/force_flush`);
      expect(await vm.lookup('*', { project: '*' }, 1000, { projects: [P1, P2] })).toHaveLength(13);
    }, 20_000);
  }, 30_000);

  afterAll(async () => {
    await vm?.close();
    await embedded?.close();
    await cleanup();
  });

  const same = async (query: MetricQuery, scope?: ProjectScope) => {
    const want = await embedded.query(query, scope);
    const got = await vm.query(query, scope);
    expect(got).toEqual(want);
    return got;
  };

  it.each([
    ['sum by app', [`sum:${CPU}{app=*}`], 3],
    ['avg of literal_or hosts, no grouping', [`avg:${CPU}{host=literal_or(web.1|web.4)}`], 2],
    ['downsample 1m-avg with zero fill, by host', [`sum:1m-avg-zero:${CPU}{host=*}`], 6],
    ['downsample 2m-max with null fill', [`max:2m-max-null:${CPU}{app=api}`], 1],
    ['counter rate with reset, summed by project', [`sum:rate{counter}:${REQS}{project=*}`], 2],
    ['rate then downsample, by host wildcard', [`sum:1m-sum:rate:${REQS}{host=wildcard(web.*)}`], 6],
    ['wildcard filter on app', [`sum:${CPU}{app=wildcard(api*)}`], 2],
    [
      'iliteral_or, not_literal_or and regexp (filtered after the fetch)',
      [
        `sum:${CPU}{app=iliteral_or(API|DB)}`,
        `sum:${CPU}{host=not_literal_or(web.0|web.1)}`,
        `sum:${CPU}{host=regexp(web\\.[24])}`,
      ],
      8,
    ],
    ['none aggregator lists every series', [`none:${CPU}{project=literal_or(${P2})}`], 2],
    [
      'explicit tags keeps only series with exactly the filtered keys',
      [`none:explicit_tags:${CPU}{host=*,app=*,project=*}`],
      5,
    ],
  ])('%s: equal to the embedded store (%j, %i series)', async (_name, ms, count) => {
    const got = await same(q(ms));
    expect(got).toHaveLength(count);
    expect(got.some((r) => r.dps.length > 0)).toBe(true);
  });

  it('answers in seconds like the embedded store when msResolution is off', async () => {
    await same(q([`sum:${CPU}{app=db}`], { msResolution: false }));
  });

  it('honours the project scope: only series of the given projects, none for an empty scope', async () => {
    const scoped = await same(q([`sum:${CPU}{project=*}`]), { projects: [P2] });
    expect(scoped.map((r) => r.tags['project'])).toEqual([P2]);
    await same(q([`sum:${CPU}{host=*}`]), { projects: [P1] });
    expect(await vm.query(q([`sum:${CPU}`]), { projects: [] })).toEqual([]);
  });

  it('reads only inside the query range (a window in the middle)', async () => {
    const got = await same(q([`sum:${CPU}{host=web.2}`], { start: T0 + 300_000, end: T0 + 420_000 }));
    for (const [t] of got[0]!.dps) expect(t).toBeGreaterThanOrEqual(T0 + 300_000);
  });

  it.each<['metrics' | 'tagk' | 'tagv', string, number, ProjectScope | undefined]>([
    ['metrics', RUN, 10, undefined],
    ['metrics', `${RUN}.c`, 1, undefined],
    ['metrics', RUN, 10, { projects: [P2] }],
    ['tagk', '', 50, { projects: [P1] }],
    ['tagk', 'k', 50, { projects: [P1, P2] }],
    ['tagv', 'web.', 3, { projects: [P2] }],
    ['tagv', RUN, 10, { projects: [P1] }],
    ['tagv', 'api', 10, { projects: [P1, P2] }],
  ])('suggest %s %j (max %i, scope %j) equals the embedded store', async (type, prefix, max, scope) => {
    const want = await embedded.suggest(type, prefix, max, scope);
    expect(want.length).toBeGreaterThan(0);
    expect(await vm.suggest(type, prefix, max, scope)).toEqual(want);
  });

  it.each<[string, Record<string, string>, ProjectScope | undefined]>([
    [CPU, {}, undefined],
    [CPU, { app: 'api' }, undefined],
    [REQS, { host: '*' }, { projects: [P2] }],
    ['*', { '*': 'db' }, { projects: [P1, P2] }],
    [`${CPU}.odd`, { 'k-dash': 'x' }, undefined],
  ])('lookup %s %j (scope %j) finds the series the embedded store finds', async (metric, tags, scope) => {
    const key = (r: { metric: string; tags: Record<string, string> }) =>
      `${r.metric} ${JSON.stringify(Object.entries(r.tags).sort())}`;
    const want = (await embedded.lookup(metric, tags, 1000, scope)).map(key).sort();
    expect(want.length).toBeGreaterThan(0);
    const got = await vm.lookup(metric, tags, 1000, scope);
    expect(got.map(key).sort()).toEqual(want);
    expect(new Set(got.map((r) => r.tsuid)).size).toBe(got.length);
  });

  it('fails with UNAVAILABLE (canRetry) naming the call when nothing answers at promReadUrl', async () => {
    const port = await freePort();
    const s = createOpenTsdbMetricStore({
      url: VM_PUT,
      promReadUrl: `http://127.0.0.1:${port}`,
      retry: { attempts: 2, baseMs: 5 },
      logger: silentLogger,
    });
    const error = await s.query(q([`sum:${CPU}`])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', canRetry: true });
    expect((error as Error).message).toMatch(/\/api\/v1\/export .*ECONNREFUSED/);
    await s.close();
  });

  it('fails with UPSTREAM_FAILED saying what VictoriaMetrics answered to a call it refuses', async () => {
    const s = createOpenTsdbMetricStore({
      url: VM_PUT,
      promReadUrl: `${VM_HTTP}/nope`,
      logger: silentLogger,
    });
    await expect(s.suggest('metrics', '', 5)).rejects.toMatchObject({
      code: 'UPSTREAM_FAILED',
      message: expect.stringMatching(/\/nope\/api\/v1\/label\/__name__\/values.* answered 4\d\d/),
    });
    await s.close();
  });
});
