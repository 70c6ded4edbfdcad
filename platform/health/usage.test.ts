import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { silentLogger } from '../../core/logger.ts';
import type { MetricPoint, Tags } from '../../core/model.ts';
import {
  createEmbeddedMetricStore,
  type EmbeddedMetricStore,
} from '../../pipeline/store/embedded/embedded-metric-store.ts';
import { tempDir } from '../../test/harness.ts';
import { evaluateContainer } from './evaluate.ts';
import { createHealthTracker } from './tracker.ts';
import { countFromRate, healthPoints, readAppTraffic, readContainerUsage, withTaskHealth } from './usage.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const GiB = 1024 ** 3;
const WINDOW = { start: NOW - 60_000, end: NOW };
/** Six samples 10 s apart, the last at NOW. */
const TIMES = [50, 40, 30, 20, 10, 0].map((s) => NOW - s * 1000);

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function openStore(): Promise<EmbeddedMetricStore> {
  const tmp = await tempDir();
  const store = await createEmbeddedMetricStore({
    dataDir: tmp.dir,
    clock: new FakeClock(NOW),
    logger: silentLogger,
    maintenanceIntervalMs: 0,
  });
  cleanups.push(tmp.cleanup, () => store.close());
  return store;
}

const series = (metric: string, tags: Tags, values: number[], times = TIMES): MetricPoint[] =>
  values.map((value, i) => ({ metric, tags, ts: times[i]!, value }));

describe('readContainerUsage', () => {
  it('reads each container’s usage over the window from the store', async () => {
    const store = await openStore();
    const a = { host: 'n1', project: 'shop', app: 'cart', task: 'cart.t1', container: 'c-a' };
    const b = { host: 'n2', project: 'shop', app: 'cart', task: 'cart.t2', container: 'c-b' };
    const bare = { host: 'n1', container: 'c-x' };
    await store.write([
      ...series('container.cpu.usage', a, [0.9, 1.0, 0.95, 0.95, 0.9, 1.0]),
      // Before the window: must not count.
      { metric: 'container.cpu.usage', tags: a, ts: NOW - 120_000, value: 0 },
      ...series('container.cpu.limit', a, [1, 1, 1, 1, 1, 1]),
      ...series('container.cpu.throttled', a, [0.2, 0.4, 0.3, 0.3, 0.2, 0.4]),
      ...series(
        'container.mem.working_set',
        a,
        [1, 1.2, 1.3, 1.4, 1.5, 1.6].map((g) => g * GiB),
      ),
      ...series(
        'container.mem.limit',
        a,
        [2, 2, 2, 2, 2, 2].map((g) => g * GiB),
      ),
      // The agent sends OOM kills as a per-second rate: 0.1/s over a 10 s interval is one kill.
      ...series('container.mem.oom_kills', a, [0, 0, 0.1, 0, 0, 0]),
      ...series('container.cpu.usage', b, [0.1, 0.3, 0.1, 0.3, 0.1, 0.3]),
      ...series(
        'container.mem.working_set',
        b,
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.25].map((g) => g * GiB),
      ),
      ...series('container.mem.oom_kills', b, [0, 0, 0, 0, 0, 0]),
      ...series('container.cpu.usage', bare, [2, 2, 2, 2, 2, 2]),
    ]);

    const usage = await readContainerUsage(store, WINDOW);
    expect(usage.map((u) => u.container)).toEqual(['c-a', 'c-b']);
    const [ua, ub] = usage;
    expect(ua!.cpu).toBeCloseTo(0.95, 10);
    expect(ua!.throttled).toBeCloseTo(0.3, 10);
    expect(ua).toMatchObject({
      appId: '/shop/cart',
      task: 'cart.t1',
      cpuLimit: 1,
      workingSet: 1.6 * GiB,
      memLimit: 2 * GiB,
      oomKills: 1,
    });
    expect(ub!.cpu).toBeCloseTo(0.2, 10);
    expect(ub).toMatchObject({ appId: '/shop/cart', task: 'cart.t2', workingSet: 0.25 * GiB, oomKills: 0 });
    expect(ub!.cpuLimit).toBeUndefined();

    // What the health loop makes of it: the OOM kill makes c-a unhealthy; c-b, at 0.2 of the
    // app's 0.25 cores, is healthy (below 90 %).
    expect(evaluateContainer(ua!).state).toBe('unhealthy');
    expect(evaluateContainer(ub!, undefined, 0.25).state).toBe('healthy');
    expect(evaluateContainer(ub!, undefined, 0.2).state).toBe('busy');
  });

  it('answers nothing for an empty window', async () => {
    const store = await openStore();
    expect(await readContainerUsage(store, WINDOW)).toEqual([]);
  });
});

describe('withTaskHealth', () => {
  it('adds the health checks of the task running in each container', () => {
    const usages = [
      { container: 'c-a', appId: '/shop/cart', task: 'cart.t1', cpu: 0.5 },
      { container: 'c-b', appId: '/shop/cart', cpu: 0.5 },
      { container: 'c-c', appId: '/shop/cart', task: 'cart.gone', cpu: 0.5 },
    ];
    const task = (id: string, healthChecks: boolean[], container?: string) => ({
      id,
      appId: '/shop/cart',
      host: 'n1',
      state: 'running' as const,
      healthChecks,
      ...(container ? { tags: { container } } : {}),
    });
    const out = withTaskHealth(usages, [task('cart.t1', [false]), task('cart.t2', [true, true], 'c-b')]);
    expect(out.map((u) => u.healthChecks)).toEqual([[false], [true, true], undefined]);
    expect(out.map((u) => evaluateContainer(u, undefined, 1).state)).toEqual([
      'unhealthy',
      'healthy',
      'healthy',
    ]);
  });
});

