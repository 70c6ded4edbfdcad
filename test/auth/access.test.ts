/**
 * Who may see and change what, over real HTTP and socket.io against a real hub with users,
 * tokens and two projects' data. The first test walks every registered route, so a route added
 * later without an access check fails here.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPath, identitiesPath } from '../../bin/hub.ts';
import { systemClock } from '../../core/clock.ts';
import { openAuditLog } from '../../ui/auth/audit-log.ts';
import { openIdentityStore } from '../../ui/auth/identity-store.ts';
import { eventually, startTestHub, type TestHub, tempDir } from '../harness.ts';

const T0 = Math.floor(Date.now() / 1000) - 600;
const MARKER = 'alpha-secret-7f3';
/** Routes anyone may call: logging in, the session probe and the health check. */
/** Public: logging in, the health check, and the pages (static HTML holding no data; see isPublicPath). */
const PUBLIC = new Set([
  'POST /api/login',
  'GET /api/session',
  'GET /healthz',
  'POST /api/logout',
  ...readdirSync(fileURLToPath(new URL('../../ui/public', import.meta.url)))
    .filter((f) => f.endsWith('.html'))
    .flatMap((f) => (f === 'index.html' ? ['GET /', `GET /${f}`] : [`GET /${f}`])),
]);
/** A meaningful request for routes that take parameters, so "sees nothing" is tested on real answers. */
const ALPHA_TRACE = 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1';
const EXAMPLES: Record<string, { query?: string; body?: unknown; path?: string }> = {
  'GET /api/v2/traces': { query: 'serviceName=alpha-svc&lookback=86400000&limit=10' },
  'GET /api/v2/spans': { query: 'serviceName=alpha-svc' },
  'GET /api/v2/remoteServices': { query: 'serviceName=alpha-svc' },
  'GET /api/v2/trace/:traceId': { path: `/api/v2/trace/${ALPHA_TRACE}` },
  'GET /api/traces/:traceId': { path: `/api/traces/${ALPHA_TRACE}` },
  'GET /api/v2/traceMany': { query: `traceIds=${ALPHA_TRACE}` },
  'GET /api/v2/dependencies': { query: `endTs=${Date.now() + 60_000}&lookback=86400000` },
  'GET /api/traces/search': { query: 'q=service%3Dalpha-svc' },
  'GET /api/query': { query: `start=${T0 - 60}&m=sum:app.requests%7Bproject=*%7D` },
  'POST /api/query': { body: { start: T0 - 60, queries: [{ metric: 'app.requests', aggregator: 'none' }] } },
  'GET /api/suggest': { query: 'type=tagv&q=&max=1000' },
  'GET /api/search/lookup': { query: 'm=app.requests&limit=1000' },
  'GET /api/logs/search': { query: `q=${MARKER}&start=0` },
};

let hub: TestHub;
let cleanup: () => Promise<void>;
const tokens: Record<string, string> = {};
const sessions: Record<string, { cookie: string; csrf: string }> = {};

function headersOf(who: string): Record<string, string> {
  if (who === 'anonymous') return {};
  if (tokens[who]) return { authorization: `Bearer ${tokens[who]}` };
  const s = sessions[who]!;
  return { cookie: s.cookie, 'x-csrf-token': s.csrf };
}

async function call(
  who: string,
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
) {
  const res = await fetch(`${hub.url.replace(/\/$/, '')}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headersOf(who), ...extra },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

async function login(user: string, password: string) {
  const res = await fetch(`${hub.url}api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!;
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Strict/i);
  sessions[user] = { cookie: cookie.split(';')[0]!, csrf: ((await res.json()) as { csrf: string }).csrf };
}

