/**
 * The tracing pipeline (`createTracing`) on a real OpenSearch 2.19 node (127.0.0.1:9200,
 * `scripts/engines/opensearch.sh start`), and through the Elasticsearch client on the
 * Elasticsearch contract server, next to the same pipeline on the embedded store: the same
 * Zipkin v2 spans go in over HTTP to each, and every read the Zipkin and search APIs offer must
 * answer the same. The pieces are built here (embedded Bus, `createTracing` with `spanStore` from
 * the hub's config section, the Zipkin router) because `bin/hub.ts` does not pass it through yet.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from '../../core/clock.ts';
import { loadConfig } from '../../core/config.ts';
import { silentLogger } from '../../core/logger.ts';
import { createEmbeddedBus } from '../../pipeline/bus/embedded/embedded-bus.ts';
import type { LinkDelta } from '../../tracing/assembler/assembler.ts';
import type { TraceSpan } from '../../tracing/model.ts';
import { dailyIndex } from '../../tracing/store/elastic/elastic-dsl.ts';
import {
  type ElasticsearchContractServer,
  startElasticsearchContractServer,
} from '../../tracing/store/elastic/elasticsearch-contract-server.ts';
import { createExternalTraceStore } from '../../tracing/store/external-trace-store.ts';
import { createTracing, spanStoreOptions, type Tracing } from '../../tracing/tracing.ts';
import { engineSkip, OPENSEARCH } from '../engines.ts';
import { tempDir } from '../harness.ts';
import { errorHandler, standInAuth } from './harness.ts';

const NODE = OPENSEARCH;
const PREFIX = `obs-hub-${randomBytes(4).toString('hex')}`;

const skip = (await engineSkip('the tracing-on-OpenSearch tests', ['opensearch'])) !== undefined;

type Server = { url: string; tracing: Tracing; stored(n: number): Promise<void>; stop(): Promise<void> };

type Backend = { kind: 'opensearch' | 'elasticsearch'; url: string };

/** The `tracing` section of the hub's config for a backend, as a user would write it. */
function tracingConfig(backend: Backend) {
  const base = loadConfig({ env: {}, flags: { port: 0, telnetPort: 0 } }).tracing;
  return {
    ...base,
    store: backend.kind,
    elastic: { url: backend.url, indexPrefix: PREFIX, retentionDays: 7 },
  };
}