describe('countFromRate', () => {
  it.each<[string, number[], number[], number | undefined]>([
    ['no samples', [], [], undefined],
    ['all zero', [0, 10_000], [0, 0], 0],
    ['0.1/s for 10 s', [0, 10_000, 20_000], [0, 0.1, 0], 1],
    ['0.2/s over two 10 s intervals', [0, 10_000, 20_000], [0, 0.2, 0.2], 4],
    ['a lone positive sample counts one', [5_000], [0.01], 1],
    ['out of order', [20_000, 0, 10_000], [0, 0, 0.3], 3],
  ])('%s → %s', (_name, ts, values, want) => {
    expect(countFromRate(ts.length === 0 && want === undefined ? undefined : { ts, values })).toBe(want);
  });
});

describe('readAppTraffic', () => {
  it('matches vhosts to apps and sums their traffic over routing nodes', async () => {
    const store = await openStore();
    const r1 = { host: 'r1', vhost: 'cart', upstream: '10.0.0.7_31000' };
    const r2 = { host: 'r2', vhost: 'cart.example.com', upstream: '10.0.0.8_31000' };
    const tagged = { host: 'r1', vhost: 'api.example.com', upstream: 'u', project: 'shop', app: 'api' };
    const unknown = { host: 'r1', vhost: 'blog', upstream: 'u' };
    await store.write([
      ...series('nginx.request_time.p99', r1, [0.2, 0.2, 0.2, 0.2, 0.2, 0.2]),
      ...series('nginx.status.2xx', r1, [90, 90, 90, 90, 90, 90]),
      ...series('nginx.status.5xx', r1, [10, 10, 10, 10, 10, 10]),
      ...series('nginx.request_time.p99', r2, [0.4, 0.4, 0.4, 0.4, 0.4, 0.4]),
      ...series('nginx.status.2xx', r2, [100, 100, 100, 100, 100, 100]),
      ...series('nginx.status.3xx', tagged, [6, 6, 6, 6, 6, 6]),
      ...series('nginx.status.2xx', unknown, [1, 1, 1, 1, 1, 1]),
    ]);

    const traffic = await readAppTraffic(store, WINDOW, { appIds: ['/shop/cart', '/shop/api'] });
    expect([...traffic.keys()].sort()).toEqual(['/shop/api', '/shop/cart']);
    const cart = traffic.get('/shop/cart')!;
    // p99: mean of 6 × 0.2 and 6 × 0.4; 5xx: 60 of 1,200 answers; 1,200 answers in 60 s.
    expect(cart.latencyP99).toBeCloseTo(0.3, 10);
    expect(cart.errorRatio).toBeCloseTo(0.05, 10);
    expect(cart.rps).toBeCloseTo(20, 10);
    expect(traffic.get('/shop/api')).toEqual({ rps: 0.6, errorRatio: 0 });

    // The same app name in two projects: the vhost cannot tell which, so neither gets it.
    const ambiguous = await readAppTraffic(store, WINDOW, { appIds: ['/shop/cart', '/blog/cart'] });
    expect([...ambiguous.keys()]).toEqual(['/shop/api']);
  });
});

describe('healthPoints', () => {
  it('writes health as points that a rule can query back', async () => {
    const clock = new FakeClock(NOW - 1000);
    const tracker = createHealthTracker({ clock });
    const oom = { state: 'unhealthy' as const, reasons: [{ code: 'oom_kill', message: '1 OOM kill' }] };
    const events = [
      tracker.update('container', 'c-a', '/shop/cart', oom),
      tracker.update('container', 'c-b', '/shop/cart', { state: 'idle', reasons: [] }),
      tracker.update('app', '/shop/cart', '/shop/cart', { state: 'busy', reasons: [] }),
      tracker.update('app', '/shop/api/v2', '/shop/api/v2', { state: 'healthy', reasons: [] }),
      tracker.update('app', '/shop/new', '/shop/new', { state: 'unknown', reasons: [] }),
    ].filter((e) => e !== undefined);
    expect(events).toHaveLength(4);

    const points = healthPoints(tracker.snapshot(), NOW);
    expect(points).toEqual([
      {
        metric: 'platform.health',
        tags: { project: 'shop', app: 'cart', container: 'c-a' },
        ts: NOW,
        value: 3,
      },
      {
        metric: 'platform.health',
        tags: { project: 'shop', app: 'cart', container: 'c-b' },
        ts: NOW,
        value: 1,
      },
      { metric: 'platform.health', tags: { project: 'shop', app: 'cart' }, ts: NOW, value: 2 },
      { metric: 'platform.health', tags: { project: 'shop', app: 'api/v2' }, ts: NOW, value: 0 },
    ]);
    expect(healthPoints(events, NOW)).toEqual(points);

    const store = await openStore();
    await store.write(points);
    const worst = await store.query({
      start: NOW - 60_000,
      end: NOW,
      queries: [
        {
          metric: 'platform.health',
          aggregator: 'max',
          rate: false,
          filters: [{ type: 'literal_or', tagk: 'app', filter: 'cart', groupBy: true }],
          explicitTags: false,
        },
      ],
      msResolution: true,
      showQuery: false,
    });
    expect(worst.map((r) => r.dps)).toEqual([[[NOW, 3]]]);
  });
});
