import { describe, expect, it } from 'vitest';
import { appIdOfTags, appTypeOf, parseAutoscalePolicy, scheduleError, validateAppSpec } from './model.ts';
import type { AppSpec } from './types.ts';

const web: AppSpec = {
  id: '/shop/cart',
  type: 'WEB',
  image: 'registry.local/cart:1.4',
  cpus: 0.5,
  mem: 256,
  instances: 3,
  ports: [8080],
  healthCheck: { protocol: 'HTTP', path: '/health', portIndex: 0, intervalSeconds: 10, timeoutSeconds: 5 },
  labels: { 'obs.autoscale.mode': 'auto', 'obs.autoscale.max': '6' },
  env: { JAVA_OPTS: '-Xmx200m' },
};

const fieldsOf = (input: unknown): string[] => {
  const r = validateAppSpec(input);
  return r.ok ? [] : r.errors.map((e) => e.field);
};

describe('validateAppSpec', () => {
  it('accepts a full WEB app and returns it unchanged', () => {
    expect(validateAppSpec(web)).toEqual({ ok: true, value: web });
  });

  it('accepts a Cron, a Worker and a Task app', () => {
    const cron = {
      id: '/shop/report',
      type: 'Cron',
      cmd: 'run-report',
      cpus: 0.1,
      mem: 64,
      instances: 1,
      schedule: 'R/2026-11-26T02:00:00Z/P1D',
    };
    const worker = { id: '/shop/mailer', type: 'Worker', image: 'mailer:2', cpus: 1, mem: 32, instances: 0 };
    const task = { id: '/shop/migrate', type: 'Task', cmd: './migrate', cpus: 2, mem: 1024, instances: 1 };
    for (const app of [cron, worker, task]) expect(validateAppSpec(app)).toEqual({ ok: true, value: app });
  });

  it('takes the type from the obs.type label when it is not given', () => {
    const r = validateAppSpec({
      id: '/shop/q',
      cmd: 'x',
      cpus: 1,
      mem: 64,
      instances: 1,
      labels: { 'obs.type': 'worker' },
    });
    expect(r.ok && r.value.type).toBe('Worker');
  });

  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['an id without a project', { id: 'cart' }, 'id', /not of the form \/project\/app/],
    ['an id with capitals', { id: '/Shop/cart' }, 'id', /\/project\/app/],
    ['an unknown type', { type: 'Daemon' }, 'type', /one of WEB, Cron, Task, Worker, Service/],
    ['zero cpus', { cpus: 0 }, 'cpus', /> 0/],
    ['cpus as a string', { cpus: '1' }, 'cpus', /> 0/],
    ['31 MiB of memory', { mem: 31 }, 'mem', /at least 32 MiB, got 31/],
    ['fractional instances', { instances: 1.5 }, 'instances', /integer ≥ 0/],
    ['negative instances', { instances: -1 }, 'instances', /integer ≥ 0/],
    ['a WEB app without ports', { ports: [], healthCheck: undefined }, 'ports', /needs at least one port/],
    ['a port above 65535', { ports: [8080, 70000] }, 'ports[1]', /0\.\.65535/],
    ['a port listed twice', { ports: [8080, 8080] }, 'ports[1]', /listed twice/],
    ['neither image nor cmd', { image: undefined, cmd: ' ' }, 'image', /image or a cmd/],
    ['a label that is not a string', { labels: { team: 7 } }, 'labels.team', /must be a string/],
    ['env that is not an object', { env: ['A=1'] }, 'env', /object of strings/],
    [
      'a bad autoscale label',
      { labels: { 'obs.autoscale.target_cpu': '60' } },
      'labels.obs.autoscale.target_cpu',
      /0 < x ≤ 1/,
    ],
    ['a bad obs.type label', { labels: { 'obs.type': 'daemon' } }, 'labels.obs.type', /not one of/],
    ['a schedule on a WEB app', { schedule: 'R/2026-11-26T00:00:00Z/PT1H' }, 'schedule', /only for Cron/],
    ['an unknown field', { instance: 2 }, 'instance', /not a known field/],
    [
      'an unknown health check protocol',
      { healthCheck: { protocol: 'HTTPS', path: '/' } },
      'healthCheck.protocol',
      /HTTP, TCP, COMMAND/,
    ],
    [
      'an HTTP check without a path',
      { healthCheck: { protocol: 'HTTP' } },
      'healthCheck.path',
      /start with \//,
    ],
    [
      'an HTTP path without a slash',
      { healthCheck: { protocol: 'HTTP', path: 'health' } },
      'healthCheck.path',
      /start with \//,
    ],
    [
      'a path on a TCP check',
      { healthCheck: { protocol: 'TCP', path: '/x' } },
      'healthCheck.path',
      /only for HTTP/,
    ],
    [
      'a COMMAND check without command',
      { healthCheck: { protocol: 'COMMAND' } },
      'healthCheck.command',
      /required/,
    ],
    [
      'a portIndex beyond the ports',
      { healthCheck: { protocol: 'TCP', portIndex: 1 } },
      'healthCheck.portIndex',
      /of the app's 1 ports/,
    ],
    [
      'a zero interval',
      { healthCheck: { protocol: 'TCP', intervalSeconds: 0 } },
      'healthCheck.intervalSeconds',
      /integer ≥ 1/,
    ],
    [
      'a negative grace period',
      { healthCheck: { protocol: 'TCP', gracePeriodSeconds: -5 } },
      'healthCheck.gracePeriodSeconds',
      /≥ 0/,
    ],
  ];
  it.each(cases)('rejects %s', (_name, change, field, message) => {
    const r = validateAppSpec({ ...web, ...change });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field)).toEqual([field]);
    expect(r.errors[0]!.message).toMatch(message);
  });

  it('accepts the edges: 32 MiB, 0 instances, port 0, COMMAND check without ports', () => {
    const worker = {
      id: '/a/b',
      type: 'Worker',
      cmd: 'w',
      cpus: 0.01,
      mem: 32,
      instances: 0,
      healthCheck: { protocol: 'COMMAND', command: 'true' },
    };
    expect(validateAppSpec(worker).ok).toBe(true);
    expect(validateAppSpec({ ...web, ports: [0, 0] }).ok).toBe(true);
  });

  it('rules by type: a Worker has no ports, a Cron app needs a valid schedule', () => {
    const base = { id: '/a/b', cmd: 'x', cpus: 1, mem: 64, instances: 1 };
    expect(fieldsOf({ ...base, type: 'Worker', ports: [80] })).toEqual(['ports']);
    expect(fieldsOf({ ...base, type: 'Cron' })).toEqual(['schedule']);
    expect(fieldsOf({ ...base, type: 'Cron', schedule: 'every hour' })).toEqual(['schedule']);
  });

  it('reports every bad field at once', () => {
    expect(
      fieldsOf({
        id: 'x',
        type: 'WEB',
        cpus: -1,
        mem: 8,
        instances: 'two',
        ports: ['80'],
        healthCheck: { protocol: 'HTTP' },
      }),
    ).toEqual(['id', 'cpus', 'mem', 'instances', 'ports[0]', 'image', 'healthCheck.path']);
  });

  it('rejects what is not an object', () => {
    expect(validateAppSpec(null)).toEqual({
      ok: false,
      errors: [{ field: '', message: 'An app must be an object' }],
    });
  });
});

