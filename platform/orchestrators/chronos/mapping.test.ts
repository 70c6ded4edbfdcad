import { describe, expect, it } from 'vitest';
import type { AppSpec } from '../../types.ts';
import {
  appIdOfJob,
  chronosProblems,
  fromChronosJob,
  ISO8601_SCHEDULE,
  jobChange,
  jobNameOf,
  toChronosJob,
} from './mapping.ts';

const REPORT: AppSpec = {
  id: '/shop/nightly-report',
  type: 'Cron',
  cmd: 'report.sh --all',
  image: 'shop/report:3',
  cpus: 0.5,
  mem: 512,
  instances: 1,
  schedule: 'R/2026-11-26T02:00:00Z/PT1H',
  env: { DB: 'replica' },
};

describe('Chronos job names', () => {
  it.each([
    ['/shop/report', 'shop-report'],
    ['/shop/nightly-report', 'shop-nightly-report'],
    ['/a/b/c', 'a-b-c'],
  ])('%s is named %s', (id, name) => {
    expect(jobNameOf(id)).toBe(name);
  });

  it.each([
    [{ name: 'shop-report' }, '/shop/report'],
    [{ name: 'shop-nightly-report' }, '/shop/nightly-report'],
    [{ name: 'my-shop-report', description: 'obs app /my-shop/report' }, '/my-shop/report'],
    [{ name: 'legacy' }, '/legacy'],
  ])('job %j belongs to %s', (job, id) => {
    expect(appIdOfJob(job)).toBe(id);
  });
});

describe('Chronos job mapping', () => {
  it('writes the documented job hash and reads it back', () => {
    const job = toChronosJob(REPORT);
    expect(job).toEqual({
      name: 'shop-nightly-report',
      description: 'obs app /shop/nightly-report',
      command: 'report.sh --all',
      schedule: 'R/2026-11-26T02:00:00Z/PT1H',
      cpus: 0.5,
      mem: 512,
      disabled: false,
      container: { type: 'DOCKER', image: 'shop/report:3', network: 'BRIDGE' },
      environmentVariables: [{ name: 'DB', value: 'replica' }],
    });
    expect(fromChronosJob(job)).toEqual(REPORT);
  });

  it('reads the documented sample job (cpus and mem as strings too)', () => {
    const spec = fromChronosJob({
      name: 'dockerjob',
      command: 'while sleep 10; do date =u %T; done',
      schedule: 'R/2014-09-25T17:22:00Z/PT2M',
      container: { type: 'DOCKER', image: 'libmesos/ubuntu', network: 'BRIDGE' },
      cpus: '0.5',
      mem: '512',
    });
    expect(spec).toMatchObject({
      id: '/dockerjob',
      type: 'Cron',
      cpus: 0.5,
      mem: 512,
      image: 'libmesos/ubuntu',
      instances: 1,
    });
  });

  it('maps a disabled job to 0 instances and back', () => {
    expect(toChronosJob({ ...REPORT, instances: 0 }).disabled).toBe(true);
    expect(fromChronosJob({ ...toChronosJob(REPORT), disabled: true }).instances).toBe(0);
  });

  it.each([
    ['R/2026-11-26T00:00:00Z/PT1H', true],
    ['R10/2012-10-01T05:52:00Z/PT2S', true],
    ['R//P1D', true],
    ['R/2014-03-08T20:00:00.000Z/P1Y2M3DT4H5M6S', true],
    ['0 * * * *', false],
    ['R/2026-11-26T00:00:00Z/1H', false],
    ['R/2026-11-26T00:00:00Z/PT', false],
  ])('schedule %s valid: %s', (schedule, valid) => {
    expect(ISO8601_SCHEDULE.test(schedule)).toBe(valid);
  });

  it('names each field that keeps an app from being a job', () => {
    const bad: AppSpec = {
      id: '/shop/web',
      type: 'WEB',
      cpus: 0,
      mem: 64,
      instances: 3,
      schedule: '0 * * * *',
    };
    expect(chronosProblems(bad).map((p) => p.field)).toEqual([
      'type',
      'schedule',
      'cmd',
      'cpus',
      'instances',
    ]);
    expect(chronosProblems(REPORT)).toEqual([]);
  });
});

describe('Chronos job changes', () => {
  const job = toChronosJob(REPORT);
  it.each([
    [undefined, job, 'job added'],
    [job, undefined, 'job deleted'],
    [job, { ...job }, undefined],
    [job, { ...job, successCount: 1, lastSuccess: '2026-11-26T02:00:01Z' }, 'run succeeded'],
    [job, { ...job, errorCount: 1, lastError: '2026-11-26T02:00:01Z' }, 'run failed'],
    [job, { ...job, disabled: true }, 'job changed'],
  ])('%#: %s', (before, after, change) => {
    expect(jobChange(before, after)).toBe(change);
  });
});
