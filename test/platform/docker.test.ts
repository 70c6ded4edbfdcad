/**
 * The Docker orchestrator against a real Docker Engine API (podman's service): deploy, list back,
 * scale out and in, replace, scale to zero, the event stream, and the errors a user gets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { createMemoryLogger } from '../../core/logger.ts';
import {
  createDockerOrchestrator,
  type DockerOrchestrator,
} from '../../platform/orchestrators/docker/docker-orchestrator.ts';
import type { AppSpec, OrchestratorEvent } from '../../platform/types.ts';
import { missingPrerequisite } from '../containers/cgroup-harness.ts';
import { eventually } from '../harness.ts';
import { IMAGE, type PodmanApi, podmanUnavailable, startPodmanApi } from './podman-harness.ts';

const MiB = 1024 * 1024;
const skip = missingPrerequisite('The Docker orchestrator test (podman)', podmanUnavailable());

const cart: AppSpec = {
  id: '/shop/cart',
  type: 'Worker',
  image: IMAGE,
  cmd: 'echo started; exec sleep 600',
  cpus: 0.25,
  mem: 48,
  instances: 2,
  labels: { team: 'web', 'obs.autoscale.mode': 'auto' },
  env: { GREETING: 'hello' },
};

async function rejection(p: Promise<unknown>): Promise<HubError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HubError);
  return e as HubError;
}

describe.skipIf(skip)('Docker orchestrator on a real Docker Engine API (podman)', () => {
  let podman: PodmanApi;
  let orchestrator: DockerOrchestrator;
  const clock = new FakeClock();
  const logger = createMemoryLogger();
  const events: OrchestratorEvent[] = [];
  let unwatch: { close(): void } | undefined;

  /** The running task containers of an app, as Docker itself lists them. */
  const running = async (appId: string) =>
    (
      await podman.docker.listContainers({ filters: { label: [`obs.app=${appId}`, 'obs.role=task'] } })
    ).filter((c) => c.State === 'running');

  beforeAll(async () => {
    podman = await startPodmanApi();
    orchestrator = createDockerOrchestrator({
      docker: { socketPath: podman.socketPath },
      clock,
      logger,
      network: 'none',
      stopTimeoutSeconds: 1,
    });
    unwatch = orchestrator.watch((e) => events.push(e));
  });

  afterAll(async () => {
    unwatch?.close();
    await orchestrator?.close();
    await podman?.stop();
  });

  it('deploys an app as containers with its limits, labels and Marathon env, and lists it back', async () => {
    const { deploymentId } = await orchestrator.deploy(cart);
    expect(deploymentId).toBeTruthy();

    const containers = await running('/shop/cart');
    expect(containers).toHaveLength(2);
    for (const c of containers) {
      const info = await podman.docker.getContainer(c.Id).inspect();
      expect(info.HostConfig.NanoCpus).toBe(250_000_000);
      expect(info.HostConfig.Memory).toBe(48 * MiB);
      expect(info.Config.Labels).toMatchObject({
        team: 'web',
        'obs.app': '/shop/cart',
        'obs.type': 'Worker',
      });
      const task = info.Name.replace(/^\//, '');
      expect(info.Config.Env).toEqual(
        expect.arrayContaining(['GREETING=hello', 'MARATHON_APP_ID=/shop/cart', `MESOS_TASK_ID=${task}`]),
      );
      const logs = (await podman.docker.getContainer(c.Id).logs({ stdout: true })).toString();
      expect(logs).toContain('started');
    }

    const apps = await orchestrator.listApps();
    expect(apps.map((a) => a.spec.id)).toEqual(['/shop/cart']);
    const app = apps[0]!;
    expect(app.spec).toEqual(cart);
    expect(app.orchestrator).toBe('docker');
    expect(app.deployments).toEqual([]);
    expect(app.tasks).toHaveLength(2);
    for (const t of app.tasks) {
      expect(t.state).toBe('running');
      expect(t.appId).toBe('/shop/cart');
      expect(t.startedAt).toBeGreaterThan(Date.now() - 120_000);
      expect(t.tags).toEqual({ project: 'shop', app: 'cart', task: t.id, container: t.id });
      expect(t.id).toMatch(/^shop_cart\.[0-9a-f]+$/);
    }
    expect(await orchestrator.getApp('/shop/none')).toBeUndefined();
  });

  it('scales out to 3 then in to 1, keeping the oldest container, and the event stream tells each step', async () => {
    const before = (await orchestrator.getApp('/shop/cart'))!.tasks.map((t) => t.id).sort();
    const seen = events.length;

    const out = await orchestrator.scale('/shop/cart', 3);
    const afterOut = (await orchestrator.getApp('/shop/cart'))!;
    expect(afterOut.tasks.map((t) => t.state)).toEqual(['running', 'running', 'running']);
    expect((await running('/shop/cart')).length).toBe(3);
    const added = afterOut.tasks.map((t) => t.id).filter((id) => !before.includes(id));
    expect(added).toHaveLength(1);
    expect(afterOut.tasks.map((t) => t.id)).toEqual(expect.arrayContaining(before));

    // Newest first goes on scale-in: the container Docker created first is the one to stay.
    const created = await Promise.all(
      afterOut.tasks.map(async (t) => ({
        id: t.id,
        at: Date.parse((await podman.docker.getContainer(t.id).inspect()).Created),
      })),
    );
    const oldest = created.sort((a, b) => a.at - b.at)[0]!.id;
    expect(before).toContain(oldest);
    await orchestrator.scale('/shop/cart', 1);
    const left = (await running('/shop/cart')).map((c) => c.Names[0]!.replace(/^\//, ''));
    expect(left).toEqual([oldest]);
    const afterIn = (await orchestrator.getApp('/shop/cart'))!;
    expect(afterIn.spec.instances).toBe(1);
    expect(afterIn.tasks.map((t) => t.id)).toEqual([oldest]);

    const removed = afterOut.tasks.map((t) => t.id).filter((id) => id !== oldest);
    await eventually(async () => {
      const mine = events.slice(seen);
      expect(mine).toContainEqual(
        expect.objectContaining({
          type: 'task_changed',
          appId: '/shop/cart',
          taskId: added[0],
          state: 'running',
        }),
      );
      for (const id of removed)
        expect(mine).toContainEqual(
          expect.objectContaining({ type: 'task_changed', taskId: id, state: 'killed' }),
        );
      expect(mine).toContainEqual(
        expect.objectContaining({
          type: 'deployment_started',
          deploymentId: out.deploymentId,
          appId: '/shop/cart',
        }),
      );
      expect(mine).toContainEqual(
        expect.objectContaining({ type: 'deployment_success', deploymentId: out.deploymentId }),
      );
    });
  });

  it('refuses a second change to an app while one runs, and lists the one in flight', async () => {
    const first = orchestrator.scale('/shop/cart', 2);
    expect(orchestrator.deployments()).toEqual([
      expect.objectContaining({ appId: '/shop/cart', action: 'scale', instances: 2 }),
    ]);
    const e = await rejection(orchestrator.scale('/shop/cart', 4));
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toContain('/shop/cart');
    await first;
    expect(orchestrator.deployments()).toEqual([]);
    expect(await running('/shop/cart')).toHaveLength(2);
  });

  it('replaces every container on a new deploy, and keeps the app through a scale to zero', async () => {
    const old = (await running('/shop/cart')).map((c) => c.Id);
    await orchestrator.deploy({ ...cart, cpus: 0.5, instances: 1 });
    const now = await running('/shop/cart');
    expect(now).toHaveLength(1);
    expect(old).not.toContain(now[0]!.Id);
    expect((await podman.docker.getContainer(now[0]!.Id).inspect()).HostConfig.NanoCpus).toBe(500_000_000);

    await orchestrator.scale('/shop/cart', 0);
    expect(await running('/shop/cart')).toHaveLength(0);
    const idle = await orchestrator.getApp('/shop/cart');
    expect(idle?.spec).toEqual({ ...cart, cpus: 0.5, instances: 0 });
    expect(idle?.tasks).toEqual([]);
    await orchestrator.scale('/shop/cart', 1);
    expect(await running('/shop/cart')).toHaveLength(1);
  });

  it('shows a task that exited as failed, and replaces it on the next scale', async () => {
    const crashy: AppSpec = { ...cart, id: '/shop/crashy', cmd: 'sleep 1; exit 3', instances: 1, labels: {} };
    await orchestrator.deploy(crashy);
    const [task] = (await orchestrator.getApp(crashy.id))!.tasks;
    const failed = await eventually(async () => {
      const now = (await orchestrator.getApp(crashy.id))!.tasks[0]!;
      expect(now.state).toBe('failed');
      return now;
    });
    expect(failed.id).toBe(task!.id);
    await eventually(async () =>
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'task_changed', taskId: task!.id, state: 'failed' }),
      ),
    );
    await orchestrator.scale(crashy.id, 1);
    const after = (await orchestrator.getApp(crashy.id))!;
    expect(after.tasks).toHaveLength(1);
    expect(after.tasks[0]!.id).not.toBe(task!.id);
    expect(['running', 'failed']).toContain(after.tasks[0]!.state);
    await orchestrator.scale(crashy.id, 0);
  });

  it('follows the event stream across a restart of the Docker API, without repeating events', async () => {
    const seen = events.length;
    await podman.restart();
    // The adapter retries on the clock (2 s): move it until a new stream is up and events flow.
    await orchestrator.scale('/shop/cart', 2);
    const added = await eventually(async () => {
      clock.advance(2000);
      const mine = events.slice(seen).filter((e) => e.type === 'task_changed' && e.state === 'running');
      expect(mine).toHaveLength(1);
      return mine[0]!;
    }, 20_000);
    expect((await orchestrator.getApp('/shop/cart'))!.tasks.map((t) => t.id)).toContain(added.taskId);
    const keys = events.map((e) => JSON.stringify(e));
    expect(new Set(keys).size).toBe(keys.length);
    expect(logger.lines.some((l) => l['msg'] === 'Docker event stream reconnected')).toBe(true);
    await orchestrator.scale('/shop/cart', 1);
  });

  it('says which field is wrong: a missing image, a bad spec, a bad instance count', async () => {
    const missing = await rejection(
      orchestrator.deploy({ ...cart, id: '/shop/ghost', image: 'localhost/nope:1' }),
    );
    expect(missing.code).toBe('INVALID_INPUT');
    expect(missing.details).toEqual([expect.objectContaining({ field: 'image' })]);
    expect(missing.message).toContain('localhost/nope:1');
    expect(await orchestrator.getApp('/shop/ghost')).toBeUndefined();

    const bad = await rejection(orchestrator.deploy({ ...cart, cpus: 0, mem: 1 }));
    expect(bad.code).toBe('INVALID_INPUT');
    expect(bad.details?.map((d) => d.field).sort()).toEqual(['cpus', 'mem']);

    const count = await rejection(orchestrator.scale('/shop/cart', -1));
    expect(count.details).toEqual([expect.objectContaining({ field: 'instances' })]);
    expect((await rejection(orchestrator.scale('/shop/none', 1))).code).toBe('NOT_FOUND');
  });

  it('reports a Docker API that does not answer as UPSTREAM_FAILED with the reason', async () => {
    const gone = createDockerOrchestrator({
      docker: { socketPath: `${podman.workdir}/no-such.sock` },
      clock: new FakeClock(),
      logger,
    });
    const e = await rejection(gone.listApps());
    expect(e.code).toBe('UPSTREAM_FAILED');
    expect(e.canRetry).toBe(true);
    expect(e.message).toMatch(/Docker API failed to list containers: cannot reach Docker \(ENOENT/);
    await gone.close();
  });
});
