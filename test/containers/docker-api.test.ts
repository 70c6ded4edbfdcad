/**
 * Containers through a real Docker-compatible API: podman's Docker API service, started by the
 * recipe `docker-api-with-podman.sh` (it builds a busybox image locally: no registry is reachable).
 * Containers created through dockerode with Marathon/Mesos labels and env are discovered from
 * their cgroups, named and tagged through the API, and measured.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupSource } from '../../collector/containers/cgroup-source.ts';
import { createDockerIdentity } from '../../collector/containers/docker-identity.ts';
import { createMemoryLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import type { ContainerInfo } from '../../core/ports.ts';
import {
  cgroupsUnavailable,
  cpuTolerance,
  missingPrerequisite,
  processCpuSeconds,
} from './cgroup-harness.ts';

const MiB = 1024 * 1024;
const IMAGE = 'localhost/busybox-local:latest';
const RECIPES = ['scripts/docker-api-with-podman.sh', '../shared/recipes/docker-api-with-podman.sh'].map(
  (p) => resolve(import.meta.dirname, '../..', p),
);
const recipe = RECIPES.find(existsSync);

function prerequisites(): string | undefined {
  const cgroups = cgroupsUnavailable();
  if (cgroups) return cgroups;
  if (!recipe) return `the recipe docker-api-with-podman.sh is at none of ${RECIPES.join(', ')}`;
  const tools = ['podman', 'runc', 'curl'].filter((t) => !onPath(t));
  if (!existsSync('/bin/busybox')) tools.push('busybox (static)');
  return tools.length
    ? `missing ${tools.join(', ')}: install the Debian packages podman runc busybox-static curl`
    : undefined;
}

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = missingPrerequisite('The Docker API test (podman)', prerequisites());

const value = (points: MetricPoint[], container: string, metric: string) =>
  points.find((p) => p.tags['container'] === container && p.metric === metric)?.value;

describe.skipIf(skip)('containers through a real Docker-compatible API (podman)', () => {
  const suffix = randomBytes(3).toString('hex');
  const cart = `obs-cart-${suffix}`;
  const cache = `obs-cache-${suffix}`;
  const task = `shop_cart.${suffix}`;
  let workdir: string;
  let docker: Docker;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'obs-test-podman-'));
    const out = execFileSync('bash', [recipe!, workdir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const socketPath = out.trim().split('\n').pop()!;
    docker = new Docker({ socketPath });
    const run = async (name: string, options: Docker.ContainerCreateOptions) => {
      const container = await docker.createContainer({ name, Image: IMAGE, ...options });
      await container.start();
      ids[name] = container.id;
    };
    await run(cart, {
      Cmd: ['sh', '-c', 'while :; do :; done'],
      Labels: { MARATHON_APP_ID: '/shop/cart', MESOS_TASK_ID: task },
      Env: ['MARATHON_APP_VERSION=2026-01-01T00:00:00.000Z'],
      HostConfig: { NanoCpus: 500_000_000, Memory: 64 * MiB },
    });
    // 40 MB in the container's /dev/shm: memory charged to it that it cannot give back.
    await run(cache, {
      Cmd: [
        'sh',
        '-c',
        'dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null; echo filled; exec sleep 600',
      ],
      Env: ['MARATHON_APP_ID=/shop/cache', 'MESOS_TASK_ID=shop_cache.1'],
      HostConfig: { Memory: 128 * MiB },
    });
    for (let i = 0; i < 100; i++) {
      const logs = (await docker.getContainer(ids[cache]!).logs({ stdout: true })).toString();
      if (logs.includes('filled')) break;
      await sleep(100);
    }
  });

  afterAll(async () => {
    for (const id of Object.values(ids))
      await docker
        ?.getContainer(id)
        .remove({ force: true })
        .catch(() => {});
    if (!workdir) return;
    const pid = await readFile(join(workdir, 'service.pid'), 'utf8').catch(() => '');
    if (pid.trim()) {
      try {
        process.kill(Number(pid), 'SIGTERM');
      } catch {}
    }
    await sleep(500);
    // podman bind-mounts its storage onto itself; unmount before removing the directory.
    try {
      execFileSync('umount', ['-l', join(workdir, 'storage/overlay')], { stdio: 'ignore' });
    } catch {}
    await rm(workdir, { recursive: true, force: true }).catch(() => {});
  });

  it('discovers the containers with their names, labels and Marathon/Mesos identity, and measures them', async () => {
    const logger = createMemoryLogger();
    const identity = createDockerIdentity({ docker, logger });
    const source = createCgroupSource({ tags: { host: 'test-host', dc: 'test' }, identity, logger });
    const all = await source.list();
    const mine = (c: ContainerInfo) => Object.values(ids).includes(c.id);
    const containers = all.filter(mine);
    expect(containers.map((c) => c.tags['container']).sort()).toEqual([cache, cart].sort());
    const byName = Object.fromEntries(containers.map((c) => [c.tags['container'], c]));
    expect(byName[cart]!.tags).toEqual({ project: 'shop', app: 'cart', task, container: cart });
    expect(byName[cache]!.tags).toEqual({
      project: 'shop',
      app: 'cache',
      task: 'shop_cache.1',
      container: cache,
    });
    expect(byName[cart]!.cgroupPath).toContain(ids[cart]!);
    const known = await identity.identities();
    expect(known.get(ids[cart]!)).toMatchObject({
      name: cart,
      image: IMAGE,
      appVersion: '2026-01-01T00:00:00.000Z',
    });
    expect(known.get(ids[cart]!)!.labels).toMatchObject({ MARATHON_APP_ID: '/shop/cart' });

    const cartPid = byName[cart]!.pid!;
    const t0 = Date.now();
    const own0 = processCpuSeconds(cartPid);
    await source.sample(containers, t0);
    await sleep(3000);
    const t1 = Date.now();
    const seconds = (t1 - t0) / 1000;
    const own = (processCpuSeconds(cartPid) - own0) / seconds;
    const points = await source.sample(containers, t1);
    const cpu = value(points, cart, 'container.cpu.usage')!;
    const ws = value(points, cache, 'container.mem.working_set')!;
    console.log(
      `podman: cart ${cpu.toFixed(3)} cores (own ${own.toFixed(3)}, limit ${value(points, cart, 'container.cpu.limit')}), ` +
        `cache working set ${(ws / MiB).toFixed(1)} MiB`,
    );
    for (const p of points.filter((p) => p.tags['container'] === cart))
      expect(p.tags).toEqual({
        host: 'test-host',
        dc: 'test',
        project: 'shop',
        app: 'cart',
        task,
        container: cart,
      });
    expect(value(points, cart, 'container.cpu.limit')).toBe(0.5);
    expect(cpu).toBeLessThanOrEqual(0.55);
    expect(Math.abs(cpu - own)).toBeLessThanOrEqual(cpuTolerance(own, seconds));
    expect(value(points, cart, 'container.mem.limit')).toBe(64 * MiB);
    expect(value(points, cart, 'container.mem.usage')).toBeGreaterThan(0);
    expect(value(points, cache, 'container.mem.limit')).toBe(128 * MiB);
    expect(Math.abs(ws - 40 * MiB) / (40 * MiB)).toBeLessThan(0.15);
    expect(logger.lines.filter((l) => l['level'] === 'warn')).toEqual([]);
  });
});
