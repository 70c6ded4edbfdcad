/**
 * The Marathon adapter over real HTTP against the Marathon contract server (built from Marathon's
 * official examples and RAML types; Marathon itself cannot run here).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import {
  type MarathonContractServer,
  startMarathonContractServer,
} from '../../platform/orchestrators/marathon/marathon-contract-server.ts';
import {
  createMarathonOrchestrator,
  type MarathonOrchestrator,
  type MarathonOrchestratorOptions,
} from '../../platform/orchestrators/marathon/marathon-orchestrator.ts';
import type { AppSpec, OrchestratorEvent } from '../../platform/types.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/marathon');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

const WEB: AppSpec = {
  id: '/shop/web',
  type: 'WEB',
  image: 'nginx:1.27',
  cpus: 0.5,
  mem: 256,
  instances: 2,
  ports: [80],
  healthCheck: { protocol: 'HTTP', path: '/health', portIndex: 0 },
  labels: { team: 'shop' },
  env: { MODE: 'prod' },
};

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 5000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let server: MarathonContractServer;
let clients: MarathonOrchestrator[] = [];

function client(extra: Partial<MarathonOrchestratorOptions> = {}): MarathonOrchestrator {
  const c = createMarathonOrchestrator({
    url: server.url,
    clock: systemClock,
    logger: silentLogger,
    retry: { attempts: 3, baseMs: 5 },
    ...extra,
  });
  clients.push(c);
  return c;
}

/** Deploys and waits until the contract server has finished the deployment. */
async function deployed(c: MarathonOrchestrator, spec: AppSpec): Promise<string> {
  const { deploymentId } = await c.deploy(spec);
  expect(deploymentId).toBeTruthy();
  await waitFor('deployment to finish', () => !server.state.deployments.has(deploymentId!));
  return deploymentId!;
}

beforeEach(async () => {
  server = await startMarathonContractServer({ deploymentMs: 40 });
});

afterEach(async () => {
  for (const c of clients) await c.close();
  clients = [];
  await server.close();
});

describe('Marathon contract server answers in the shapes of the official examples', () => {
  it('GET /v2/apps/{id} has every key of app.json and app_list.json, with the same JSON types', async () => {
    await deployed(client(), WEB);
    const res = await fetch(`${server.url}/v2/apps/shop/web`);
    const { app } = (await res.json()) as { app: Record<string, unknown> };
    const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
    for (const example of [fixture('app.json'), fixture('app_list.json').apps[0]]) {
      for (const [key, value] of Object.entries(example)) {
        expect(app, `key ${key}`).toHaveProperty(key);
        if (value !== null && app[key] !== null) expect(kind(app[key]), `type of ${key}`).toBe(kind(value));
      }
    }
  });

  it('/v2/deployments, /v2/info, /v2/groups and /ping match deployments.json, info.json, group.json', async () => {
    const c = client();
    server.setDeploymentMs(60_000);
    await c.deploy(WEB);
    const deployments = await c.deployments();
    expect(Object.keys(deployments[0]!).sort()).toEqual(Object.keys(fixture('deployments.json')[0]).sort());
    expect(deployments[0]!.affectedApps).toEqual(['/shop/web']);
    expect(Object.keys(await c.info()).sort()).toEqual(Object.keys(fixture('info.json')).sort());
    const groups = (await c.groups()) as { id: string; groups: { id: string; apps: { id: string }[] }[] };
    const example = fixture('group.json');
    expect(Object.keys(groups).sort()).toEqual(expect.arrayContaining(['apps', 'groups', 'id']));
    expect(Object.keys(example)).toEqual(expect.arrayContaining(['apps', 'groups', 'id']));
    expect(groups.groups[0]).toMatchObject({ id: '/shop', apps: [{ id: '/shop/web' }] });
    expect(await c.ping()).toBe(true);
  });
  it('serves /v2/events only to text/event-stream clients, filtered by event_type, in the events.txt format', async () => {
    expect((await fetch(`${server.url}/v2/events`)).status).toBe(405);
    const abort = new AbortController();
    const res = await fetch(
      `${server.url}/v2/events?event_type=deployment_success&event_type=event_stream_attached`,
      {
        headers: { accept: 'text/event-stream' },
        signal: abort.signal,
      },
    );
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const { deploymentId } = await client().deploy(WEB);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('deployment_success\ndata'))
      text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const names = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(names).toEqual(['event_stream_attached', 'deployment_success']);
    const example = readFileSync(join(FIXTURES, 'events.txt'), 'utf8').split('\n');
    expect(example[0]).toBe('event: event_stream_attached');
    expect(example[1]).toMatch(/^data: \{/);
    const data = JSON.parse(
      text
        .split('\n')
        .find((l) => l.startsWith('data: {"id"'))!
        .slice(6),
    );
    expect(data).toMatchObject({ eventType: 'deployment_success', id: deploymentId });
  });
});

