import { describe, expect, it } from 'vitest';
import type { ContainerUsage, HealthVerdict } from '../types.ts';
import { DEFAULT_HEALTH_THRESHOLDS, evaluateApp, evaluateContainer } from './evaluate.ts';

const GiB = 1024 ** 3;
/** A container doing ordinary work: 40 % of a 1-core limit, half its memory. */
const base: ContainerUsage = {
  container: 'c1',
  appId: '/shop/cart',
  cpu: 0.4,
  cpuLimit: 1,
  throttled: 0.02,
  workingSet: GiB,
  memLimit: 2 * GiB,
  oomKills: 0,
  restarts: 0,
  healthChecks: [true],
};

const codes = (v: HealthVerdict) => v.reasons.map((r) => r.code);

describe('evaluateContainer', () => {
  it.each<[string, Partial<ContainerUsage>, string, string[]]>([
    ['ordinary work', {}, 'healthy', []],
    ['CPU just below 90 % of the limit', { cpu: 0.89 }, 'healthy', []],
    ['CPU at 90 % of the limit', { cpu: 0.9 }, 'busy', ['cpu_near_limit']],
    ['throttled just below 25 %', { throttled: 0.249 }, 'healthy', []],
    ['throttled at 25 %', { throttled: 0.25 }, 'busy', ['cpu_throttled']],
    ['working set just below 90 %', { workingSet: 0.899 * 2 * GiB }, 'healthy', []],
    ['working set at 90 %', { workingSet: 0.9 * 2 * GiB }, 'busy', ['mem_near_limit']],
    ['p99 just below 1 s', { latencyP99: 0.999 }, 'healthy', []],
    ['p99 at 1 s', { latencyP99: 1 }, 'busy', ['latency_up']],
    ['5xx just below 5 %', { errorRatio: 0.049 }, 'healthy', []],
    ['5xx at 5 %', { errorRatio: 0.05 }, 'busy', ['errors_up']],
    ['CPU at 5 % of the limit', { cpu: 0.05 }, 'healthy', []],
    ['CPU just below 5 %', { cpu: 0.049 }, 'idle', ['low_use']],
    ['a failing health check', { healthChecks: [true, false] }, 'unhealthy', ['health_check_failing']],
    ['one OOM kill', { oomKills: 1 }, 'unhealthy', ['oom_kill']],
    ['2 restarts', { restarts: 2 }, 'healthy', []],
    ['3 restarts', { restarts: 3 }, 'unhealthy', ['restarts']],
    ['no health checks at all', { healthChecks: [] }, 'healthy', []],
    [
      'busy on several counts',
      { cpu: 0.95, throttled: 0.5, workingSet: 1.95 * GiB },
      'busy',
      ['cpu_near_limit', 'cpu_throttled', 'mem_near_limit'],
    ],
    ['unhealthy wins over busy', { cpu: 0.95, oomKills: 2 }, 'unhealthy', ['oom_kill']],
    [
      'busy wins over idle: low CPU but memory full',
      { cpu: 0.01, workingSet: 1.9 * GiB },
      'busy',
      ['mem_near_limit'],
    ],
    ['no CPU nor memory data', { cpu: undefined, workingSet: undefined }, 'unknown', ['no_data']],
    [
      'no data, but a failing check',
      { cpu: undefined, workingSet: undefined, healthChecks: [false] },
      'unhealthy',
      ['health_check_failing'],
    ],
    ['memory only, no CPU: cannot be idle', { cpu: undefined }, 'healthy', []],
    ['no CPU limit nor app cpus: CPU judges nothing', { cpu: 0.001, cpuLimit: undefined }, 'healthy', []],
  ])('%s → %s', (_name, change, state, reasonCodes) => {
    const v = evaluateContainer({ ...base, ...change });
    expect(v.state).toBe(state);
    expect(codes(v)).toEqual(reasonCodes);
  });

  it('uses the app cpus when the container has no CPU limit', () => {
    const unlimited = { ...base, cpuLimit: undefined };
    expect(evaluateContainer({ ...unlimited, cpu: 0.46 }, DEFAULT_HEALTH_THRESHOLDS, 0.5).state).toBe('busy');
    expect(evaluateContainer({ ...unlimited, cpu: 0.44 }, DEFAULT_HEALTH_THRESHOLDS, 0.5).state).toBe(
      'healthy',
    );
    expect(evaluateContainer({ ...unlimited, cpu: 0.02 }, DEFAULT_HEALTH_THRESHOLDS, 0.5).state).toBe('idle');
    // The cgroup limit beats the app's declared cpus.
    expect(evaluateContainer({ ...base, cpu: 0.46 }, DEFAULT_HEALTH_THRESHOLDS, 0.5).state).toBe('healthy');
  });

  it('says what was seen against which threshold', () => {
    expect(evaluateContainer({ ...base, cpu: 0.93 }).reasons).toEqual([
      {
        code: 'cpu_near_limit',
        message: 'CPU 0.93 cores of a 1-core limit (≥ 90 %)',
        value: 0.93,
        threshold: 0.9,
      },
    ]);
    expect(evaluateContainer({ ...base, workingSet: 1.9 * GiB }).reasons[0]!.message).toBe(
      'Memory working set 1.9 GiB of a 2 GiB limit (≥ 90 %)',
    );
    expect(evaluateContainer({ ...base, throttled: 0.3 }).reasons[0]!.message).toBe(
      'CPU throttled in 30 % of periods (≥ 25 %)',
    );
    expect(evaluateContainer({ ...base, oomKills: 2 }).reasons[0]!.message).toBe(
      '2 OOM kills in the window (> 0)',
    );
    expect(evaluateContainer({ ...base, healthChecks: [false, true, false] }).reasons[0]!.message).toBe(
      '2 of 3 health checks failing',
    );
    expect(evaluateContainer({ ...base, cpu: 0.01 }).reasons[0]!.message).toBe(
      'CPU 0.01 cores of a 1-core limit (< 5 %)',
    );
    expect(evaluateContainer({ ...base, errorRatio: 0.061 }).reasons[0]!.message).toBe(
      '5xx answers 6.1 % of requests (≥ 5 %)',
    );
  });

  it('takes other thresholds', () => {
    const strict = { ...DEFAULT_HEALTH_THRESHOLDS, cpuBusy: 0.5 };
    expect(evaluateContainer({ ...base, cpu: 0.5 }, strict).state).toBe('busy');
  });
});

