import { describe, expect, it } from 'vitest';
import type { AppSpec } from '../../types.ts';
import {
  appSlug,
  createEventSplitter,
  createOptions,
  type DockerEventMessage,
  dockerTime,
  type InspectedContainer,
  orchestratorEventOf,
  specOfLabels,
  taskOf,
  taskState,
} from './mapping.ts';

const spec: AppSpec = {
  id: '/shop/cart',
  type: 'Worker',
  image: 'localhost/busybox-local:latest',
  cmd: 'while :; do :; done',
  cpus: 0.5,
  mem: 64,
  instances: 2,
  labels: { team: 'web', 'obs.app': '/evil/override', 'obs.autoscale.mode': 'auto' },
  env: { GREETING: 'hi', MARATHON_APP_ID: '/evil/override' },
  healthCheck: {
    protocol: 'COMMAND',
    command: 'test -f /tmp/ok',
    intervalSeconds: 5,
    maxConsecutiveFailures: 3,
  },
};

describe('createOptions', () => {
  const options = createOptions(spec, {
    role: 'task',
    name: 'shop_cart.abc',
    version: '2026-01-01T00:00:00.000Z',
    network: 'none',
  });

  it('turns cpus and mem into Docker limits, and cmd into sh -c', () => {
    expect(options.HostConfig).toEqual({
      NanoCpus: 500_000_000,
      Memory: 64 * 1024 * 1024,
      NetworkMode: 'none',
    });
    expect(options.Cmd).toEqual(['sh', '-c', 'while :; do :; done']);
    expect(options.name).toBe('shop_cart.abc');
  });

  it('gives the env Marathon and Mesos give a task, which a spec cannot override', () => {
    expect(options.Env).toEqual(
      expect.arrayContaining([
        'GREETING=hi',
        'MARATHON_APP_ID=/shop/cart',
        'MESOS_TASK_ID=shop_cart.abc',
        'MARATHON_APP_VERSION=2026-01-01T00:00:00.000Z',
      ]),
    );
    expect(options.Env).not.toContain('MARATHON_APP_ID=/evil/override');
  });

  it('keeps the spec in labels, with the adapter labels winning over the spec ones', () => {
    expect(options.Labels).toMatchObject({
      team: 'web',
      'obs.autoscale.mode': 'auto',
      'obs.app': '/shop/cart',
      'obs.type': 'Worker',
      'obs.role': 'task',
      'obs.task': 'shop_cart.abc',
    });
    expect(specOfLabels(options.Labels)).toEqual(spec);
  });

  it('maps a COMMAND health check to a Docker health check in nanoseconds', () => {
    expect(options.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'test -f /tmp/ok'],
      Interval: 5e9,
      Retries: 3,
    });
  });

  it('leaves the image command alone without cmd, and gives a definition no task id', () => {
    const { cmd: _, ...noCmd } = spec;
    const def = createOptions(noCmd, { role: 'definition', name: 'd', version: 'v' });
    expect(def.Cmd).toBeUndefined();
    expect(def.Labels?.['obs.task']).toBeUndefined();
    expect(def.Env?.some((e) => e.startsWith('MESOS_TASK_ID='))).toBe(false);
    expect(def.HostConfig?.NetworkMode).toBeUndefined();
  });
});

describe('specOfLabels', () => {
  it.each([
    ['no label', {}],
    ['not JSON', { 'obs.app': '/a/b', 'obs.spec': '{' }],
    ['another app', { 'obs.app': '/a/b', 'obs.spec': '{"id":"/a/c"}' }],
    ['null', { 'obs.app': '/a/b', 'obs.spec': 'null' }],
  ])('is undefined for %s', (_, labels) => {
    expect(specOfLabels(labels)).toBeUndefined();
  });
});

describe('taskState', () => {
  it.each([
    [{ Status: 'created' }, 'staging'],
    [{ Status: 'running' }, 'running'],
    [{ Status: 'running', Health: { Status: 'unhealthy' } }, 'unhealthy'],
    [{ Status: 'running', Health: { Status: 'starting' } }, 'running'],
    [{ Status: 'restarting' }, 'starting'],
    [{ Status: 'exited', ExitCode: 0 }, 'finished'],
    [{ Status: 'exited', ExitCode: 137 }, 'failed'],
    [{ Status: 'removing' }, 'killed'],
    [{ Status: 'dead' }, 'failed'],
    [undefined, 'lost'],
  ])('%j is %s', (state, expected) => {
    expect(taskState(state)).toBe(expected);
  });
});

