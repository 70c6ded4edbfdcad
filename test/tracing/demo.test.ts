/**
 * `npm run demo` end to end: a real hub, the push services in this process (HTTP pushapi, the
 * embedded Bus, the worker, three Thrift pushd on loopback ports) under load for a few seconds,
 * then everything checked through the hub's own APIs, as a user of the hub would see it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKER, type DemoStats, startDemo } from '../../tracing/demo/demo.ts';
import { eventually, startTestHub, type TestHub } from '../harness.ts';

type ZSpan = {
  traceId: string;
  id: string;
  parentId?: string;
  kind?: string;
  name: string;
  duration?: number;
  localEndpoint: { serviceName: string };
  remoteEndpoint?: { serviceName?: string; port?: number };
  tags?: Record<string, string>;
};

let hub: TestHub;
let stats: DemoStats;
let pushdPorts: number[];
let traces: ZSpan[][];

const SLOW_MS = 120;

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(new URL(path, hub.url));
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** The one span of `service` and `kind` in a trace. */
function one(trace: ZSpan[], service: string, kind: string): ZSpan {
  const found = trace.filter((s) => s.localEndpoint.serviceName === service && s.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} span of ${service}, found ${found.length}`);
  return found[0]!;
}

beforeAll(async () => {
  hub = await startTestHub();
  const demo = await startDemo({
    hub: hub.url,
    rate: 100,
    normalMs: [1, 5],
    slowMs: [SLOW_MS, SLOW_MS + 80],
  });
  pushdPorts = demo.pushd.map((d) => d.port);
  await new Promise((r) => setTimeout(r, 3000));
  stats = await demo.stop();
  expect(stats.spans).toMatchObject({ dropped: 0, failed: 0 });
  const expected = stats.pushapi.accepted;
  traces = await eventually(async () => {
    const end = Date.now();
    const found = await getJson<ZSpan[][]>(
      `api/v2/traces?serviceName=pushapi&limit=1000&lookback=600000&endTs=${end}`,
    );
    const complete = found.filter((t) => t.length === 5);
    if (complete.length < expected) throw new Error(`${complete.length} of ${expected} traces complete`);
    return found;
  }, 20_000);
}, 60_000);

afterAll(() => hub?.stop());

describe('push demo against a running hub', () => {
  it('ran the load it promises: ≈10 % slow, ≈5 % failing, all accepted and handled', () => {
    const { normal, slow, fail } = stats.load.sent;
    const total = normal + slow + fail;
    expect(total).toBeGreaterThan(150);
    expect(stats.load.errors).toBe(0);
    expect(stats.pushapi.accepted).toBe(total);
    expect(stats.worker.consumed).toBe(total);
    expect(stats.worker.failed).toBe(fail);
    expect(slow / total).toBeGreaterThan(0.03);
    expect(slow / total).toBeLessThan(0.2);
    expect(fail / total).toBeGreaterThan(0.005);
    expect(fail / total).toBeLessThan(0.12);
  });

  it('stores one trace per call: pushapi → bus → worker → Thrift → pushd, with the right parents', () => {
    expect(traces).toHaveLength(stats.pushapi.accepted);
    for (const t of traces) {
      const http = one(t, 'pushapi', 'SERVER');
      const produce = one(t, 'pushapi', 'PRODUCER');
      const consume = one(t, 'worker', 'CONSUMER');
      const call = one(t, 'worker', 'CLIENT');
      const serve = one(t, 'pushd', 'SERVER');
      expect(http.parentId).toBeUndefined();
      expect(http.name).toBe('POST /push');
      expect(produce.parentId).toBe(http.id);
      expect(consume.parentId).toBe(produce.id);
      expect(call.parentId).toBe(consume.id);
      expect(serve.parentId).toBe(call.id);
      expect([call.name, serve.name]).toEqual(['send', 'send']);
      expect(produce.remoteEndpoint?.serviceName).toBe(BROKER);
      expect(consume.remoteEndpoint?.serviceName).toBe(BROKER);
      expect(new Set(t.map((s) => s.traceId)).size).toBe(1);
    }
  });

  it('spreads calls over all three pushd, and sends the slow devices to the degraded one', () => {
    const byInstance = new Map<string, Set<number>>();
    for (const t of traces) {
      const serve = one(t, 'pushd', 'SERVER');
      const port = one(t, 'worker', 'CLIENT').remoteEndpoint?.port;
      const instance = serve.tags?.['pushd.instance'] ?? '?';
      byInstance.set(instance, (byInstance.get(instance) ?? new Set()).add(port!));
      if (one(t, 'worker', 'CONSUMER').tags?.['push.device']?.startsWith('slow-')) {
        expect(instance).toBe('pushd-3');
        // Node timers may fire up to a millisecond early.
        expect(serve.duration!, JSON.stringify(serve)).toBeGreaterThanOrEqual((SLOW_MS - 2) * 1000);
      }
    }
    expect([...byInstance.keys()].sort()).toEqual(['pushd-1', 'pushd-2', 'pushd-3']);
    // Each instance is reached on its own port, the one the demo started it on.
    expect([...byInstance.values()].map((ports) => [...ports])).toEqual(
      expect.arrayContaining(pushdPorts.map((p) => [p])),
    );
  });

  it('marks exactly the calls to devices that went away as failed, with the Thrift exception', () => {
    let failed = 0;
    for (const t of traces) {
      const consume = one(t, 'worker', 'CONSUMER');
      const gone = consume.tags?.['push.device']?.startsWith('gone-') === true;
      const call = one(t, 'worker', 'CLIENT');
      const serve = one(t, 'pushd', 'SERVER');
      expect(consume.tags?.['error'] !== undefined).toBe(gone);
      expect(call.tags?.['thrift.exception']).toBe(gone ? 'DeviceOffline' : undefined);
      expect(serve.tags?.['thrift.exception']).toBe(gone ? 'DeviceOffline' : undefined);
      if (gone) {
        failed++;
        expect(serve.tags?.['error']).toMatch(/has no open connection/);
        expect(one(t, 'pushapi', 'SERVER').tags?.['error']).toBeUndefined();
      }
    }
    expect(failed).toBe(stats.load.sent.fail);
  });

  it('draws the service map: pushapi → bus → worker → pushd, with the failures on the Thrift edge', async () => {
    const links = await eventually(async () => {
      const l = await getJson<{ parent: string; child: string; callCount: number; errorCount?: number }[]>(
        `api/v2/dependencies?endTs=${Date.now()}&lookback=600000`,
      );
      if (l.length < 3) throw new Error(`only ${l.length} links`);
      return l;
    });
    const calls = stats.pushapi.accepted;
    const edge = (parent: string, child: string) =>
      links.find((l) => l.parent === parent && l.child === child);
    expect(edge('pushapi', BROKER)).toMatchObject({ callCount: calls });
    expect(edge(BROKER, 'worker')).toMatchObject({ callCount: calls, errorCount: stats.worker.failed });
    expect(edge('worker', 'pushd')).toMatchObject({ callCount: calls, errorCount: stats.worker.failed });
    expect(links).toHaveLength(3);
  });

  it('writes the RED metrics of every service, queryable through /api/query', async () => {
    type Series = { tags: Record<string, string>; dps: Record<string, number> };
    const total = (series: Series[]) =>
      series.reduce((n, s) => n + Object.values(s.dps).reduce((a, b) => a + b, 0), 0);
    const query = (m: string) => getJson<Series[]>(`api/query?start=10m-ago&m=${encodeURIComponent(m)}`);
    const calls = stats.pushapi.accepted;
    // The assembler hands out RED points every 10 s: wait for the interval that saw the last span.
    await eventually(async () => {
      for (const [service, operation] of [
        ['pushapi', 'POST_/push'],
        ['worker', 'deliver'],
        ['pushd', 'send'],
      ]) {
        const n = total(await query(`sum:trace.requests{service=${service},operation=${operation}}`));
        if (n !== calls) throw new Error(`${service}: ${n} of ${calls} requests counted`);
      }
    }, 25_000);
    expect(total(await query('sum:trace.errors{service=pushd}'))).toBe(stats.worker.failed);
    expect(total(await query('sum:trace.errors{service=worker}'))).toBe(stats.worker.failed);
    expect(total(await query('sum:trace.errors{service=pushapi}'))).toBe(0);
    const p99 = await query('max:trace.duration.p99{service=pushd}');
    expect(Math.max(...p99.flatMap((s) => Object.values(s.dps)))).toBeGreaterThanOrEqual(SLOW_MS * 0.99);
  }, 40_000);
});