async function startServer(backend?: Backend): Promise<Server> {
  const tmp = await tempDir('obs-os-hub-');
  const bus = await createEmbeddedBus({ dir: `${tmp.dir}/bus`, clock: systemClock, pollMs: 20 });
  const tracing = await createTracing({
    bus,
    dataDir: tmp.dir,
    clock: systemClock,
    logger: silentLogger,
    auth: standInAuth,
    projectOfService: (s) => (s === 'secret' ? 'hidden' : 'shop'),
    decodeThreads: 0,
    ...(backend
      ? {
          spanStore: {
            ...spanStoreOptions(tracingConfig(backend))!,
            refresh: 'wait_for' as const,
            replicas: 0,
          },
        }
      : {}),
  });
  const app = express();
  app.use(tracing.router);
  app.use(errorHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tracing,
    async stored(n) {
      const until = Date.now() + 20_000;
      while (tracing.ingest.stats().stored < n) {
        if (Date.now() > until) throw new Error(`only ${tracing.ingest.stats().stored} of ${n} spans stored`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tracing.close();
      await bus.close();
      await tmp.cleanup();
    },
  };
}

const NOW_US = Date.now() * 1000;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** Trace i: web → api (shared span) → db or cache; every third fails, some retry, some are slow. */
function zipkinTrace(i: number): Record<string, unknown>[] {
  const traceId = hex(0xabc000 + i, 32);
  const t = NOW_US - (i + 1) * 7_000_000;
  const fail = i % 3 === 0;
  const store = i % 2 === 0 ? 'db' : 'cache';
  const slow = i % 4 === 1 ? 400_000 : 0;
  return [
    {
      traceId,
      id: hex(i * 16 + 1, 16),
      name: i % 2 === 0 ? 'get /items' : 'post /cart',
      kind: 'SERVER',
      timestamp: t,
      duration: 50_000 + slow + i,
      localEndpoint: { serviceName: 'web', ipv4: '10.0.0.1' },
      tags: { 'http.path': i % 2 === 0 ? '/items' : '/cart', env: i < 6 ? 'prod' : 'stage' },
    },
    {
      traceId,
      id: hex(i * 16 + 2, 16),
      parentId: hex(i * 16 + 1, 16),
      name: 'call api',
      kind: 'CLIENT',
      timestamp: t + 1000,
      duration: 40_000 + slow,
      localEndpoint: { serviceName: 'web', ipv4: '10.0.0.1' },
      remoteEndpoint: { serviceName: 'api', ipv4: '10.0.0.2', port: 8080 },
    },
    {
      traceId,
      id: hex(i * 16 + 2, 16),
      parentId: hex(i * 16 + 1, 16),
      name: 'handle',
      kind: 'SERVER',
      shared: true,
      timestamp: t + 2000,
      duration: 30_000 + slow,
      localEndpoint: { serviceName: 'api', ipv4: '10.0.0.2', port: 8080 },
      tags: fail ? { 'http.status_code': '500', error: 'boom' } : { 'http.status_code': '200' },
      ...(i % 5 === 0 ? { annotations: [{ timestamp: t + 2500, value: 'retried' }] } : {}),
    },
    {
      traceId,
      id: hex(i * 16 + 3, 16),
      parentId: hex(i * 16 + 2, 16),
      name: store === 'db' ? 'select' : 'get',
      kind: 'CLIENT',
      timestamp: t + 3000,
      duration: 10_000 + i * 100,
      localEndpoint: { serviceName: 'api', ipv4: '10.0.0.2' },
      remoteEndpoint: { serviceName: store, ipv4: '10.0.0.9', port: 3306 },
    },
  ];
}

const TRACES = 12;
const SPANS = Array.from({ length: TRACES }, (_, i) => zipkinTrace(i)).flat();
const SECRET = [{ ...zipkinTrace(99)[0]!, localEndpoint: { serviceName: 'secret' } }];
const TRACE_IDS = Array.from({ length: TRACES }, (_, i) => hex(0xabc000 + i, 32));

async function get(base: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, { headers });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

async function postSpans(s: Server): Promise<void> {
  for (const body of [SPANS.slice(0, 20), SPANS.slice(20), SECRET]) {
    const res = await fetch(`${s.url}/api/v2/spans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
  }
  await s.stored(SPANS.length + SECRET.length);
}

let embedded: Server;
let contract: ElasticsearchContractServer;

beforeAll(async () => {
  embedded = await startServer();
  await postSpans(embedded);
  contract = await startElasticsearchContractServer();
}, 60_000);

afterAll(async () => {
  await embedded?.stop();
  await contract?.close();
  if (skip) return;
  await fetch(`${NODE}/${PREFIX}-*?expand_wildcards=all`, { method: 'DELETE' });
  for (const kind of ['spans', 'links'])
    await fetch(`${NODE}/_index_template/${PREFIX}-${kind}`, { method: 'DELETE' });
});

const BACKENDS = [
  { name: 'OpenSearch 2.19', kind: 'opensearch' as const, skip, url: () => NODE },
  {
    name: 'the Elasticsearch contract server',
    kind: 'elasticsearch' as const,
    skip: false,
    url: () => contract.url,
  },
].filter((b) => !b.skip);

describe.each(BACKENDS)('tracing on $name answers as the embedded store does', (backend) => {
  let external: Server;

  beforeAll(async () => {
    external = await startServer({ kind: backend.kind, url: backend.url() });
    await postSpans(external);
  }, 60_000);

  afterAll(async () => {
    await external?.stop();
  });

  /** Asks the embedded and the external hub; the answers must be equal. */
  async function same(path: string, headers: Record<string, string> = {}): Promise<unknown> {
    const [a, b] = await Promise.all([get(embedded.url, path, headers), get(external.url, path, headers)]);
    expect(b.status, `${path} on ${backend.name}`).toBe(a.status);
    expect(b.body, path).toEqual(a.body);
    return a.body;
  }

  it('lists services, span names and remote services', async () => {
    expect(await same('/api/v2/services')).toEqual(['api', 'secret', 'web']);
    expect(await same('/api/v2/spans?serviceName=web')).toEqual(['call api', 'get /items', 'post /cart']);
    expect(await same('/api/v2/spans?serviceName=api')).toEqual(['get', 'handle', 'select']);
    expect(await same('/api/v2/remoteServices?serviceName=api')).toEqual(['cache', 'db']);
    expect(await same('/api/v2/spans?serviceName=nobody')).toEqual([]);
    expect(await same('/api/v2/services', { 'x-test-projects': 'shop' })).toEqual(['api', 'web']);
  });

  it('gives back each trace by id, and 404 for an unknown one', async () => {
    for (const id of TRACE_IDS) expect(await same(`/api/v2/trace/${id}`)).toHaveLength(4);
    await same(`/api/v2/trace/${hex(0xdead, 32)}`);
    const many = await same(`/api/v2/traceMany?traceIds=${TRACE_IDS.slice(0, 3).join(',')}`);
    expect(many).toHaveLength(3);
  });

  it.each([
    ['serviceName=web&limit=5', 5],
    ['serviceName=api&limit=100', TRACES],
    ['serviceName=web&spanName=post%20/cart', TRACES / 2],
    ['serviceName=web&remoteServiceName=api&limit=3', 3],
    ['annotationQuery=error', 4],
    ['annotationQuery=http.status_code%3D200%20and%20retried', 2],
    ['annotationQuery=retried', 3],
    ['minDuration=400000', 3],
    ['minDuration=40000&maxDuration=40010', 9],
    ['serviceName=secret', 1],
  ])('finds traces: /api/v2/traces?%s', async (query, count) => {
    const traces = (await same(`/api/v2/traces?${query}`)) as unknown[];
    expect(traces).toHaveLength(count);
  });

  it.each([
    ['error', 4],
    ['NOT error AND service=api', TRACES],
    ['NOT service=web AND NOT error', TRACES + 1],
    ['service=api AND NOT (error OR name=get OR name=select)', TRACES - 4],
    ['service=web name=get*', TRACES / 2],
    // Trace 99 (service secret) is a post /cart too.
    ['(name="post /cart" OR name=select) AND duration>=50003us', 7],
    ['http.path=/it* OR env=stage', 10],
    ['env!=prod kind=server service=web', 6],
    ['remoteService=db duration<10300us', 2],
    ['duration=450005us OR duration!=450005us traceId=*0b', 2],
    ['retried', 3],
    ['http.status_code', TRACES],
    ['tag:error=bo*', 4],
    // `?` is no wildcard in our language: it must not match "boom".
    ['tag:error=boo?', 0],
  ])('searches: /api/traces/search?q=%s', async (q, count) => {
    const body = (await same(`/api/traces/search?limit=100&q=${encodeURIComponent(q)}`)) as {
      traces: unknown[];
    };
    expect(body.traces).toHaveLength(count);
  });

  it('hides what the caller may not see', async () => {
    const mine = (await same('/api/v2/traces?limit=100', { 'x-test-projects': 'shop' })) as unknown[];
    expect(mine).toHaveLength(TRACES);
  });

  it('draws the same dependency links', async () => {
    const links = await same(`/api/v2/dependencies?endTs=${Date.now()}&lookback=3600000`);
    expect(links).toEqual([
      { parent: 'api', child: 'cache', callCount: TRACES / 2, errorCount: 0 },
      { parent: 'api', child: 'db', callCount: TRACES / 2, errorCount: 0 },
      { parent: 'web', child: 'api', callCount: TRACES, errorCount: 4 },
    ]);
    expect(await same(`/api/v2/dependencies?endTs=${Date.now() - 7_200_000}&lookback=60000`)).toEqual([]);
  });

  it('refuses a search it cannot answer exactly with a 400 that says why', async () => {
    const res = await get(external.url, `/api/traces/search?q=${encodeURIComponent('"a=b"=c')}`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('cannot search exactly');
    expect((await get(embedded.url, `/api/traces/search?q=${encodeURIComponent('"a=b"=c')}`)).status).toBe(
      200,
    );
  });
});

describe.skipIf(skip)('the OpenSearch trace store', () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 10, 12));
  const prefix = `${PREFIX}-w`;
  const span = (id: number): TraceSpan => ({
    traceId: hex(0xfeed, 32),
    spanId: hex(id, 16),
    name: 'op',
    kind: 'server',
    service: 'solo',
    start: clock.now() * 1000,
    duration: 5,
    tags: {},
    annotations: [],
    error: false,
  });
  const delta: LinkDelta = { bucket: clock.now(), parent: 'a', child: 'b', calls: 3, errors: 1 };

  it('stores a batch written again (a replay after a crash) once', async () => {
    const store = createExternalTraceStore({
      kind: 'opensearch',
      url: NODE,
      indexPrefix: prefix,
      refresh: true,
      replicas: 0,
      clock,
      logger: silentLogger,
    });
    try {
      expect(await store.checkpoint('spans/0')).toBe(-1);
      for (let i = 0; i < 2; i++)
        await store.write([span(1), span(2)], { stream: 'spans/0', offset: 7 }, [delta]);
      await store.write([span(3)], { stream: 'spans/0', offset: 8 }, [{ ...delta, calls: 1, errors: 0 }]);
      expect((await store.getTrace(hex(0xfeed, 32))).map((s) => s.spanId)).toEqual(
        [1, 2, 3].map((i) => hex(i, 16)),
      );
      const day = clock.now() - (clock.now() % 86_400_000);
      expect(await store.links(day, day + 86_400_000)).toEqual([
        { parent: 'a', child: 'b', callCount: 4, errorCount: 1 },
      ]);
    } finally {
      await store.close();
    }
  });

  it('drops link indices past retention', async () => {
    const later = new FakeClock(clock.now() + 3 * 86_400_000);
    const store = createExternalTraceStore({
      kind: 'opensearch',
      url: NODE,
      indexPrefix: prefix,
      retentionDays: 1,
      replicas: 0,
      clock: later,
      logger: silentLogger,
    });
    try {
      const gone = await store.enforceRetention();
      expect(gone).toContain(dailyIndex(prefix, 'links', clock.now()));
      expect(gone).toContain(dailyIndex(prefix, 'spans', clock.now()));
    } finally {
      await store.close();
    }
  });
});
