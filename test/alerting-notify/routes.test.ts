/** The HTTP API of the notification pipeline, with callers limited to their projects. */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAlert } from '../../alerting/notify/testing.ts';
import { hasScope, type Principal, type Role, type Scope } from '../../core/auth.ts';
import { HubError, toHubError } from '../../core/errors.ts';
import { createNotifyRouter } from '../../ui/api/notify-routes.ts';
import { type Run, startRun, T0, tempDir } from './harness.ts';
import { type HttpReceiver, startHttpReceiver } from './servers.ts';

const M = 60_000;

const principal = (name: string, scopes: Scope[], projects: Record<string, Role> | 'all'): Principal => ({
  kind: 'user',
  name,
  scopes: new Set(scopes),
  projects: new Map(projects === 'all' ? [] : Object.entries(projects)),
  allProjects: projects === 'all',
});

const USERS: Record<string, Principal> = {
  admin: principal('admin', ['read', 'write', 'admin'], 'all'),
  'shop-editor': principal('shop-editor', ['read', 'write'], { shop: 'editor' }),
  'shop-viewer': principal('shop-viewer', ['read'], { shop: 'viewer' }),
  'blog-editor': principal('blog-editor', ['read', 'write'], { blog: 'editor' }),
};

const shopDown = makeAlert({ alertname: 'ApiDown', project: 'shop', severity: 'page' }, T0);
const blogDown = makeAlert({ alertname: 'ApiDown', project: 'blog' }, T0);
const hubDisk = makeAlert({ alertname: 'DiskFull', host: 'hub1' }, T0);

let http: HttpReceiver;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let run: Run;
let server: Server;
let base = '';
const audit: { actor: string; action: string; target: string; details?: Record<string, unknown> }[] = [];

beforeAll(async () => {
  [http, tmp] = await Promise.all([startHttpReceiver(), tempDir()]);
  run = await startRun({
    config: {
      route: {
        receiver: 'team',
        group_by: ['alertname', 'project'],
        routes: [{ matchers: ['severity="page"'], receiver: 'oncall' }],
      },
      receivers: [
        { name: 'team', webhook_configs: [{ url: `${http.url}/team` }] },
        { name: 'oncall', oncall_configs: [{ team: 'shop' }] },
        { name: 'alice', webhook_configs: [{ url: `${http.url}/alice` }] },
      ],
      oncall: {
        shop: {
          members: [{ name: 'alice', receiver: 'alice' }],
          start: '2026-01-01',
          escalation: [{ oncall: 0, timeout: '5m' }, { oncall: 0 }],
        },
      },
    },
    dir: tmp.dir,
  });
  for (const a of [shopDown, blogDown, hubDisk]) run.firing.set(a.fingerprint, a);
  await run.run(1 * M);

  const app = express();
  app.use((req, res, next) => {
    const user = USERS[req.header('x-user') ?? ''];
    if (user) res.locals['principal'] = user;
    next();
  });
  const auth = {
    need:
      (scope: Scope): RequestHandler =>
      (_req, res, next) => {
        const p = res.locals['principal'] as Principal | undefined;
        if (!p) return next(new HubError('UNAUTHORIZED', 'Authentication required'));
        if (!hasScope(p, scope)) return next(new HubError('FORBIDDEN', `Needs scope ${scope}`));
        next();
      },
  };
  app.use(
    createNotifyRouter({ pipeline: run.pipeline, auth, audit: { record: async (e) => void audit.push(e) } }),
  );
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const e = toHubError(err);
    res
      .status(e.status)
      .json({ error: { code: e.status, message: e.message, type: e.code, where: e.where } });
  };
  app.use(onError);
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await run?.pipeline.close();
  await http.close();
  await tmp.cleanup();
});

