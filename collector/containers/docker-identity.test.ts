import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { createMemoryLogger } from '../../core/logger.ts';
import {
  createDockerIdentity,
  type DockerApi,
  parseDockerUrl,
  toContainerIdentity,
} from './docker-identity.ts';
import { appIdentity, identityTags, parseEnviron, parseEnvList } from './identity-tags.ts';

const ID = 'd'.repeat(64);

describe('identity from env and labels', () => {
  it.each([
    [{ MARATHON_APP_ID: '/shop/cart' }, {}, { project: 'shop', app: 'cart' }],
    [
      { MARATHON_APP_ID: '/shop/api/v2', MESOS_TASK_ID: 'shop_api.9' },
      {},
      { project: 'shop', app: 'api/v2', task: 'shop_api.9' },
    ],
    [{ MARATHON_APP_ID: '/solo' }, {}, { app: 'solo' }],
    [
      {},
      { MARATHON_APP_ID: '/a/b', MARATHON_APP_VERSION: '2026-01-01T00:00:00.000Z' },
      { project: 'a', app: 'b', appVersion: '2026-01-01T00:00:00.000Z' },
    ],
    [
      { MARATHON_APP_ID: '/env/wins' },
      { MARATHON_APP_ID: '/label/loses', MESOS_TASK_ID: 't1' },
      { project: 'env', app: 'wins', task: 't1' },
    ],
    [{ MARATHON_APP_ID: '' }, {}, {}],
  ])('%o + labels %o', (env, labels, want) => {
    expect(appIdentity(env, labels)).toEqual(want);
  });

  it('parses env lists and /proc environ', () => {
    expect(parseEnvList(['A=1', 'B=x=y', 'bad', '=v'])).toEqual({ A: '1', B: 'x=y' });
    expect(parseEnviron('A=1\0B=2\0')).toEqual({ A: '1', B: '2' });
    expect(parseEnvList(null)).toEqual({});
  });

  it('makes tags valid', () => {
    expect(identityTags({ project: 'shop', app: 'cart', task: 'cart:1 2' }, 'my container')).toEqual({
      project: 'shop',
      app: 'cart',
      task: 'cart_1_2',
      container: 'my_container',
    });
  });
});

describe('parseDockerUrl', () => {
  it.each([
    ['unix:///var/run/docker.sock', { socketPath: '/var/run/docker.sock' }],
    ['tcp://10.0.0.1:2375', { protocol: 'http', host: '10.0.0.1', port: 2375 }],
    ['tcp://docker', { protocol: 'http', host: 'docker', port: 2375 }],
    ['https://docker:2376', { protocol: 'https', host: 'docker', port: 2376 }],
  ])('%s', (url, want) => {
    expect(parseDockerUrl(url)).toEqual(want);
  });
  it.each(['unix://relative', 'ftp://x', 'not a url'])('rejects %s', (url) => {
    expect(() => parseDockerUrl(url)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('toContainerIdentity', () => {
  it('takes name, image, labels and env identity', () => {
    const identity = toContainerIdentity(
      {
        Id: ID,
        Name: '/cart-1',
        Config: {
          Env: ['MESOS_TASK_ID=shop_cart.7'],
          Labels: { MARATHON_APP_ID: '/shop/cart' },
          Image: 'shop/cart:3',
        },
        State: { Pid: 321 },
      },
      { Names: ['/cart-1'], Image: 'shop/cart:3', Labels: { team: 'web' } },
    );
    expect(identity).toEqual({
      id: ID,
      name: 'cart-1',
      image: 'shop/cart:3',
      labels: { team: 'web', MARATHON_APP_ID: '/shop/cart' },
      project: 'shop',
      app: 'cart',
      task: 'shop_cart.7',
      pid: 321,
      tags: { project: 'shop', app: 'cart', task: 'shop_cart.7', container: 'cart-1' },
    });
  });
});

function fakeDocker(): DockerApi & { up: boolean; lists: number; inspects: number; ids: string[] } {
  const api = {
    up: true,
    lists: 0,
    inspects: 0,
    ids: [ID],
    async listContainers() {
      api.lists++;
      if (!api.up) throw Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' });
      return api.ids.map((Id) => ({ Id, Names: [`/n-${Id.slice(0, 4)}`], Image: 'img', Labels: {} }));
    },
    getContainer(id: string) {
      return {
        async inspect() {
          api.inspects++;
          return { Id: id, Name: `/n-${id.slice(0, 4)}`, Config: { Env: ['MARATHON_APP_ID=/p/a'] } };
        },
      };
    },
  };
  return api;
}

describe('createDockerIdentity with a fake API and clock', () => {
  it('caches the list for the TTL and inspects each container once', async () => {
    const docker = fakeDocker();
    const clock = new FakeClock();
    const identity = createDockerIdentity({ docker, clock, ttlMs: 30_000 });
    expect((await identity.identities()).get(ID)?.tags).toEqual({
      project: 'p',
      app: 'a',
      container: 'n-dddd',
    });
    await identity.identities();
    expect([docker.lists, docker.inspects]).toEqual([1, 1]);
    clock.advance(30_000);
    docker.ids = [ID, 'e'.repeat(64)];
    expect([...(await identity.identities()).keys()]).toEqual([ID, 'e'.repeat(64)]);
    expect([docker.lists, docker.inspects]).toEqual([2, 2]);
    expect(identity.available).toBe(true);
  });

  it('keeps the last identities, warns once per outage and retries later', async () => {
    const docker = fakeDocker();
    const clock = new FakeClock();
    const logger = createMemoryLogger();
    const identity = createDockerIdentity({ docker, clock, logger, ttlMs: 1000, retryMs: 60_000 });
    await identity.identities();
    docker.up = false;
    for (let i = 0; i < 5; i++) {
      clock.advance(20_000);
      expect((await identity.identities()).has(ID)).toBe(true);
    }
    expect(identity.available).toBe(false);
    expect(docker.lists).toBe(3); // first, the failure at 20 s, the retry at 80 s
    expect(logger.lines.filter((l) => l['level'] === 'warn')).toHaveLength(1);
    docker.up = true;
    clock.advance(60_000);
    await identity.identities();
    expect(identity.available).toBe(true);
    expect(logger.lines.map((l) => l['msg'])).toContain(
      'Docker answers again; containers have names and app tags',
    );
  });

  it('runs cgroup-only against a real dockerode whose socket is not there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'obs-no-docker-'));
    try {
      const logger = createMemoryLogger();
      const identity = createDockerIdentity({ url: `unix://${dir}/docker.sock`, logger, timeoutMs: 1000 });
      expect((await identity.identities()).size).toBe(0);
      expect((await identity.identities()).size).toBe(0);
      expect(identity.available).toBe(false);
      const warnings = logger.lines.filter((l) => l['level'] === 'warn');
      expect(warnings).toHaveLength(1);
      expect(JSON.stringify(warnings[0])).toContain('ENOENT');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