describe('Marathon adapter', () => {
  it('lists and gets apps with their embedded tasks, tagged as the agent tags them', async () => {
    const c = client();
    await deployed(c, WEB);
    const apps = await c.listApps();
    expect(server.requests.some((r) => r.path === '/v2/apps?embed=apps.tasks&embed=apps.deployments')).toBe(
      true,
    );
    expect(apps).toHaveLength(1);
    expect(apps[0]!.spec).toEqual(WEB);
    expect(apps[0]!.tasks).toHaveLength(2);
    for (const t of apps[0]!.tasks) {
      expect(t).toMatchObject({ appId: '/shop/web', state: 'running', healthChecks: [true] });
      expect(t.tags).toEqual({ project: 'shop', app: 'web', task: t.id });
      expect(t.startedAt).toBeGreaterThan(0);
    }
    const one = await c.getApp('/shop/web');
    expect(one?.tasks.map((t) => t.id).sort()).toEqual(apps[0]!.tasks.map((t) => t.id).sort());
    expect((await c.tasks('/shop/web')).map((t) => t.host).every((h) => h.length > 0)).toBe(true);
    expect(await c.getApp('/shop/missing')).toBeUndefined();
  });

  it('deploys a new app, updates it with partialUpdate, and follows both rollouts to success', async () => {
    const c = client();
    const events: OrchestratorEvent[] = [];
    c.watch((e) => events.push(e));
    await waitFor('stream', () => server.requests.some((r) => r.path.startsWith('/v2/events')));
    const created = await c.deploy(WEB);
    expect(server.requests.find((r) => r.method === 'POST')).toMatchObject({ path: '/v2/apps' });
    await waitFor('first success', () =>
      events.find((e) => e.type === 'deployment_success' && e.deploymentId === created.deploymentId),
    );
    const updated = await c.deploy({ ...WEB, cpus: 1, env: { MODE: 'canary' } });
    const put = server.requests.find((r) => r.method === 'PUT');
    expect(put?.path).toBe('/v2/apps/shop/web?partialUpdate=true');
    expect(put?.body).toMatchObject({ cpus: 1, env: { MODE: 'canary' } });
    await waitFor('second success', () =>
      events.find((e) => e.type === 'deployment_success' && e.deploymentId === updated.deploymentId),
    );
    const mine = events.filter((e) => e.deploymentId === updated.deploymentId).map((e) => e.type);
    expect(mine).toEqual(['deployment_started', 'deployment_step', 'deployment_success']);
    expect(events.filter((e) => e.type === 'task_changed' && e.state === 'running').length).toBe(4);
    expect(events.filter((e) => e.type === 'task_changed' && e.state === 'killed').length).toBe(2);
    expect(events.some((e) => e.type === 'health_changed' && e.state === 'healthy')).toBe(true);
    expect((await c.getApp('/shop/web'))?.spec).toMatchObject({ cpus: 1, env: { MODE: 'canary' } });
  });

  it('scales with PUT /v2/apps/{id} {"instances": n} and the new tasks come up', async () => {
    const c = client();
    await deployed(c, WEB);
    const { deploymentId } = await c.scale('/shop/web', 5);
    const put = server.requests.filter((r) => r.method === 'PUT');
    expect(put).toEqual([{ method: 'PUT', path: '/v2/apps/shop/web', body: { instances: 5 } }]);
    await waitFor('scale deployment', () => !server.state.deployments.has(deploymentId!));
    const app = await c.getApp('/shop/web');
    expect(app?.spec.instances).toBe(5);
    expect(app?.tasks.filter((t) => t.state === 'running')).toHaveLength(5);
  });

  it('does not force a locked app: CONFLICT naming the deployment, and no force=true request', async () => {
    const c = client();
    await deployed(c, WEB);
    const lock = server.lockApp('/shop/web');
    const err = await c.scale('/shop/web', 4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('CONFLICT');
    expect((err as HubError).message).toContain(lock);
    expect((err as HubError).message).toContain('not forced');
    expect(server.requests.some((r) => r.path.includes('force=true'))).toBe(false);
    expect(server.state.apps.get('/shop/web')?.instances).toBe(2);
  });

  it('forces a locked app once with forceOnLock, cancelling the locking deployment', async () => {
    const c = client({ forceOnLock: true });
    await deployed(c, WEB);
    const lock = server.lockApp('/shop/web');
    await c.scale('/shop/web', 4);
    const puts = server.requests.filter((r) => r.method === 'PUT').map((r) => r.path);
    expect(puts).toEqual(['/v2/apps/shop/web', '/v2/apps/shop/web?force=true']);
    expect(server.state.deployments.has(lock)).toBe(false);
    expect(server.state.apps.get('/shop/web')?.instances).toBe(4);
  });

  it.each([
    ['cpus', { cpus: 0 }, 'got 0.0, expected 0.001 or more'],
    ['mem', { mem: -1 }, 'got -1.0, expected 0.0 or more'],
    ['instances', { instances: -2 }, 'got -2, expected 0 or more'],
    ['id', { id: '/Shop/Web_1' }, 'must fully match regular expression'],
  ])('a 422 on %s comes back as INVALID_INPUT with the field', async (field, change, message) => {
    const err = await client()
      .deploy({ ...WEB, ...change })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('INVALID_INPUT');
    expect((err as HubError).details).toEqual([{ field, message: expect.stringContaining(message) }]);
    expect(server.state.apps.size).toBe(0);
  });

  it('retries a 503 and then succeeds; gives up as UNAVAILABLE (canRetry) when it persists', async () => {
    const c = client();
    server.failNext(503, 2, '/v2/apps');
    expect(await c.listApps()).toEqual([]);
    expect(server.requests.filter((r) => r.path.startsWith('/v2/apps')).length).toBe(3);
    server.failNext(503, 10, '/v2/apps');
    const err = await c.listApps().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', canRetry: true });
  });

  it('maps 404 on scale to NOT_FOUND, and a refused login to UNAUTHORIZED', async () => {
    const err = await client()
      .scale('/shop/none', 1)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    await server.close();
    server = await startMarathonContractServer({ user: 'ops', password: 's3cret' });
    expect(
      await client()
        .listApps()
        .catch((e: unknown) => (e as HubError).code),
    ).toBe('UNAUTHORIZED');
    expect(await client({ user: 'ops', password: 's3cret' }).listApps()).toEqual([]);
  });

  it('reconnects after the stream drops and does not miss a deployment that finished meanwhile', async () => {
    const c = client({ retry: { attempts: 3, baseMs: 20 } });
    const events: OrchestratorEvent[] = [];
    c.watch((e) => events.push(e));
    await waitFor('stream', () => server.requests.some((r) => r.path.startsWith('/v2/events')));
    server.setDeploymentMs(100);
    const { deploymentId } = await c.deploy(WEB);
    await waitFor('started', () => events.find((e) => e.deploymentId === deploymentId));
    server.dropEventStreams(300); // the deployment finishes while no stream is open
    await waitFor('finished on the server', () => !server.state.deployments.has(deploymentId!));
    const success = await waitFor('success', () =>
      events.find((e) => e.type === 'deployment_success' && e.deploymentId === deploymentId),
    );
    expect(success.appId).toBe('/shop/web');
    expect(success.message).toContain('inferred');
    expect(server.requests.filter((r) => r.path.startsWith('/v2/events')).length).toBeGreaterThan(1);
    // And the new stream carries events again.
    const scaled = await c.scale('/shop/web', 3);
    await waitFor('success after reconnect', () =>
      events.find(
        (e) => e.type === 'deployment_success' && e.deploymentId === scaled.deploymentId && !e.message,
      ),
    );
    expect(
      events.filter((e) => e.type === 'deployment_success' && e.deploymentId === deploymentId),
    ).toHaveLength(1);
  });

  it('asks Marathon for the followed event types only', async () => {
    const c = client();
    c.watch(() => {});
    const req = await waitFor('stream', () => server.requests.find((r) => r.path.startsWith('/v2/events')));
    const types = new URL(req.path, server.url).searchParams.getAll('event_type');
    expect(types.sort()).toEqual(
      [
        'deployment_failed',
        'deployment_info',
        'deployment_step_success',
        'deployment_success',
        'health_status_changed_event',
        'status_update_event',
      ].sort(),
    );
  });
});