describe('taskOf', () => {
  const container: InspectedContainer = {
    Id: 'f00d'.repeat(16),
    Name: '/shop_cart.abc',
    Created: '2026-01-01T00:00:00.5Z',
    Config: {
      Env: ['MARATHON_APP_ID=/shop/cart', 'MESOS_TASK_ID=shop_cart.abc'],
      Labels: { 'obs.app': '/shop/cart', 'obs.task': 'shop_cart.abc' },
    },
    State: { Status: 'running', StartedAt: '2026-01-01T00:00:01.250Z', Health: { Status: 'healthy' } },
  };

  it('reads id, state, start time, health and the tags the agent puts on its points', () => {
    expect(taskOf(container, 'node-1')).toEqual({
      id: 'shop_cart.abc',
      appId: '/shop/cart',
      host: 'node-1',
      state: 'running',
      startedAt: Date.UTC(2026, 0, 1, 0, 0, 1, 250),
      healthChecks: [true],
      tags: { project: 'shop', app: 'cart', task: 'shop_cart.abc', container: 'shop_cart.abc' },
    });
  });

  it('has no start time before the container started (Go zero time)', () => {
    const created = { ...container, State: { Status: 'created', StartedAt: '0001-01-01T00:00:00Z' } };
    expect(taskOf(created, 'h').startedAt).toBeUndefined();
    expect(taskOf(created, 'h').healthChecks).toEqual([]);
  });
});

describe('dockerTime and appSlug', () => {
  it.each([
    ['2026-11-26T23:32:14.576135478Z', Date.parse('2026-11-26T23:32:14.576Z')],
    ['0001-01-01T00:00:00Z', undefined],
    ['', undefined],
    ['garbage', undefined],
  ])('dockerTime(%s) = %s', (iso, ms) => {
    expect(dockerTime(iso)).toBe(ms);
  });

  it('writes /project/app as Marathon does in task ids', () => {
    expect(appSlug('/shop/cart')).toBe('shop_cart');
  });
});

describe('orchestratorEventOf', () => {
  const attributes = { 'obs.app': '/shop/cart', 'obs.task': 'shop_cart.abc', name: 'shop_cart.abc' };
  const message = (Action: string, extra: Record<string, string> = {}): DockerEventMessage => ({
    Type: 'container',
    Action,
    Actor: { ID: 'cid', Attributes: { ...attributes, ...extra } },
    timeNano: 1_700_000_000_123_456_000,
  });
  const cases: [string, DockerEventMessage, Set<string>, { type: string; state: string } | undefined][] = [
    ['start', message('start'), new Set(), { type: 'task_changed', state: 'running' }],
    ['die 0', message('die', { exitCode: '0' }), new Set(), { type: 'task_changed', state: 'finished' }],
    ['die 1', message('die', { exitCode: '1' }), new Set(), { type: 'task_changed', state: 'failed' }],
    [
      'die while we stop it',
      message('die', { exitCode: '137' }),
      new Set(['cid']),
      { type: 'task_changed', state: 'killed' },
    ],
    [
      'Docker health',
      message('health_status: unhealthy'),
      new Set(),
      { type: 'health_changed', state: 'unhealthy' },
    ],
    [
      'podman health',
      message('health_status', { health_status: 'healthy' }),
      new Set(),
      { type: 'health_changed', state: 'healthy' },
    ],
    ['create', message('create'), new Set(), undefined],
    ['a definition', message('start', { 'obs.role': 'definition' }), new Set(), undefined],
    [
      'another container',
      { Type: 'container', Action: 'start', Actor: { ID: 'x', Attributes: { name: 'x' } } },
      new Set(),
      undefined,
    ],
    ['an image event', { ...message('start'), Type: 'image' }, new Set(), undefined],
  ];
  it.each(cases)('%s', (_, msg, stopping, expected) => {
    const event = orchestratorEventOf(msg, 0, stopping);
    if (!expected) expect(event).toBeUndefined();
    else
      expect(event).toMatchObject({
        ...expected,
        orchestrator: 'docker',
        appId: '/shop/cart',
        taskId: 'shop_cart.abc',
        ts: 1_700_000_000_123,
      });
  });
});

describe('createEventSplitter', () => {
  it('parses messages split and joined across chunks, skipping lines that are not JSON', () => {
    const seen: DockerEventMessage[] = [];
    const feed = createEventSplitter((m) => seen.push(m));
    feed('{"Action":"start"}\n{"Act');
    feed('ion":"die"}\nnot json\n');
    feed('{"Action":"stop"}');
    expect(seen.map((m) => m.Action)).toEqual(['start', 'die']);
    feed('\n');
    expect(seen.map((m) => m.Action)).toEqual(['start', 'die', 'stop']);
  });
});