describe('scheduleError', () => {
  it.each([
    ['R/2026-11-26T00:00:00Z/PT1H', undefined],
    ['R5/2026-11-26T00:00:00.000+01:00/P1DT12H', undefined],
    ['R/2026-11-26T00:00Z/PT0.5S', undefined],
    ['R/2026-11-26T00:00:00Z/P1W', undefined],
  ])('accepts %s', (s, want) => expect(scheduleError(s)).toBe(want));
  it.each([
    ['2026-11-26T00:00:00Z/PT1H', /repeating interval/],
    ['Rx/2026-11-26T00:00:00Z/PT1H', /repeating interval/],
    ['R/2026-11-26/PT1H', /date-time with a zone/],
    ['R/2026-11-26T00:00:00/PT1H', /date-time with a zone/],
    ['R/2026-13-40T00:00:00Z/PT1H', /date-time/],
    ['R/2026-11-26T00:00:00Z/P', /ISO 8601 duration/],
    ['R/2026-11-26T00:00:00Z/P1DT', /ISO 8601 duration/],
    ['R/2026-11-26T00:00:00Z/1H', /repeating interval/],
    ['R/2026-11-26T00:00:00Z/PT0S', /longer than zero/],
  ])('rejects %s', (s, message) => expect(scheduleError(s)).toMatch(message));
});

