/**
 * The platform loop end to end: the real embedded store filled with container points, the real
 * Marathon adapter against the Marathon contract server, a fake clock for the loop.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HubError } from '../core/errors.ts';
import { eventually } from '../test/harness.ts';
import type { DeploymentView } from './service.ts';
import { containerPoints, type PlatformFixture, startPlatformFixture } from './service-testing.ts';
import type { HealthEvent, ScalingRecord } from './types.ts';

const BUSY = { cpu: 0.95, cpuLimit: 1, workingSetMiB: 100, memLimitMiB: 256 };
const IDLE = { cpu: 0.01, cpuLimit: 1, workingSetMiB: 40, memLimitMiB: 256 };

let fixture: PlatformFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function deployWeb(f: PlatformFixture, labels: Record<string, string>, instances = 2) {
  f.platform.start(); // follows Marathon's event stream, as the hub does
  const deployed: DeploymentView[] = [];
  f.platform.events.on('deployment', (d: DeploymentView) => deployed.push(d));
  const result = await f.platform.deploy({
    id: '/shop/web',
    type: 'WEB',
    image: 'registry.local/shop/web:1.0',
    cpus: 1,
    mem: 256,
    instances,
    ports: [8080],
    labels,
  });
  expect(result.deploymentId).toBeTruthy();
  await eventually(async () =>
    expect(f.platform.deployments().find((d) => d.id === result.deploymentId)?.status).toBe('success'),
  );
  const tasks = await f.marathon!.tasks('/shop/web');
  expect(tasks.length).toBe(instances);
  return { deploymentId: result.deploymentId!, tasks, deployed };
}

async function writeLoad(f: PlatformFixture, tasks: { id: string }[], load: typeof BUSY) {
  await f.store.write(
    tasks.flatMap((t, i) => containerPoints('/shop/web', t.id, `web-${i + 1}`, load, f.clock.now())),
  );
}

describe('platform loop with Marathon', () => {
  it('follows a deployment live, sees a busy app with its reasons, and scales it in auto mode', async () => {
    fixture = await startPlatformFixture({ marathon: true });
    const f = fixture;
    const { deploymentId, tasks, deployed } = await deployWeb(f, {
      'obs.autoscale.mode': 'auto',
      'obs.autoscale.max': '6',
    });
    expect(deployed.map((d) => d.status)).toContain('running');
    const view = f.platform.deployments().find((d) => d.id === deploymentId)!;
    expect(view).toMatchObject({ appId: '/shop/web', orchestrator: 'marathon', status: 'success' });
    expect(view.endedAt).not.toBeNull();

    const health: HealthEvent[] = [];
    const decisions: ScalingRecord[] = [];
    f.platform.events.on('health', (e: HealthEvent) => health.push(e));
    f.platform.events.on('decision', (r: ScalingRecord) => decisions.push(r));
    await writeLoad(f, tasks, BUSY);
    await f.platform.evaluate();

    const app = f.platform.app('/shop/web')!;
    expect(app.orchestrator).toBe('marathon');
    expect(app.health.state).toBe('busy');
    expect(app.health.reasons.map((r) => r.code)).toContain('cpu_near_limit');
    expect(app.containers.map((c) => c.task).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(health.find((e) => e.kind === 'app')).toMatchObject({ appId: '/shop/web', to: 'busy' });
    expect(f.published.some((p) => p.metric === 'platform.health' && p.tags['app'] === 'web')).toBe(true);

    // 2 instances at 95 % against a 60 % target: ceil(2 × 0.95 / 0.6) = 4.
    const scaled = decisions.filter((d) => d.action === 'scaled');
    expect(scaled).toHaveLength(1);
    expect(scaled[0]).toMatchObject({
      appId: '/shop/web',
      mode: 'auto',
      action: 'scaled',
      current: 2,
      desired: 4,
    });
    expect(scaled[0]!.error).toBeUndefined();
    await eventually(async () => expect((await f.marathon!.getApp('/shop/web'))?.tasks.length).toBe(4));
    const scaleRequest = f.server!.requests.find(
      (r) => r.method === 'PUT' && r.path.startsWith('/v2/apps/shop/web'),
    );
    expect(scaleRequest?.body).toEqual({ instances: 4 });
    expect(f.platform.decisions({ appId: '/shop/web' })[0]).toMatchObject({ action: 'scaled', desired: 4 });
  });

  it('on a hub that does not lead its group, judges and advises but neither scales nor publishes health', async () => {
    let leads = false;
    fixture = await startPlatformFixture({ marathon: true, platform: { leads: () => leads } });
    const f = fixture;
    const { tasks } = await deployWeb(f, { 'obs.autoscale.mode': 'auto', 'obs.autoscale.max': '6' });
    await writeLoad(f, tasks, BUSY);
    await f.platform.evaluate();
    expect(f.platform.app('/shop/web')?.health.state).toBe('busy');
    expect(f.platform.decisions({ appId: '/shop/web' })[0]).toMatchObject({ action: 'advised', desired: 4 });
    expect(f.platform.decisions({ appId: '/shop/web' })[0]!.reason).toContain(
      'Another hub of the group leads',
    );
    expect(f.server!.requests.some((r) => r.method === 'PUT')).toBe(false);
    expect(f.published.some((p) => p.metric === 'platform.health')).toBe(false);

    // It becomes the leader: the next round scales and publishes.
    leads = true;
    f.clock.advance(15_000);
    await writeLoad(f, tasks, BUSY);
    await f.platform.evaluate();
    expect(f.platform.decisions({ appId: '/shop/web' })[0]).toMatchObject({ action: 'scaled', desired: 4 });
    expect(f.published.some((p) => p.metric === 'platform.health')).toBe(true);
  });

  it('records "app locked by deployment …; not forced" when a deployment locks the app before the scale', async () => {
    fixture = await startPlatformFixture({ marathon: true });
    const f = fixture;
    const { tasks } = await deployWeb(f, { 'obs.autoscale.mode': 'auto' });
    // A deployment starts between the listing the decision is made on and the scale request.
    const marathon = f.marathon!;
    const list = marathon.listApps.bind(marathon);
    let lock = '';
    marathon.listApps = async () => {
      const apps = await list();
      if (!lock) lock = f.server!.lockApp('/shop/web');
      return apps;
    };
    await writeLoad(f, tasks, BUSY);
    await f.platform.evaluate();
    const record = f.platform.decisions({ appId: '/shop/web' }).find((r) => r.error !== undefined);
    expect(record).toMatchObject({ mode: 'auto', current: 2, desired: 4, action: 'none' });
    expect(record!.error).toBe(`app locked by deployment ${lock}; not forced`);
    // The next round sees the deployment and waits for it instead.
    f.clock.advance(15_000);
    await f.platform.evaluate();
    expect(f.platform.decisions({ appId: '/shop/web' })[0]!.reason).toMatch(/deployment .* is running/);
    expect((await marathon.getApp('/shop/web'))?.spec.instances).toBe(2);
  });

  it('in advise mode only advises, and keeps decisions and advice across a restart', async () => {
    fixture = await startPlatformFixture({ marathon: true });
    const f = fixture;
    const { tasks } = await deployWeb(f, {}, 3);
    for (let i = 0; i < 4; i++) {
      f.clock.advance(60_000);
      await writeLoad(f, tasks, IDLE);
      await f.platform.evaluate();
    }
    const app = f.platform.app('/shop/web')!;
    expect(app.policy.mode).toBe('advise');
    expect(app.health.state).toBe('idle');
    const advised = f.platform.decisions({ appId: '/shop/web' });
    expect(advised[0]).toMatchObject({ mode: 'advise', action: 'advised', current: 3, desired: 1 });
    expect(advised.length).toBeLessThan(4); // repeated advice is not logged every round
    expect((await f.marathon!.getApp('/shop/web'))?.spec.instances).toBe(3);
    const advice = f.platform.advice().find((a) => a.appId === '/shop/web')!;
    expect(advice.recommended.cpus).toBeLessThan(1);
    expect(advice.waste.coreHoursPerDay).toBeGreaterThan(0);

    const lines = (await readFile(join(f.dir, 'platform', 'decisions.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.length).toBe(advised.length);
    const again = await f.reopen();
    expect(again.decisions({ appId: '/shop/web' })).toEqual(advised);
    // Advice needs no new round after a restart: the history was saved.
    f.clock.advance(60_000);
    await writeLoad(f, tasks, IDLE);
    await again.evaluate();
    // A fresh advisor would have one round of samples; this one goes on from the saved history.
    expect(again.advice().find((a) => a.appId === '/shop/web')!.samples).toBeGreaterThan(advice.samples);
  });

  it('refuses a bad app with one detail per field, and a scale of an unknown app', async () => {
    fixture = await startPlatformFixture({ marathon: true });
    const bad = await fixture.platform
      .deploy({ id: '/shop/web', type: 'WEB', cpus: -2, mem: 256, instances: 1, image: 'x', ports: [8080] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(HubError);
    expect((bad as HubError).code).toBe('INVALID_INPUT');
    expect((bad as HubError).details?.map((d) => d.field)).toEqual(['cpus']);
    expect(fixture.server!.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    const missing = await fixture.platform.scale('/shop/nope', 2).catch((e: unknown) => e);
    expect((missing as HubError).code).toBe('NOT_FOUND');
  });
});

describe('advice-only mode (no orchestrator)', () => {
  it('makes apps up from the containers the agents report, and only advises', async () => {
    fixture = await startPlatformFixture();
    const f = fixture;
    await f.store.write([
      ...containerPoints('/shop/api', undefined, 'api-1', BUSY, f.clock.now()),
      ...containerPoints('/shop/api', undefined, 'api-2', BUSY, f.clock.now()),
      ...containerPoints('/blog/www', undefined, 'www-1', IDLE, f.clock.now()),
    ]);
    await f.platform.evaluate();
    const apps = f.platform.apps();
    expect(apps.map((a) => [a.id, a.orchestrator, a.instances, a.health.state])).toEqual([
      ['/blog/www', 'none', 1, 'idle'],
      ['/shop/api', 'none', 2, 'busy'],
    ]);
    expect(apps[1]!.spec).toMatchObject({ cpus: 1, mem: 256 });
    expect(f.platform.decisions({ appId: '/shop/api' })[0]).toMatchObject({
      mode: 'advise',
      action: 'advised',
      current: 2,
      desired: 4,
    });
    const refused = await f.platform
      .deploy({ id: '/shop/api', type: 'WEB', image: 'x', cpus: 1, mem: 256, instances: 1, ports: [8080] })
      .catch((e: unknown) => e);
    expect((refused as HubError).code).toBe('UNAVAILABLE');
  });
});