const entry = (container: string, state: HealthVerdict['state'], reasons: HealthVerdict['reasons'] = []) => ({
  usage: { ...base, container },
  verdict: { state, reasons },
});
const cpuBusy = (c: string, value: number) =>
  entry(c, 'busy', [
    {
      code: 'cpu_near_limit',
      message: `CPU ${value} cores of a 1-core limit (≥ 90 %)`,
      value,
      threshold: 0.9,
    },
  ]);
const oom = (c: string) =>
  entry(c, 'unhealthy', [
    { code: 'oom_kill', message: '1 OOM kill in the window (> 0)', value: 1, threshold: 0 },
  ]);

describe('evaluateApp', () => {
  it.each<[string, ReturnType<typeof entry>[], { latencyP99?: number; errorRatio?: number }, string]>([
    ['no container running', [], {}, 'unhealthy'],
    [
      '2 of 4 unhealthy is not more than half',
      [oom('a'), oom('b'), entry('c', 'healthy'), entry('d', 'healthy')],
      {},
      'healthy',
    ],
    ['3 of 4 unhealthy', [oom('a'), oom('b'), oom('c'), entry('d', 'healthy')], {}, 'unhealthy'],
    ['1 of 3 busy', [cpuBusy('a', 0.95), entry('b', 'healthy'), entry('c', 'healthy')], {}, 'healthy'],
    [
      '2 of 4 busy is half',
      [cpuBusy('a', 0.95), cpuBusy('b', 0.92), entry('c', 'healthy'), entry('d', 'idle')],
      {},
      'busy',
    ],
    ['app p99 just below 1 s', [entry('a', 'healthy')], { latencyP99: 0.99 }, 'healthy'],
    ['app p99 at 1 s', [entry('a', 'healthy')], { latencyP99: 1 }, 'busy'],
    ['app 5xx at 5 %', [entry('a', 'idle')], { errorRatio: 0.05 }, 'busy'],
    ['app 5xx just below 5 %', [entry('a', 'idle')], { errorRatio: 0.0499 }, 'idle'],
    ['every container idle', [entry('a', 'idle'), entry('b', 'idle')], {}, 'idle'],
    ['all but one idle', [entry('a', 'idle'), entry('b', 'healthy')], {}, 'healthy'],
    ['no container has data', [entry('a', 'unknown'), entry('b', 'unknown')], {}, 'unknown'],
    [
      'unhealthy majority wins over busy traffic',
      [oom('a'), oom('b'), entry('c', 'busy')],
      { latencyP99: 3 },
      'unhealthy',
    ],
  ])('%s → %s', (_name, containers, appLevel, state) => {
    expect(evaluateApp('/shop/cart', containers, appLevel).state).toBe(state);
  });

  it('aggregates the containers’ reasons', () => {
    const v = evaluateApp('/shop/cart', [
      cpuBusy('a', 0.93),
      cpuBusy('b', 0.97),
      cpuBusy('c', 0.91),
      entry('d', 'healthy'),
    ]);
    expect(v).toEqual({
      state: 'busy',
      reasons: [
        {
          code: 'cpu_near_limit',
          message:
            '3 of 4 containers busy: cpu_near_limit on a, b, c (a: CPU 0.93 cores of a 1-core limit (≥ 90 %))',
          value: 0.97,
          threshold: 0.9,
        },
      ],
    });
  });

  it('names app-level latency and errors', () => {
    const v = evaluateApp('/shop/cart', [entry('a', 'healthy')], { latencyP99: 1.25, errorRatio: 0.1 });
    expect(v.reasons.map((r) => r.message)).toEqual([
      'p99 request time 1.25 s (≥ 1 s)',
      '5xx answers 10 % of requests (≥ 5 %)',
    ]);
    expect(evaluateApp('/shop/cart', []).reasons[0]).toMatchObject({ code: 'no_running_containers' });
  });
});
