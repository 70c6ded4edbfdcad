import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AppSpec } from '../../types.ts';
import {
  errorDetails,
  fieldOfPath,
  fromMarathonApp,
  fromMarathonAppStatus,
  fromMarathonEvent,
  fromMarathonTask,
  lockingDeployments,
  type MarathonApp,
  taskStateOf,
  taskTags,
  toMarathonApp,
} from './mapping.ts';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/marathon');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

describe('Marathon app mapping', () => {
  it('reads the official app.json example', () => {
    const spec = fromMarathonApp(fixture('app.json'));
    expect(spec).toEqual({
      id: '/foo',
      type: 'WEB',
      image: 'mesosphere:marathon/latest',
      cmd: 'sleep 1000',
      cpus: 0.1,
      mem: 16,
      instances: 2,
      ports: [80],
      healthCheck: {
        protocol: 'HTTP',
        path: '/',
        portIndex: 0,
        gracePeriodSeconds: 300,
        intervalSeconds: 20,
        timeoutSeconds: 20,
        maxConsecutiveFailures: 3,
      },
      labels: { owner: 'zeus', note: 'Away from olympus' },
      // The secret-backed PASSWORD is not a plain value and is left out.
      env: { XPS1: 'Test', XPS2: 'Rest' },
    });
  });

  it('round-trips the fixture app through toMarathonApp and back', () => {
    const spec = fromMarathonApp(fixture('app.json'));
    expect(fromMarathonApp(toMarathonApp(spec))).toEqual(spec);
  });

  const specs: [string, AppSpec][] = [
    [
      'a docker WEB app',
      {
        id: '/shop/web',
        type: 'WEB',
        image: 'nginx:1.27',
        cpus: 0.5,
        mem: 256,
        instances: 3,
        ports: [80, 443],
      },
    ],
    [
      'a command Worker',
      { id: '/shop/worker', type: 'Worker', cmd: 'run.sh', cpus: 1, mem: 64, instances: 0, env: { A: '1' } },
    ],
    [
      'a TCP-checked Service',
      {
        id: '/db/proxy',
        type: 'Service',
        cmd: 'proxy',
        cpus: 0.1,
        mem: 32,
        instances: 1,
        ports: [5432],
        healthCheck: { protocol: 'TCP', portIndex: 0 },
        labels: { team: 'db' },
      },
    ],
  ];
  it.each(specs)('round-trips %s', (_name, spec) => {
    const app = toMarathonApp(spec);
    expect(app.labels?.['obs.type']).toBe(spec.type);
    expect(fromMarathonApp(app)).toEqual(spec);
  });

  it('puts docker ports in container.portMappings and command ports in portDefinitions', () => {
    const docker = toMarathonApp(specs[0]![1]);
    expect(docker.container?.portMappings?.map((m) => m.containerPort)).toEqual([80, 443]);
    expect(docker.portDefinitions).toEqual([]);
    const command = toMarathonApp(specs[2]![1]);
    expect(command.container).toBeUndefined();
    expect(command.portDefinitions).toEqual([{ port: 5432, protocol: 'tcp' }]);
  });

  it('reads an app_list.json entry with its deployments', () => {
    const status = fromMarathonAppStatus(fixture('app_list.json').apps[0] as MarathonApp);
    expect(status.spec).toMatchObject({
      id: '/myapp',
      cmd: 'env && sleep 60',
      instances: 3,
      ports: [10013, 10015],
    });
    expect(status.deployments).toEqual(['9538079c-3898-4e32-aa31-799bf9097f74']);
    expect(status.orchestrator).toBe('marathon');
  });
});

describe('Marathon task mapping', () => {
  it.each([
    ['TASK_STAGING', [], 'staging'],
    ['TASK_RUNNING', [], 'running'],
    ['TASK_RUNNING', [true, true], 'running'],
    ['TASK_RUNNING', [true, false], 'unhealthy'],
    ['TASK_FAILED', [], 'failed'],
    ['TASK_ERROR', [], 'failed'],
    ['TASK_KILLED', [], 'killed'],
    ['TASK_UNREACHABLE', [], 'lost'],
    ['TASK_FINISHED', [], 'finished'],
  ] as const)('%s with checks %j is %s', (state, checks, expected) => {
    expect(taskStateOf(state, [...checks])).toBe(expected);
  });

  it('reads tasks.json with the tags the agent sends', () => {
    const [task] = fixture('tasks.json').tasks;
    expect(fromMarathonTask(task)).toEqual({
      id: 'frontend-foosball.083be411-5d1f-11e5-88f7-56b91e7a505b',
      appId: '/frontend-foosball',
      host: 'srv4.example.com',
      state: 'running',
      startedAt: Date.parse('2015-09-17T09:32:42.598Z'),
      healthChecks: [],
      tags: { app: 'frontend-foosball', task: 'frontend-foosball.083be411-5d1f-11e5-88f7-56b91e7a505b' },
    });
  });

  it.each([
    ['/shop/web', 't1', { project: 'shop', app: 'web', task: 't1' }],
    ['/tools/docker/registry', 't2', { project: 'tools', app: 'docker/registry', task: 't2' }],
    ['/foo', 't3', { app: 'foo', task: 't3' }],
  ])('tags of %s', (appId, taskId, tags) => {
    expect(taskTags(appId, taskId)).toEqual(tags);
  });

  it('reads health check results of a task', () => {
    const t = fromMarathonTask({
      id: 'x',
      appId: '/a/b',
      state: 'TASK_RUNNING',
      healthCheckResults: [{ alive: false }],
    });
    expect(t.state).toBe('unhealthy');
    expect(t.healthChecks).toEqual([false]);
  });
});

