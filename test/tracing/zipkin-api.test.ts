/**
 * The Zipkin v2 API over real HTTP, answers checked against the shapes of Zipkin's published
 * `zipkin2-api.yaml` (openzipkin/zipkin-api): Span, Endpoint, Annotation, ListOfSpans, Trace,
 * ListOfTraces, DependencyLink. Plus OTLP/HTTP JSON ingest, project visibility and our own
 * read model and search.
 *
 * One difference from the yaml, on purpose: `GET /api/v2/spans?serviceName=` answers span names
 * (strings), as Zipkin's server and Grafana do, where the yaml says `ListOfSpans`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracingServer, type TracingServer } from './harness.ts';

const HEX16 = /^[a-z0-9]{16}$/;
const TRACE_ID = /^[a-z0-9]{16,32}$/;
const SPAN_KEYS = new Set([
  'traceId',
  'name',
  'parentId',
  'id',
  'kind',
  'timestamp',
  'duration',
  'debug',
  'shared',
  'localEndpoint',
  'remoteEndpoint',
  'annotations',
  'tags',
]);

function expectEndpoint(e: unknown, where: string): void {
  expect(e, where).toBeTypeOf('object');
  for (const [k, v] of Object.entries(e as object)) {
    expect(['serviceName', 'ipv4', 'ipv6', 'port'], `${where}.${k}`).toContain(k);
    if (k === 'port') expect(Number.isInteger(v), `${where}.port`).toBe(true);
    else expect(v, `${where}.${k}`).toBeTypeOf('string');
    if (k === 'ipv4') expect(v).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    if (k === 'ipv6') expect(v).toContain(':');
  }
}

/** `definitions.Span` of zipkin2-api.yaml. */
function expectSpan(s: unknown, where = 'span'): void {
  expect(s, where).toBeTypeOf('object');
  const span = s as Record<string, unknown>;
  for (const k of Object.keys(span)) expect(SPAN_KEYS.has(k), `${where} has unknown field ${k}`).toBe(true);
  expect(span['traceId']).toMatch(TRACE_ID);
  expect(span['id']).toMatch(HEX16);
  if ('parentId' in span) expect(span['parentId']).toMatch(HEX16);
  if ('name' in span) expect(span['name']).toBeTypeOf('string');
  if ('kind' in span) expect(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER']).toContain(span['kind']);
  if ('timestamp' in span) expect(Number.isSafeInteger(span['timestamp'])).toBe(true);
  if ('duration' in span)
    expect((span['duration'] as number) >= 1 && Number.isSafeInteger(span['duration'])).toBe(true);
  for (const flag of ['debug', 'shared']) if (flag in span) expect(span[flag]).toBeTypeOf('boolean');
  for (const ep of ['localEndpoint', 'remoteEndpoint'])
    if (ep in span) expectEndpoint(span[ep], `${where}.${ep}`);
  if ('annotations' in span) {
    expect(Array.isArray(span['annotations'])).toBe(true);
    for (const a of span['annotations'] as Record<string, unknown>[]) {
      expect(Object.keys(a).sort()).toEqual(['timestamp', 'value']);
      expect(Number.isSafeInteger(a['timestamp'])).toBe(true);
      expect(a['value']).toBeTypeOf('string');
    }
  }
  if ('tags' in span) for (const v of Object.values(span['tags'] as object)) expect(v).toBeTypeOf('string');
}

function expectTrace(t: unknown): void {
  expect(Array.isArray(t)).toBe(true);
  for (const [i, s] of (t as unknown[]).entries()) expectSpan(s, `span[${i}]`);
  expect(new Set((t as { traceId: string }[]).map((s) => s.traceId)).size).toBe(1);
}

function expectStrings(v: unknown): void {
  expect(Array.isArray(v)).toBe(true);
  for (const s of v as unknown[]) expect(s).toBeTypeOf('string');
}

const NOW_US = Date.now() * 1000;
const T1 = '4e441824ec2b6a44ffdc9bb9a6453df3';
const T2 = '00000000000000005af7183fb1d4cf5f';

/** web (10.0.0.1) → api (10.0.0.2, clock 2 s behind) → mysql (uninstrumented). */
const trace1 = [
  {
    traceId: T1,
    id: '0000000000000001',
    name: 'get /',
    kind: 'SERVER',
    timestamp: NOW_US,
    duration: 10_000,
    localEndpoint: { serviceName: 'web', ipv4: '10.0.0.1' },
    tags: { 'http.path': '/' },
  },
  {
    traceId: T1,
    id: '0000000000000002',
    parentId: '0000000000000001',
    name: 'get /items',
    kind: 'CLIENT',
    timestamp: NOW_US + 1000,
    duration: 8000,
    localEndpoint: { serviceName: 'web', ipv4: '10.0.0.1' },
    remoteEndpoint: { serviceName: 'api', ipv4: '10.0.0.2', port: 8080 },
  },
  {
    traceId: T1,
    id: '0000000000000003',
    parentId: '0000000000000002',
    name: 'get /items',
    kind: 'SERVER',
    timestamp: NOW_US + 1000 - 2_000_000,
    duration: 6000,
    localEndpoint: { serviceName: 'api', ipv4: '10.0.0.2', port: 8080 },
    tags: { 'http.status_code': '500', error: 'boom' },
    annotations: [{ timestamp: NOW_US + 2000 - 2_000_000, value: 'retried' }],
  },
  {
    traceId: T1,
    id: '0000000000000004',
    parentId: '0000000000000003',
    name: 'select',
    kind: 'CLIENT',
    timestamp: NOW_US + 1500 - 2_000_000,
    duration: 3000,
    localEndpoint: { serviceName: 'api', ipv4: '10.0.0.2' },
    remoteEndpoint: { serviceName: 'mysql', ipv4: '10.0.0.9', port: 3306 },
  },
];

/** The example span of zipkin2-api.yaml (64-bit trace id), in the "infra" project. */
const trace2 = [
  {
    id: '352bff9a74ca9ad2',
    traceId: '5af7183fb1d4cf5f',
    name: 'get /api',
    timestamp: NOW_US - 60_000_000,
    duration: 1431,
    kind: 'SERVER',
    localEndpoint: { serviceName: 'backend', ipv4: '192.168.99.1', port: 3306 },
    remoteEndpoint: { ipv4: '172.19.0.2', port: 58648 },
    tags: { 'http.method': 'GET', 'http.path': '/api' },
  },
];

const PROJECTS: Record<string, string> = { web: 'shop', api: 'shop', backend: 'infra', checkout: 'shop' };

describe('Zipkin v2 API and OTLP ingest over HTTP', () => {
  let hub: TracingServer;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(hub.url + path, { headers });
    return { status: r.status, body: r.status === 204 ? undefined : await r.json() };
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(hub.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    hub = await startTracingServer({ projectOfService: (s) => PROJECTS[s] });
    const r1 = await post('/api/v2/spans', trace1);
    expect(r1.status).toBe(202);
    expect(await r1.text()).toBe('');
    expect((await post('/api/v2/spans', trace2)).status).toBe(202);
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('refuses bad spans one by one, naming index and field, and keeps the good ones', async () => {
    const good = {
      ...trace2[0],
      id: '00000000000000aa',
      traceId: 'aaaaaaaaaaaaaaaa',
      localEndpoint: { serviceName: 'scratch' },
    };
    const r = await post('/api/v2/spans', [
      good,
      { ...good, id: 'zz' },
      { ...good, id: '00000000000000ab', kind: 'BROKER' },
    ]);
    expect(r.status).toBe(400);
    const body = await r.json();
    expect(body).toMatchObject({
      accepted: 1,
      rejected: 2,
      error: { code: 400, type: 'BAD_REQUEST', where: '[1].id' },
    });
    expect(body.errors.map((e: { index: number; field: string }) => [e.index, e.field])).toEqual([
      [1, 'id'],
      [2, 'kind'],
    ]);
    await hub.stored(6);
    expect((await get('/api/v2/trace/aaaaaaaaaaaaaaaa')).body).toHaveLength(1);
    expect((await post('/api/v2/spans', { not: 'a list' })).status).toBe(400);
    const notJson = await fetch(hub.url + '/api/v2/spans', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[{',
    });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.message).toMatch(/not valid JSON/);
  });

  it('takes OTLP/HTTP JSON and answers in OTLP shape, with partial success', async () => {
    const span = (spanId: string, over: object = {}) => ({
      traceId: 'c0ffee00c0ffee00c0ffee00c0ffee00',
      spanId,
      name: 'POST /checkout',
      kind: 2,
      startTimeUnixNano: String(BigInt(NOW_US) * 1000n),
      endTimeUnixNano: String(BigInt(NOW_US + 2500) * 1000n),
      attributes: [{ key: 'http.response.status_code', value: { intValue: '201' } }],
      status: { code: 1 },
      ...over,
    });
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              scope: { name: 'test' },
              spans: [
                span('0000000000000011'),
                span('xyz'),
                span('0000000000000012', { kind: 3, parentSpanId: '0000000000000011' }),
              ],
            },
          ],
        },
      ],
    };
    const r = await post('/v1/traces', body);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('span 1 (spanId)') },
    });
    const ok = await post('/v1/traces', { resourceSpans: [] });
    expect(await ok.json()).toEqual({ partialSuccess: {} });
    const proto = await fetch(hub.url + '/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: 'x',
    });
    expect(proto.status).toBe(415);
    await hub.stored(8);
    const trace = (await get('/api/v2/trace/c0ffee00c0ffee00c0ffee00c0ffee00')).body as Record<
      string,
      unknown
    >[];
    expectTrace(trace);
    expect(trace.map((s) => [s['id'], s['kind'], s['duration']])).toEqual([
      ['0000000000000011', 'SERVER', 2500],
      ['0000000000000012', 'CLIENT', 2500],
    ]);
  });

  it('GET /api/v2/services, /spans and /remoteServices answer string arrays', async () => {
    await hub.stored(6);
    const services = await get('/api/v2/services');
    expectStrings(services.body);
    expect(services.body).toEqual(expect.arrayContaining(['api', 'backend', 'web']));
    const names = await get('/api/v2/spans?serviceName=api');
    expectStrings(names.body);
    expect(names.body).toEqual(['get /items', 'select']);
    expect((await get('/api/v2/remoteServices?serviceName=api')).body).toEqual(['mysql']);
    expect((await get('/api/v2/spans')).status).toBe(400);
  });

  it('GET /api/v2/traces answers a ListOfTraces, filtered as Zipkin filters', async () => {
    await hub.stored(6);
    const all = await get('/api/v2/traces?limit=10');
    expect(all.status).toBe(200);
    expect(Array.isArray(all.body)).toBe(true);
    for (const t of all.body as unknown[]) expectTrace(t);
    const ids = (q: string) =>
      get('/api/v2/traces?' + q).then((r) => (r.body as { traceId: string }[][]).map((t) => t[0]!.traceId));
    expect(await ids('serviceName=api')).toEqual([T1]);
    expect(await ids('serviceName=backend&spanName=get%20/api')).toEqual([T2]);
    expect(await ids('annotationQuery=http.status_code%3D500%20and%20retried')).toEqual([T1]);
    expect(await ids('annotationQuery=http.status_code%3D404')).toEqual([]);
    expect(await ids('serviceName=web&minDuration=9000')).toEqual([T1]);
    expect(await ids('serviceName=web&minDuration=9000&maxDuration=9500')).toEqual([]);
    expect(
      await ids(`serviceName=backend&endTs=${Math.floor(NOW_US / 1000) - 120_000}&lookback=60000`),
    ).toEqual([]);
    expect(await ids('remoteServiceName=mysql')).toEqual([T1]);
    expect((await ids('limit=1')).length).toBe(1);
    expect((await get('/api/v2/traces?limit=x')).body).toMatchObject({
      error: { code: 400, where: 'limit' },
    });
  });

  it('GET /api/v2/trace/{traceId} answers a Trace, raw timestamps, 64-bit ids too; 404 and 400 otherwise', async () => {
    await hub.stored(6);
    const t1 = await get(`/api/v2/trace/${T1}`);
    expectTrace(t1.body);
    const spans = t1.body as Record<string, unknown>[];
    expect(spans).toHaveLength(4);
    expect(spans.find((s) => s['id'] === '0000000000000003')!['timestamp']).toBe(NOW_US + 1000 - 2_000_000);
    expect(spans.find((s) => s['id'] === '0000000000000002')).toMatchObject({
      remoteEndpoint: { serviceName: 'api', ipv4: '10.0.0.2', port: 8080 },
    });
    const t2 = await get('/api/v2/trace/5af7183fb1d4cf5f');
    expectTrace(t2.body);
    expect((t2.body as object[])[0]).toEqual({ ...trace2[0], traceId: T2 });
    expect((await get('/api/v2/trace/0123456789abcdef0123456789abcdef')).status).toBe(404);
    expect((await get('/api/v2/trace/nothex')).status).toBe(400);
    const many = await get(`/api/v2/traceMany?traceIds=${T1},5af7183fb1d4cf5f`);
    expect((many.body as unknown[]).length).toBe(2);
  });

  it('GET /api/v2/dependencies answers DependencyLinks computed as spans streamed', async () => {
    await hub.stored(6);
    const r = await get(`/api/v2/dependencies?endTs=${Date.now() + 60_000}&lookback=3600000`);
    const links = r.body as Record<string, unknown>[];
    for (const l of links) {
      expect(Object.keys(l).sort()).toEqual(['callCount', 'child', 'errorCount', 'parent']);
      expect(l['parent']).toBeTypeOf('string');
      expect(l['child']).toBeTypeOf('string');
      expect(Number.isInteger(l['callCount'])).toBe(true);
      expect(Number.isInteger(l['errorCount'])).toBe(true);
    }
    expect(links).toEqual(
      expect.arrayContaining([
        { parent: 'web', child: 'api', callCount: 1, errorCount: 1 },
        { parent: 'api', child: 'mysql', callCount: 1, errorCount: 0 },
      ]),
    );
    expect((await get('/api/v2/dependencies?endTs=1000&lookback=1000')).body).toEqual([]);
  });

  it("shows each caller only its projects' services, spans and links", async () => {
    await hub.stored(6);
    const infra = { 'x-test-projects': 'infra' };
    expect((await get('/api/v2/services', infra)).body).toEqual(['backend']);
    expect((await get('/api/v2/spans?serviceName=api', infra)).body).toEqual([]);
    expect((await get(`/api/v2/trace/${T1}`, infra)).status).toBe(404);
    const traces = (await get('/api/v2/traces', infra)).body as { traceId: string }[][];
    expect(traces.map((t) => t[0]!.traceId)).toEqual([T2]);
    const shop = { 'x-test-projects': 'shop' };
    expect((await get(`/api/v2/dependencies?endTs=${Date.now() + 60_000}`, shop)).body).toEqual(
      expect.arrayContaining([{ parent: 'web', child: 'api', callCount: 1, errorCount: 1 }]),
    );
    expect((await get(`/api/v2/dependencies?endTs=${Date.now() + 60_000}`, infra)).body).toEqual([]);
    const refused = await post('/api/v2/spans', trace1.slice(0, 1), infra);
    expect(refused.status).toBe(400);
    expect((await refused.json()).errors[0]).toMatchObject({ index: 0, field: 'service' });
    expect((await get('/api/v2/services', { 'x-test-scopes': 'ingest' })).status).toBe(403);
  });

  it('GET /api/traces/{id} gives the assembled read model with skew corrected and raw times kept', async () => {
    await hub.stored(6);
    const r = await get(`/api/traces/${T1}`);
    const body = r.body as {
      spans: Record<string, unknown>[];
      skewedCount: number;
      services: string[];
      errorCount: number;
    };
    expect(body).toMatchObject({
      traceId: T1,
      services: ['api', 'web'],
      errorCount: 1,
      skewedCount: 2,
      orphanCount: 0,
    });
    const server = body.spans.find((s) => s['spanId'] === '0000000000000003')!;
    expect(server).toMatchObject({
      depth: 2,
      start: NOW_US + 1000 - 2_000_000,
      adjustedStart: NOW_US + 2000,
      skew: 2_001_000,
    });
    expect(body.spans.find((s) => s['spanId'] === '0000000000000004')).toMatchObject({
      depth: 3,
      skew: 2_001_000,
    });
  });

  it('GET /api/traces/search runs the query language, with column errors', async () => {
    await hub.stored(6);
    const ids = async (q: string) =>
      (
        (await get('/api/traces/search?q=' + encodeURIComponent(q))).body as { traces: { traceId: string }[] }
      ).traces.map((t) => t.traceId);
    expect(await ids('http.status_code=500 AND service=ap* AND error')).toEqual([T1]);
    expect(await ids('http.status_code=500 AND NOT error')).toEqual([]);
    expect(await ids('duration>5ms OR http.method=GET')).toEqual(expect.arrayContaining([T1, T2]));
    const bad = await get('/api/traces/search?q=' + encodeURIComponent('service= AND x'));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { type: 'INVALID_QUERY', where: 'q:10' } });
  });
});
