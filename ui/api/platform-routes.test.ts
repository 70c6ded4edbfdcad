/**
 * The platform routes over real HTTP with the hub's real authentication (users, tokens, per-project
 * roles) and audit log, over the platform loop on the Marathon contract server.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express, { type ErrorRequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.ts';
import { toHubError } from '../../core/errors.ts';
import {
  containerPoints,
  type PlatformFixture,
  startPlatformFixture,
} from '../../platform/service-testing.ts';
import { eventually } from '../../test/harness.ts';
import { type AuditLog, openAuditLog } from '../auth/audit-log.ts';
import { createAuth } from '../auth/http-auth.ts';
import { openIdentityStore } from '../auth/identity-store.ts';
import { listRoutes } from '../server.ts';
import { createPlatformRouter } from './platform-routes.ts';

let fixture: PlatformFixture;
let server: Server;
let url = '';
let routes: { method: string; path: string }[] = [];
let audit: AuditLog;
const tokens: Record<string, string> = {};

const web = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  type: 'WEB',
  image: `registry.local${id}:1`,
  cpus: 1,
  mem: 256,
  instances: 2,
  ports: [8080],
  labels: { 'obs.autoscale.mode': 'advise' },
  ...over,
});

async function call(who: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(who === 'anonymous' ? {} : { authorization: `Bearer ${tokens[who]}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

beforeAll(async () => {
  fixture = await startPlatformFixture({ marathon: true });
  const { platform, clock, store } = fixture;
  platform.start();
  for (const id of ['/shop/web', '/blog/www']) {
    const { deploymentId } = await platform.deploy(web(id));
    await eventually(async () =>
      expect((await fixture.marathon!.getApp(id))?.deployments ?? ['x']).not.toContain(deploymentId),
    );
  }
  clock.advance(15_000);
  for (const id of ['/shop/web', '/blog/www']) {
    const tasks = await fixture.marathon!.tasks(id);
    await store.write(
      tasks.flatMap((t, i) =>
        containerPoints(
          id,
          t.id,
          `${id.split('/')[2]}-${i}`,
          { cpu: 0.9, cpuLimit: 1, workingSetMiB: 90, memLimitMiB: 256 },
          clock.now(),
        ),
      ),
    );
  }
  await platform.evaluate();

  const ids = await openIdentityStore({ path: join(fixture.dir, 'identities.json'), clock: systemClock });
  audit = await openAuditLog({ path: join(fixture.dir, 'audit.jsonl'), clock: systemClock });
  await ids.addUser({ name: 'root', password: 'root-password', admin: true });
  await ids.addUser({ name: 'alice', password: 'alice-password', projects: { shop: 'viewer' } });
  await ids.addUser({ name: 'carol', password: 'carol-password', projects: { shop: 'editor' } });
  await ids.addUser({ name: 'bob', password: 'bob-password', projects: { blog: 'editor' } });
  for (const name of ['root', 'alice', 'carol', 'bob'])
    tokens[name] = (
      await ids.createToken({
        name: `${name}-t`,
        owner: name,
        scopes: ['read', 'write'],
        projects: null,
        expiresAt: null,
      })
    ).secret;
  const auth = createAuth({ identities: ids, clock: systemClock, audit });
  const app = express();
  app.use(auth.authenticate, auth.gate);
  app.use(createPlatformRouter({ platform, auth, audit }));
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const e = toHubError(err);
    res.status(e.status).json({ error: { code: e.status, message: e.message, type: e.code } });
  };
  app.use(onError);
  routes = listRoutes(app);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await fixture?.close();
});

describe('platform routes', () => {
  it("every route, walked as the hub's access test does, gives another project's editor nothing", async () => {
    expect(routes.length).toBe(7);
    for (const r of routes) {
      const path = r.path.replace(/:(\w+)/g, 'x');
      const res = await call('bob', r.method, path, r.method === 'GET' ? undefined : {});
      const key = `${r.method} ${r.path}`;
      expect({
        key,
        ok: res.status < 500,
        leaked: res.text.includes('/shop/') || res.text.includes('"shop"'),
      }).toEqual({
        key,
        ok: true,
        leaked: false,
      });
      const anonymous = await call('anonymous', r.method, path, r.method === 'GET' ? undefined : {});
      expect({ key, status: anonymous.status }).toEqual({ key, status: 401 });
    }
  });

  it('answers 401 to anonymous callers on every route', async () => {
    for (const [method, path] of [
      ['GET', '/api/platform/apps'],
      ['GET', '/api/platform/apps/shop/web'],
      ['GET', '/api/platform/advice'],
      ['GET', '/api/platform/decisions'],
      ['GET', '/api/platform/deployments'],
      ['POST', '/api/platform/apps'],
      ['PUT', '/api/platform/apps/shop/web/instances'],
    ] as const)
      expect({
        path,
        status: (await call('anonymous', method, path, method === 'GET' ? undefined : {})).status,
      }).toEqual({
        path,
        status: 401,
      });
  });

  it("shows each caller only their projects' apps, advice, decisions and deployments", async () => {
    const ids = async (who: string) =>
      (await call(who, 'GET', '/api/platform/apps')).json().map((a: { id: string }) => a.id);
    expect(await ids('root')).toEqual(['/blog/www', '/shop/web']);
    expect(await ids('alice')).toEqual(['/shop/web']);
    expect(await ids('bob')).toEqual(['/blog/www']);

    const shop = await call('alice', 'GET', '/api/platform/apps/shop/web');
    expect(shop.status).toBe(200);
    expect(shop.json()).toMatchObject({
      id: '/shop/web',
      orchestrator: 'marathon',
      health: { state: 'busy' },
    });
    expect(shop.json().health.reasons[0].code).toBe('cpu_near_limit');
    expect((await call('bob', 'GET', '/api/platform/apps/shop/web')).status).toBe(404);

    for (const path of ['/api/platform/decisions', '/api/platform/deployments', '/api/platform/advice']) {
      const bob = await call('bob', 'GET', path);
      expect({ path, status: bob.status, leaks: bob.text.includes('/shop/') }).toEqual({
        path,
        status: 200,
        leaks: false,
      });
      expect({ path, seesOwn: bob.text.includes('/blog/www') }).toEqual({ path, seesOwn: true });
    }
    const decisions = (await call('alice', 'GET', '/api/platform/decisions?app=/shop/web&limit=5')).json();
    expect(decisions[0]).toMatchObject({
      appId: '/shop/web',
      mode: 'advise',
      action: 'advised',
      current: 2,
      desired: 3,
    });
    expect(Object.keys(decisions[0])).toEqual(
      expect.arrayContaining(['ts', 'observed', 'target', 'reason', 'current', 'desired']),
    );
    expect((await call('alice', 'GET', '/api/platform/decisions?limit=0')).status).toBe(400);
  });

  it('deploys with write access to the project, says which field is wrong, and audits', async () => {
    expect((await call('alice', 'POST', '/api/platform/apps', web('/shop/api'))).status).toBe(403);
    expect((await call('bob', 'POST', '/api/platform/apps', web('/shop/api'))).status).toBe(403);
    const bad = await call('carol', 'POST', '/api/platform/apps', web('/shop/api', { cpus: 'lots', mem: 1 }));
    expect(bad.status).toBe(422);
    expect(
      bad
        .json()
        .error.details.map((d: { field: string }) => d.field)
        .sort(),
    ).toEqual(['cpus', 'mem']);
    const ok = await call('carol', 'POST', '/api/platform/apps', web('/shop/api'));
    expect(ok.status).toBe(202);
    const { deploymentId } = ok.json();
    expect(deploymentId).toBeTruthy();
    await eventually(async () =>
      expect(
        (await call('carol', 'GET', '/api/platform/deployments'))
          .json()
          .find((d: { id: string }) => d.id === deploymentId),
      ).toMatchObject({ appId: '/shop/api', status: 'success' }),
    );
    const [entry] = await audit.list({ action: 'app.deploy' });
    expect(entry).toMatchObject({
      actor: 'carol-t',
      target: '/shop/api',
      details: { project: 'shop', deploymentId },
    });
  });

  it('scales with write access, refuses a bad count, and audits', async () => {
    expect((await call('bob', 'PUT', '/api/platform/apps/shop/web/instances', { instances: 3 })).status).toBe(
      403,
    );
    const bad = await call('carol', 'PUT', '/api/platform/apps/shop/web/instances', { instances: 'three' });
    expect(bad.status).toBe(422);
    expect(bad.json().error.details[0].field).toBe('instances');
    const ok = await call('carol', 'PUT', '/api/platform/apps/shop/web/instances', { instances: 3 });
    expect(ok.status).toBe(202);
    await eventually(async () => expect((await fixture.marathon!.getApp('/shop/web'))?.tasks.length).toBe(3));
    const [entry] = await audit.list({ action: 'app.scale' });
    expect(entry).toMatchObject({ target: '/shop/web', details: { instances: 3 } });
    expect(
      (await call('carol', 'PUT', '/api/platform/apps/shop/nope/instances', { instances: 1 })).status,
    ).toBe(404);
  });
});