async function call(user: string | undefined, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(user ? { 'x-user': user } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const silence = (matchers: unknown[], extra: Record<string, unknown> = {}) => ({
  matchers,
  endsAt: new Date(T0 + 2 * 3_600_000).toISOString(),
  comment: 'deploy',
  ...extra,
});

describe('silences API', () => {
  let shopSilence = '';

  it('an editor creates a silence for their project; it is audited', async () => {
    const r = await call(
      'shop-editor',
      'POST',
      '/api/silences',
      silence(['project="shop"', 'alertname="ApiDown"']),
    );
    expect(r.status).toBe(200);
    shopSilence = r.body.silenceID;
    expect(r.body.silence).toMatchObject({
      createdBy: 'shop-editor',
      status: { state: 'active' },
      matchers: [
        { name: 'project', value: 'shop', isRegex: false, isEqual: true },
        { name: 'alertname', value: 'ApiDown', isRegex: false, isEqual: true },
      ],
    });
    expect(audit.at(-1)).toMatchObject({
      actor: 'shop-editor',
      action: 'silence.create',
      target: shopSilence,
      details: { project: 'shop', comment: 'deploy' },
    });
  });

  it.each([
    ['shop-editor', silence(['alertname="ApiDown"']), 403, 'matchers'],
    ['shop-editor', silence(['project="blog"']), 403, 'matchers'],
    ['shop-viewer', silence(['project="shop"']), 403, undefined],
    [undefined, silence(['project="shop"']), 401, undefined],
    ['shop-editor', silence(['project="shop"'], { endsAt: '2020-01-01T00:00:00Z' }), 400, 'endsAt'],
    ['shop-editor', silence(['project="shop"'], { comment: undefined }), 400, 'comment'],
    ['shop-editor', silence(['project=~"("']), 400, 'matchers.0'],
  ])('%s creating %o gets %i', async (user, body, status, where) => {
    const r = await call(user, 'POST', '/api/silences', body);
    expect(r.status).toBe(status);
    if (where) expect(r.body.error.where).toBe(where);
  });

  it('lists and gets only silences of visible projects', async () => {
    const admin = await call('admin', 'POST', '/api/silences', silence(['host="hub1"']));
    expect(admin.status).toBe(200);
    expect((await call('shop-viewer', 'GET', '/api/silences')).body.map((s: any) => s.id)).toEqual([
      shopSilence,
    ]);
    expect((await call('blog-editor', 'GET', '/api/silences')).body).toEqual([]);
    expect((await call('admin', 'GET', '/api/silences')).body).toHaveLength(2);
    expect((await call('shop-viewer', 'GET', `/api/silences/${admin.body.silenceID}`)).status).toBe(404);
    expect((await call('admin', 'GET', `/api/silences/${shopSilence}`)).body.id).toBe(shopSilence);
  });

  it('preview lists the firing alerts a silence would match, in the projects the caller sees', async () => {
    const q = encodeURIComponent('{alertname="ApiDown"}');
    const viewer = await call('shop-viewer', 'GET', `/api/silences/preview?matchers=${q}`);
    expect(viewer.status).toBe(200);
    expect(viewer.body.alerts.map((a: any) => a.labels.project)).toEqual(['shop']);
    expect(viewer.body.alerts[0].silencedBy).toEqual([shopSilence]);
    const admin = await call('admin', 'GET', `/api/silences/preview?matchers=${q}`);
    expect(admin.body.alerts.map((a: any) => a.labels.project).sort()).toEqual(['blog', 'shop']);
    const two = await call(
      'admin',
      'GET',
      '/api/silences/preview?matchers=alertname%3D%22ApiDown%22&matchers=project%3Dblog',
    );
    expect(two.body.alerts.map((a: any) => a.fingerprint)).toEqual([blogDown.fingerprint]);
    expect((await call('admin', 'GET', '/api/silences/preview')).status).toBe(400);
  });

  it('updates and expires; others cannot touch it', async () => {
    expect((await call('blog-editor', 'DELETE', `/api/silences/${shopSilence}`)).status).toBe(404);
    const put = await call('shop-editor', 'PUT', `/api/silences/${shopSilence}`, {
      ...silence(['project="shop"']),
      comment: 'longer deploy',
    });
    expect(put.status).toBe(200);
    expect(put.body.silence.comment).toBe('longer deploy');
    const del = await call('shop-editor', 'DELETE', `/api/silences/${shopSilence}`);
    expect(del.status).toBe(200);
    expect(del.body.status.state).toBe('expired');
    expect(audit.slice(-2).map((e) => e.action)).toEqual(['silence.update', 'silence.expire']);
    expect((await call('shop-viewer', 'GET', '/api/silences?state=active')).body).toEqual([]);
  });
});

describe('acknowledge, attempts, on-call and groups', () => {
  it('acknowledges only alerts of projects the caller may change', async () => {
    expect((await call('shop-editor', 'POST', `/api/alerts/${blogDown.fingerprint}/ack`)).status).toBe(404);
    expect((await call('shop-viewer', 'POST', `/api/alerts/${shopDown.fingerprint}/ack`)).status).toBe(403);
    const r = await call('shop-editor', 'POST', `/api/alerts/${shopDown.fingerprint}/ack`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      fingerprint: shopDown.fingerprint,
      by: 'shop-editor',
      stoppedEscalations: [{ team: 'shop', level: 0 }],
    });
    expect(audit.at(-1)).toMatchObject({
      action: 'alert.ack',
      target: shopDown.fingerprint,
      details: { project: 'shop' },
    });
  });

  it('shows delivery attempts of visible projects', async () => {
    const viewer = await call('shop-viewer', 'GET', '/api/notifications');
    // The page to alice, then the on-call receiver's own record of the escalation step.
    expect(viewer.body.map((a: any) => [a.receiver, a.integration, a.projects])).toEqual([
      ['oncall', 'oncall/0', ['shop']],
      ['alice', 'webhook/0', ['shop']],
    ]);
    expect(viewer.body[1].via).toBe('shop');
    const admin = await call('admin', 'GET', '/api/notifications?receiver=team');
    expect(admin.body.map((a: any) => a.projects[0]).sort()).toEqual(['', 'blog']);
    expect((await call('admin', 'GET', '/api/notifications?limit=x')).status).toBe(400);
  });

  it('tells who is on call, and the groups with visible alerts', async () => {
    const oncall = await call('shop-viewer', 'GET', '/api/oncall');
    expect(oncall.body[0]).toMatchObject({ team: 'shop', current: { name: 'alice' } });
    expect(oncall.body[0].incidents[0]).toMatchObject({ acknowledged: true });
    expect((await call('blog-editor', 'GET', '/api/oncall')).body[0].incidents).toEqual([]);
    const groups = await call('blog-editor', 'GET', '/api/alert-groups');
    expect(groups.body.map((g: any) => g.groupKey)).toEqual(['{}:{alertname="ApiDown", project="blog"}']);
    expect(groups.body[0].notified).toEqual([
      { integration: 'webhook/0', ts: T0 + 30_000, firing: 1, resolved: 0 },
    ]);
    expect((await call('admin', 'GET', '/api/alert-groups')).body).toHaveLength(3);
  });
});