beforeAll(async () => {
  const tmp = await tempDir('obs-auth-');
  cleanup = tmp.cleanup;
  const ids = await openIdentityStore({ path: identitiesPath(tmp.dir), clock: systemClock });
  await ids.addUser({ name: 'root', password: 'root-password', admin: true });
  await ids.addUser({ name: 'alice', password: 'alice-password', projects: { alpha: 'viewer' } });
  await ids.addUser({ name: 'bob', password: 'bob-password', projects: { beta: 'editor' } });
  await ids.addUser({ name: 'carol', password: 'carol-password', projects: { beta: 'viewer' } });
  tokens['agent'] = (
    await ids.createToken({ name: 'agent', owner: null, scopes: ['ingest'], projects: null, expiresAt: null })
  ).secret;
  tokens['betaAgent'] = (
    await ids.createToken({
      name: 'beta-agent',
      owner: null,
      scopes: ['ingest'],
      projects: ['beta'],
      expiresAt: null,
    })
  ).secret;
  tokens['bobRead'] = (
    await ids.createToken({
      name: 'bob-read',
      owner: 'bob',
      scopes: ['read'],
      projects: null,
      expiresAt: null,
    })
  ).secret;
  tokens['expired'] = (
    await ids.createToken({
      name: 'old',
      owner: 'root',
      scopes: ['read'],
      projects: null,
      expiresAt: Date.now() - 1000,
    })
  ).secret;
  hub = await startTestHub({
    dataDir: tmp.dir,
    limits: { ingestPointsPerSecond: 1e9, ingestBurst: 1e9, maxSeriesPerProject: 50 },
    tracing: { serviceProjects: { 'alpha-svc': 'alpha', 'beta-svc': 'beta' } },
  });
  await login('root', 'root-password');
  await login('alice', 'alice-password');
  await login('bob', 'bob-password');
  await login('carol', 'carol-password');
  const points = [
    { metric: 'app.requests', timestamp: T0, value: 1, tags: { project: 'alpha', app: MARKER } },
    { metric: 'app.requests', timestamp: T0, value: 2, tags: { project: 'beta', app: 'cart' } },
    { metric: 'alpha.only.metric', timestamp: T0, value: 3, tags: { project: 'alpha', app: MARKER } },
  ];
  expect((await call('agent', 'POST', '/api/put', points)).status).toBe(204);
  const now = Date.now() * 1000;
  const spans = [
    {
      traceId: ALPHA_TRACE,
      id: 'a1a1a1a1a1a1a1a1',
      name: MARKER,
      kind: 'SERVER',
      timestamp: now,
      duration: 1500,
      localEndpoint: { serviceName: 'alpha-svc', ipv4: '10.0.0.1' },
    },
    {
      traceId: 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2',
      id: 'b2b2b2b2b2b2b2b2',
      name: 'get /cart',
      kind: 'SERVER',
      timestamp: now,
      duration: 900,
      localEndpoint: { serviceName: 'beta-svc', ipv4: '10.0.0.2' },
    },
  ];
  expect((await call('agent', 'POST', '/api/v2/spans', spans)).status).toBe(202);
  const logs = [{ ts: Date.now(), source: 'alpha-app', fields: { project: 'alpha', msg: MARKER } }];
  expect((await call('agent', 'POST', '/api/logs', logs)).status).toBe(202);
  await eventually(async () =>
    expect((await call('root', 'GET', `/api/logs/search?q=${MARKER}&start=0`)).text).toContain(MARKER),
  );
  await eventually(async () =>
    expect((await call('root', 'GET', `/api/v2/trace/${ALPHA_TRACE}`)).text).toContain(MARKER),
  );
  await eventually(async () =>
    expect((await call('root', 'GET', `/api/query?start=${T0 - 60}&m=sum:alpha.only.metric`)).text).toContain(
      'dps',
    ),
  );
});

afterAll(async () => {
  await hub?.stop();
  await cleanup?.();
});

describe('every route', () => {
  it('is listed, and a new route cannot hide from this walk', () => {
    const keys = hub.routes.map((r) => `${r.method} ${r.path}`);
    expect(keys).toEqual(
      expect.arrayContaining([
        'POST /api/put',
        'POST /api/query',
        'GET /api/suggest',
        'GET /metrics',
        'GET /api/audit',
      ]),
    );
    expect(keys.length).toBeGreaterThan(15);
  });

  it('answers 401 to anonymous callers, except the public ones', async () => {
    for (const r of hub.routes) {
      const key = `${r.method} ${r.path}`;
      if (PUBLIC.has(key)) continue;
      const ex = EXAMPLES[key] ?? {};
      const path = r.path.replace(/:(\w+)/g, 'x') + (ex.query ? `?${ex.query}` : '');
      const res = await call('anonymous', r.method, path, ex.body ?? (r.method === 'GET' ? undefined : {}));
      expect({ key, status: res.status }).toEqual({ key, status: 401 });
    }
  });

  it("answers 403, or nothing of project alpha, to project beta's editor", async () => {
    for (const r of hub.routes) {
      const key = `${r.method} ${r.path}`;
      if (key === 'POST /api/logout') continue; // would end the session the walk uses
      const ex = EXAMPLES[key] ?? {};
      const path = (ex.path ?? r.path.replace(/:(\w+)/g, 'x')) + (ex.query ? `?${ex.query}` : '');
      const res = await call('bob', r.method, path, ex.body ?? (r.method === 'GET' ? undefined : {}));
      const leaked =
        res.text.includes(MARKER) || res.text.includes('alpha.only.metric') || res.text.includes('"alpha"');
      expect({ key, leaked, status: res.status < 500 }).toEqual({ key, leaked: false, status: true });
      expect({ key, session: res.status === 401 ? 'lost' : 'kept' }).toEqual({ key, session: 'kept' });
    }
  });
});