describe('Marathon errors', () => {
  it.each([
    ['/upgradeStrategy/minimumHealthCapacity', 'upgradeStrategy.minimumHealthCapacity'],
    ['/cpus', 'cpus'],
    ['/container/docker/image', 'image'],
    ['/healthChecks(0)/path', 'healthCheck'],
    ['/portDefinitions/0/port', 'ports'],
    ['/', 'app'],
  ])('path %s is field %s', (path, field) => {
    expect(fieldOfPath(path)).toBe(field);
  });

  it('flattens a 422 body into one detail per error', () => {
    const body = {
      message: 'Object is not valid',
      details: [
        { path: '/cpus', errors: ['got 0.0, expected 0.001 or more'] },
        { path: '/id', errors: ['must fully match', 'is too long'] },
      ],
    };
    expect(errorDetails(body)).toEqual([
      { field: 'cpus', message: 'got 0.0, expected 0.001 or more' },
      { field: 'id', message: 'must fully match' },
      { field: 'id', message: 'is too long' },
    ]);
  });

  it('reads the deployment ids of a lock', () => {
    expect(
      lockingDeployments({ message: 'App is locked', deployments: [{ id: 'd1' }, { id: 'd2' }] }),
    ).toEqual(['d1', 'd2']);
    expect(lockingDeployments({ message: 'An app with id [/x] already exists.' })).toEqual([]);
  });
});

describe('Marathon events', () => {
  const lines = readFileSync(join(FIXTURES, 'events.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)));

  it('maps the status updates of events.txt', () => {
    const events = lines.map((d) => fromMarathonEvent(d.eventType, d, 0));
    expect(events[0]).toBeUndefined(); // event_stream_attached is not followed
    expect(events[1]).toMatchObject({ type: 'task_changed', appId: '/foo', state: 'failed' });
    expect(events[1]?.message).toContain('Failed to launch container');
    expect(events[2]).toMatchObject({
      type: 'task_changed',
      appId: '/test-app',
      taskId: 'test-app.5dd78972-6771-11e5-94e1-be5b2935a987',
      state: 'running',
      ts: Date.parse('2015-09-30T12:47:11.286Z'),
    });
  });

  const plan = { id: 'd1', steps: [{ actions: [{ action: 'ScaleApplication', app: '/shop/web' }] }] };
  it.each([
    ['deployment_info', { plan, currentStep: plan.steps[0] }, 'deployment_started'],
    ['deployment_step_success', { plan, currentStep: plan.steps[0] }, 'deployment_step'],
    ['deployment_success', { id: 'd1', plan }, 'deployment_success'],
    ['deployment_failed', { id: 'd1', plan }, 'deployment_failed'],
  ])('%s is %s with its deployment and app', (type, data, expected) => {
    expect(fromMarathonEvent(type, data, 5)).toMatchObject({
      type: expected,
      deploymentId: 'd1',
      appId: '/shop/web',
    });
  });

  it('maps the documented deployment_success without a plan', () => {
    const e = fromMarathonEvent(
      'deployment_success',
      { id: '867ed450', timestamp: '2014-03-01T23:29:30.158Z' },
      0,
    );
    expect(e).toEqual({
      type: 'deployment_success',
      orchestrator: 'marathon',
      deploymentId: '867ed450',
      ts: Date.parse('2014-03-01T23:29:30.158Z'),
    });
  });

  it('maps health changes', () => {
    const e = fromMarathonEvent(
      'health_status_changed_event',
      { appId: '/my-app', taskId: 't', alive: false },
      0,
    );
    expect(e).toMatchObject({ type: 'health_changed', appId: '/my-app', taskId: 't', state: 'unhealthy' });
  });
});