describe('parseAutoscalePolicy', () => {
  const defaults = {
    mode: 'advise',
    min: 1,
    max: 10,
    targetCpu: 0.6,
    tolerance: 0.1,
    downStabilisationMs: 300_000,
  };

  it('has the documented defaults without labels', () => {
    expect(parseAutoscalePolicy()).toEqual({ policy: defaults, errors: [] });
    expect(parseAutoscalePolicy({ team: 'x' })).toEqual({ policy: defaults, errors: [] });
  });

  it('reads every label', () => {
    const labels = {
      'obs.autoscale.mode': 'AUTO',
      'obs.autoscale.min': '2',
      'obs.autoscale.max': '8',
      'obs.autoscale.target_cpu': '0.75',
      'obs.autoscale.target_latency': '0.25',
      'obs.autoscale.target_rps': '150',
      'obs.autoscale.tolerance': '0.2',
      'obs.autoscale.stabilisation': '600',
    };
    expect(parseAutoscalePolicy(labels)).toEqual({
      policy: {
        mode: 'auto',
        min: 2,
        max: 8,
        targetCpu: 0.75,
        targetLatency: 0.25,
        targetRps: 150,
        tolerance: 0.2,
        downStabilisationMs: 600_000,
      },
      errors: [],
    });
  });

  it.each([
    ['min above 10 lifts the default max', { 'obs.autoscale.min': '12' }, { min: 12, max: 12 }],
    ['min 0 keeps max 10', { 'obs.autoscale.min': '0' }, { min: 0, max: 10 }],
    ['target_cpu 1 is allowed', { 'obs.autoscale.target_cpu': '1' }, { targetCpu: 1 }],
    [
      'stabilisation as a duration',
      { 'obs.autoscale.stabilisation': '5m' },
      { downStabilisationMs: 300_000 },
    ],
    ['stabilisation 0', { 'obs.autoscale.stabilisation': '0' }, { downStabilisationMs: 0 }],
    ['tolerance 0', { 'obs.autoscale.tolerance': '0' }, { tolerance: 0 }],
  ])('%s', (_name, labels, want) => {
    expect(parseAutoscalePolicy(labels)).toEqual({ policy: { ...defaults, ...want }, errors: [] });
  });

  it.each([
    ['obs.autoscale.mode', 'sometimes'],
    ['obs.autoscale.min', '-1'],
    ['obs.autoscale.min', '1.5'],
    ['obs.autoscale.max', 'ten'],
    ['obs.autoscale.target_cpu', '0'],
    ['obs.autoscale.target_cpu', '1.01'],
    ['obs.autoscale.target_cpu', ''],
    ['obs.autoscale.tolerance', '1'],
    ['obs.autoscale.stabilisation', '-3'],
    ['obs.autoscale.stabilisation', 'soon'],
  ])('a bad %s "%s" takes the default and names the label', (label, value) => {
    const { policy, errors } = parseAutoscalePolicy({ [label]: value });
    expect(policy).toEqual(defaults);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.field).toBe(label);
    expect(errors[0]!.message).toContain(`"${value}"`);
  });

  it('a max below min is an error and falls back to max(min, 10)', () => {
    const { policy, errors } = parseAutoscalePolicy({ 'obs.autoscale.min': '4', 'obs.autoscale.max': '3' });
    expect(policy).toMatchObject({ min: 4, max: 10 });
    expect(errors.map((e) => e.field)).toEqual(['obs.autoscale.max']);
  });

  it('bad optional targets are left out', () => {
    const { policy, errors } = parseAutoscalePolicy({
      'obs.autoscale.target_latency': '0',
      'obs.autoscale.target_rps': 'x',
    });
    expect(policy).toEqual(defaults);
    expect(errors.map((e) => e.field)).toEqual(['obs.autoscale.target_latency', 'obs.autoscale.target_rps']);
  });
});

describe('appTypeOf and appIdOfTags', () => {
  it.each([
    [undefined, 'WEB'],
    [{}, 'WEB'],
    [{ 'obs.type': 'Cron' }, 'Cron'],
    [{ 'obs.type': ' service ' }, 'Service'],
    [{ 'obs.type': 'TASK' }, 'Task'],
    [{ 'obs.type': 'daemon' }, 'WEB'],
  ])('%j is %s', (labels, want) => expect(appTypeOf(labels)).toBe(want));

  it.each([
    [{ project: 'shop', app: 'cart', task: 't1' }, '/shop/cart'],
    [{ project: 'shop', app: 'api/v2' }, '/shop/api/v2'],
    [{ app: 'cart' }, undefined],
    [{ project: 'shop' }, undefined],
    [{ project: '', app: 'cart' }, undefined],
  ])('%j is %s', (tags, want) => expect(appIdOfTags(tags)).toBe(want));
});