describe('scopes and roles', () => {
  it('an ingest token cannot read', async () => {
    for (const path of [
      `/api/query?start=${T0 - 60}&m=sum:app.requests`,
      '/api/suggest?type=metrics',
      '/metrics',
      '/api/search/lookup?m=app.requests',
      '/api/logs/search',
    ]) {
      const res = await call('agent', 'GET', path);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect(res.json().error.message).toMatch(/"read" scope/);
    }
  });

  it('a viewer cannot write', async () => {
    const put = await call('carol', 'POST', '/api/put', [
      { metric: 'm', timestamp: T0, value: 1, tags: { project: 'beta' } },
    ]);
    expect(put.status).toBe(403);
    const token = await call('carol', 'POST', '/api/tokens', {
      name: 'carol-write',
      scopes: ['write', 'ingest'],
    });
    expect(token.status).toBe(201);
    const secret = token.json().token as string;
    const viaToken = await fetch(`${hub.url}api/put`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      body: JSON.stringify({ metric: 'm', timestamp: T0, value: 1, tags: { project: 'beta' } }),
    });
    expect(viaToken.status).toBe(403);
  });

  it('an ingest token limited to a project cannot write another', async () => {
    const res = await call('betaAgent', 'POST', '/api/put?details', [
      { metric: 'app.requests', timestamp: T0 + 1, value: 5, tags: { project: 'beta', app: 'cart' } },
      { metric: 'app.requests', timestamp: T0 + 1, value: 5, tags: { project: 'alpha', app: 'x' } },
    ]);
    expect(res.status).toBe(400);
    expect(res.json().success).toBe(1);
    expect(res.json().errors[0].error).toMatch(/Not allowed to write project "alpha"/);
  });

  it('a revoked token stops working at once, an expired one does not work', async () => {
    const made = await call('root', 'POST', '/api/tokens', { name: 'short-lived', scopes: ['read'] });
    const secret = made.json().token as string;
    const use = () =>
      fetch(`${hub.url}api/suggest?type=metrics`, { headers: { authorization: `Bearer ${secret}` } });
    expect((await use()).status).toBe(200);
    expect((await call('root', 'DELETE', `/api/tokens/${made.json().id}`)).status).toBe(204);
    const after = await use();
    expect(after.status).toBe(401);
    expect(((await after.json()) as any).error.message).toMatch(/revoked/);
    const expired = await call('expired', 'GET', '/api/suggest?type=metrics');
    expect(expired.status).toBe(401);
    expect(expired.json().error.message).toMatch(/expired/);
  });

  it('a session needs its CSRF token to change anything', async () => {
    const s = sessions['root']!;
    const res = await fetch(`${hub.url}api/tokens`, {
      method: 'POST',
      headers: { cookie: s.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', scopes: ['read'] }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.message).toMatch(/CSRF/);
  });

  it('a wrong password gets 401 and is audited', async () => {
    const res = await fetch(`${hub.url}api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice', password: 'nope-nope' }),
    });
    expect(res.status).toBe(401);
    const audit = (await call('root', 'GET', '/api/audit?action=login.failed')).json() as any[];
    expect(audit[0]).toMatchObject({ actor: 'alice', action: 'login.failed' });
  });
});

describe("one project's data is invisible to another project's people", () => {
  it('alice (alpha) sees alpha through query, suggest and lookup; bob (beta) sees none of it', async () => {
    const q = `/api/query?start=${T0 - 60}&m=sum:app.requests%7Bapp=*%7D`;
    expect((await call('alice', 'GET', q)).text).toContain(MARKER);
    expect((await call('alice', 'GET', '/api/suggest?type=tagv&q=alpha')).json()).toContain(MARKER);
    for (const who of ['bob', 'bobRead']) {
      const query = await call(who, 'GET', q);
      expect({ who, status: query.status, text: query.status === 200 ? '' : query.text }).toEqual({
        who,
        status: 200,
        text: '',
      });
      expect(query.json().map((s: any) => s.tags.app)).toEqual(['cart']);
      expect((await call(who, 'GET', '/api/suggest?type=metrics&q=')).json()).toEqual(['app.requests']);
      expect((await call(who, 'GET', '/api/suggest?type=tagv&q=alpha')).json()).toEqual([]);
      expect((await call(who, 'GET', '/api/search/lookup?m=*%7Bapp=*%7D')).text).not.toContain(MARKER);
      const body = await call(who, 'POST', '/api/query', {
        start: T0 - 60,
        queries: [{ metric: 'alpha.only.metric', aggregator: 'sum' }],
      });
      expect(body.json()).toEqual([]);
    }
  });

  it('alice sees the alpha trace; bob sees neither it nor its service', async () => {
    expect((await call('alice', 'GET', `/api/v2/trace/${ALPHA_TRACE}`)).text).toContain(MARKER);
    expect((await call('alice', 'GET', '/api/v2/services')).json()).toContain('alpha-svc');
    const services = (await call('bob', 'GET', '/api/v2/services')).json();
    expect(services).toContain('beta-svc');
    expect(services).not.toContain('alpha-svc');
    const trace = await call('bob', 'GET', `/api/v2/trace/${ALPHA_TRACE}`);
    expect(trace.text).not.toContain(MARKER);
  });

  it('every socket event an admin socket listens to gives another project nothing', async () => {
    const root = connect(hub.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: sessions['root']!.cookie },
    });
    await new Promise((resolve) => root.on('connect', () => resolve(undefined)));
    const server = [...hub.io.sockets.sockets.values()].find((s) => s.id === root.id)!;
    const events = server
      .eventNames()
      .filter(
        (e): e is string => typeof e === 'string' && !['disconnect', 'disconnecting', 'error'].includes(e),
      );
    expect(events).toEqual(expect.arrayContaining(['subscribe']));
    const bob = connect(hub.url, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token: tokens['bobRead'] },
    });
    await new Promise((resolve) => bob.on('connect', () => resolve(undefined)));
    const pushed: unknown[] = [];
    bob.onAny((event, payload) => pushed.push([event, payload]));
    for (const event of events) {
      const ack = (await bob
        .timeout(2000)
        .emitWithAck(event)
        .catch(() => undefined)) as any;
      expect({ event, leaked: JSON.stringify(ack ?? null).includes('alpha') }).toEqual({
        event,
        leaked: false,
      });
    }
    await new Promise((r) => setTimeout(r, 2500)); // one live push interval
    expect(JSON.stringify(pushed)).not.toMatch(/alpha|host\./);
    root.close();
    bob.close();
  });

  it('live host metrics over socket.io are for admins; anonymous sockets are refused', async () => {
    const url = hub.url;
    const anonymous = connect(url, { transports: ['websocket'], reconnection: false });
    const refused = await new Promise<Error>((resolve) => anonymous.on('connect_error', resolve));
    expect(refused.message).toBe('unauthorized');
    anonymous.close();

    const bob = connect(url, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token: tokens['bobRead'] },
    });
    await new Promise((resolve) => bob.on('connect', () => resolve(undefined)));
    const ack = (await bob.emitWithAck('subscribe')) as any;
    expect(ack.error.code).toBe(403);
    bob.close();

    const root = connect(url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: sessions['root']!.cookie },
    });
    await new Promise((resolve) => root.on('connect', () => resolve(undefined)));
    expect(((await root.emitWithAck('subscribe')) as any).room).toBe('live');
    root.close();
  });
});

describe('cardinality', () => {
  it('caps a flood of new series from one project and counts it, while another project keeps flowing', async () => {
    const flood = Array.from({ length: 500 }, (_, i) => ({
      metric: 'flood.m',
      timestamp: T0,
      value: i,
      tags: { project: 'flood', c: `c${i}` },
    }));
    const res = await call('agent', 'POST', '/api/put?summary', flood);
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ success: 50, failed: 450 });
    const again = await call(
      'agent',
      'POST',
      '/api/put?summary',
      flood.slice(0, 50).map((p) => ({ ...p, timestamp: T0 + 10 })),
    );
    expect(again.json()).toEqual({ success: 50, failed: 0 });
    const beta = Array.from({ length: 20 }, (_, i) => ({
      metric: 'beta.new',
      timestamp: T0,
      value: i,
      tags: { project: 'beta', c: `c${i}` },
    }));
    expect((await call('agent', 'POST', '/api/put?summary', beta)).json()).toEqual({
      success: 20,
      failed: 0,
    });
    const metrics = (await call('root', 'GET', '/metrics')).text;
    expect(metrics).toMatch(/obs_points_rejected_total\{protocol="http",reason="cardinality"\} 450/);
  });
});

describe('the command line shares the identities with a running hub', () => {
  it('a token revoked on the command line stops working at once', async () => {
    const ids = await openIdentityStore({ path: identitiesPath(hub.dir), clock: systemClock });
    const { token, secret } = await ids.createToken({
      name: 'cli-made',
      owner: null,
      scopes: ['read'],
      projects: null,
      expiresAt: null,
    });
    const use = () => fetch(`${hub.url}api/aggregators`, { headers: { authorization: `Bearer ${secret}` } });
    expect((await use()).status).toBe(200);
    await ids.revokeToken(token.id);
    expect((await use()).status).toBe(401);
    const audit = await openAuditLog({ path: auditPath(hub.dir), clock: systemClock });
    expect((await audit.list({ action: 'token.create' })).length).toBeGreaterThan(0);
  });
});
