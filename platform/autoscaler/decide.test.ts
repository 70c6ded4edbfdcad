import { describe, expect, it } from 'vitest';
import type { AutoscalePolicy } from '../types.ts';
import { createScalingHistory, type DecideInput, type DecideTask, decide } from './decide.ts';

const T0 = Date.UTC(2026, 10, 1);
const POLICY: AutoscalePolicy = {
  mode: 'auto',
  min: 1,
  max: 100,
  targetCpu: 0.6,
  tolerance: 0.1,
  downStabilisationMs: 300_000,
};

/** `n` ready tasks each using `cpu` cores (the app is allotted 1 core per instance). */
const busy = (n: number, cpu: number | undefined, ready = true): DecideTask[] =>
  Array.from({ length: n }, (_, i) => ({ id: `t${i}`, ready, ...(cpu === undefined ? {} : { cpu }) }));

function input(over: Partial<DecideInput> & { tasks: DecideTask[] }): DecideInput {
  return {
    appId: '/shop/web',
    now: T0,
    policy: POLICY,
    current: over.tasks.length,
    appCpus: 1,
    deploymentRunning: false,
    ...over,
  };
}
const once = (over: Partial<DecideInput> & { tasks: DecideTask[] }) =>
  decide(input(over), createScalingHistory());

describe('decide: the HPA formula and its tolerance band (target 60 %, tolerance 10 %)', () => {
  it.each([
    ['exactly at target', 0.6, 10, 'none'],
    ['at the upper edge 66 %', 0.66, 10, 'none'],
    ['just above it, 67 %: ceil(10 × 1.117)', 0.67, 12, 'scaled'],
    ['at the lower edge 54 %', 0.54, 10, 'none'],
    ['just below it, 53 %: ceil(10 × 0.883)', 0.53, 9, 'scaled'],
    ['90 %: ceil(10 × 1.5)', 0.9, 15, 'scaled'],
    ['30 %: ceil(10 × 0.5)', 0.3, 5, 'scaled'],
  ])('%s → %i instances', (_, cpu, desired, action) => {
    const r = once({ tasks: busy(10, cpu) });
    expect(r.desired).toBe(desired);
    expect(r.action).toBe(action);
    expect(r.observed).toBeCloseTo(cpu, 12);
    expect(r.target).toBe(0.6);
  });

  it('says what it saw, against what, and what it does, in a sentence', () => {
    expect(once({ tasks: busy(4, 0.9) }).reason).toBe(
      'CPU use 90 % of 1 core per instance against a target of 60 %: 4 → 6 instances.',
    );
    expect(once({ tasks: busy(4, 1.28), appCpus: 2 }).reason).toBe(
      'CPU use 64 % of 2 cores per instance against a target of 60 %, within the 10 % tolerance: keep 4 instances.',
    );
  });
});

describe('decide: scale-down stabilisation (300 s)', () => {
  it('keeps the count while load is low until the last high recommendation is 300 s old', () => {
    const history = createScalingHistory();
    const at = (s: number, cpu: number, current: number) =>
      decide(input({ now: T0 + s * 1000, tasks: busy(current, cpu) }), history);
    expect(at(0, 0.6, 10).desired).toBe(10);
    for (let s = 15; s < 300; s += 15) {
      const r = at(s, 0.3, 10);
      expect(r.desired, `at ${s} s`).toBe(10);
      expect(r.action).toBe('none');
      expect(r.reason).toContain('scale-down held: 10 instances recommended within the last 300 s');
    }
    const down = at(300, 0.3, 10);
    expect(down.desired).toBe(5);
    expect(down.action).toBe('scaled');
  });

  it('goes down only as far as the highest recommendation still in the window', () => {
    const history = createScalingHistory();
    const at = (s: number, cpu: number) =>
      decide(input({ now: T0 + s * 1000, tasks: busy(10, cpu) }), history);
    at(0, 0.6); // 10
    at(150, 0.48); // ceil(10 × 0.8) = 8
    for (let s = 165; s < 300; s += 15) at(s, 0.3);
    const r = at(300, 0.3);
    expect(r.desired).toBe(8);
    expect(r.reason).toContain('scale-down only to 8, the highest recommendation of the last 300 s');
    expect(at(450, 0.3).desired).toBe(5);
  });

  it('scales up at once, whatever the window holds', () => {
    const history = createScalingHistory();
    decide(input({ now: T0, tasks: busy(10, 0.3) }), history);
    expect(decide(input({ now: T0 + 15_000, tasks: busy(10, 0.9) }), history).desired).toBe(15);
  });

  it('remembers the window across a restart (history saved as JSON)', () => {
    const history = createScalingHistory();
    decide(input({ now: T0, tasks: busy(10, 0.6) }), history);
    const restored = createScalingHistory(JSON.parse(JSON.stringify(history.toJSON())));
    expect(decide(input({ now: T0 + 60_000, tasks: busy(10, 0.3) }), restored).desired).toBe(10);
    expect(() =>
      createScalingHistory({ v: 1, apps: { '/a/b': { recommendations: [{ ts: 'x' }] } } }),
    ).toThrow(/Not a saved scaling history/);
  });
});

describe('decide: rate limits per 15 s', () => {
  it.each([
    ['1 instance → at most 5 (+4 beats double)', 1, 10, 5],
    ['3 instances → at most 7', 3, 10, 7],
    ['10 instances → at most 20 (double beats +4)', 10, 3, 20],
  ])('%s', (_, current, cpu, limit) => {
    const r = once({ tasks: busy(current, cpu) });
    expect(r.desired).toBe(limit);
    expect(r.reason).toContain(`limited to ${limit}: at most double or 4 more instances per 15 s`);
  });

  it('counts from the size at the start of the period: a second call within it adds nothing', () => {
    const history = createScalingHistory();
    expect(decide(input({ now: T0, tasks: busy(1, 10) }), history).desired).toBe(5);
    const again = decide(input({ now: T0 + 10_000, current: 5, tasks: busy(5, 2) }), history);
    expect(again.desired).toBe(5);
    expect(again.action).toBe('none');
    const next = decide(input({ now: T0 + 15_000, current: 5, tasks: busy(5, 2) }), history);
    expect(next.desired).toBe(10);
  });

  it('retries a scale that failed: the period still starts from the real count', () => {
    const history = createScalingHistory();
    expect(decide(input({ now: T0, tasks: busy(1, 10) }), history)).toMatchObject({
      action: 'scaled',
      desired: 5,
    });
    // The orchestrator refused; 10 s later the app still runs 1 instance.
    expect(decide(input({ now: T0 + 10_000, tasks: busy(1, 10) }), history)).toMatchObject({
      action: 'scaled',
      desired: 5,
    });
  });

  it('lets a scale-down take 100 %: from 10 straight to the minimum', () => {
    const r = once({ tasks: busy(10, 0), policy: { ...POLICY, min: 2 } });
    expect(r.desired).toBe(2);
    expect(r.reason).toContain('raised to the minimum of 2');
    expect(once({ tasks: busy(10, 0.01) }).desired).toBe(1); // ceil(10 × 0.0167)
  });
});

describe('decide: min and max', () => {
  it('caps at max and raises to min, saying so', () => {
    const capped = once({ tasks: busy(4, 1.2), policy: { ...POLICY, max: 6 } });
    expect(capped.desired).toBe(6);
    expect(capped.reason).toContain('capped at the maximum of 6');
    const raised = once({ tasks: busy(4, 0.15), policy: { ...POLICY, min: 3 } });
    expect(raised.desired).toBe(3);
    expect(raised.reason).toContain('raised to the minimum of 3');
  });

  it('brings an app below its minimum up even when its load is on target', () => {
    const r = once({ tasks: busy(2, 0.6), policy: { ...POLICY, min: 3 } });
    expect(r).toMatchObject({ desired: 3, action: 'scaled' });
  });
});

describe('decide: missing metrics and tasks that are not ready', () => {
  const mixed = (cpu: number, other: DecideTask) => [...busy(3, cpu), other];

  it('scaling up: a task without data counts as 0 %', () => {
    // 3 × 90 % + 0 → 67.5 %, ratio 1.125 → ceil(4.5) = 5 (6 if the gap were ignored).
    const r = once({ tasks: mixed(0.9, { id: 'x', ready: true }) });
    expect(r.desired).toBe(5);
    expect(r.observed).toBeCloseTo(0.675, 12);
    expect(r.reason).toContain('no CPU data from 1 of 4 ready tasks, counted as 0 % since scaling up');
  });

  it('scaling down: a task without data counts at the target', () => {
    // (3 × 30 % + 60 %) / 4 = 37.5 %, ratio 0.625 → ceil(2.5) = 3 (2 if the gap were ignored).
    const r = once({ tasks: mixed(0.3, { id: 'x', ready: true }) });
    expect(r.desired).toBe(3);
    expect(r.reason).toContain('counted at the target since scaling down');
  });

  it('changes nothing when the missing tasks would reverse the direction', () => {
    const r = once({ tasks: [{ id: 'a', ready: true, cpu: 0.7 }, ...busy(3, undefined)] });
    expect(r).toMatchObject({ desired: 4, action: 'none' });
    expect(r.reason).toContain('reverse the direction');
  });

  it('scaling up: a task not ready counts as 0 %, its own figure unused', () => {
    const r = once({ tasks: mixed(0.9, { id: 'x', ready: false, cpu: 5 }) });
    expect(r.desired).toBe(5);
    expect(r.reason).toContain('1 task not ready, counted as 0 %');
  });

  it('scaling down: a task not ready is left out', () => {
    // 3 × 30 % → ratio 0.5 → ceil(2) = 2, as if the fourth task did not exist.
    expect(once({ tasks: mixed(0.3, { id: 'x', ready: false, cpu: 5 }) }).desired).toBe(2);
  });

  it('decides nothing without any CPU data, and says why', () => {
    const r = once({ tasks: busy(3, undefined) });
    expect(r).toMatchObject({ action: 'none', desired: 3, observed: null });
    expect(r.reason).toBe('No metrics: no CPU data from the 3 ready tasks; keeping 3 instances.');
    expect(once({ tasks: busy(2, 0.9, false) }).reason).toContain('none of the 2 tasks is ready');
  });
});

describe('decide: when it does not decide, and advise against auto', () => {
  it('does nothing while a deployment runs, and records no recommendation', () => {
    const history = createScalingHistory();
    const r = decide(input({ tasks: busy(4, 0.9), deploymentRunning: true }), history);
    expect(r).toMatchObject({ action: 'none', desired: 4 });
    expect(r.reason).toBe('A deployment of /shop/web is running; no decision until it has finished.');
    expect(history.recommendations('/shop/web')).toEqual([]);
  });

  it('does nothing when autoscaling is off', () => {
    const r = once({ tasks: busy(4, 0.9), policy: { ...POLICY, mode: 'off' } });
    expect(r).toMatchObject({
      action: 'none',
      desired: 4,
      mode: 'off',
      reason: 'Autoscaling is off for this app.',
    });
  });

  it('advise mode reports the count it would set and scales nothing; auto mode scales', () => {
    const advised = createScalingHistory();
    const a = decide(input({ tasks: busy(4, 0.9), policy: { ...POLICY, mode: 'advise' } }), advised);
    expect(a).toMatchObject({ action: 'advised', desired: 6 });
    expect(a.reason).toMatch(/advice: 4 → 6 instances\.$/);
    expect(advised.events('/shop/web')).toEqual([]);
    const auto = createScalingHistory();
    expect(decide(input({ tasks: busy(4, 0.9) }), auto)).toMatchObject({ action: 'scaled', desired: 6 });
    expect(auto.events('/shop/web')).toEqual([{ ts: T0, from: 4, to: 6 }]);
    expect(once({ tasks: busy(4, 0.6), policy: { ...POLICY, mode: 'advise' } }).action).toBe('none');
  });
});

describe('decide: latency and request-rate targets', () => {
  const policy = { ...POLICY, targetLatency: 0.2, targetRps: 100 };

  it('takes the metric that asks for the most instances', () => {
    // CPU on target: 4; latency 0.36 / 0.2 → ceil(4 × 1.8) = 8; 300 rps / 4 = 75 per instance → 3.
    const lat = once({ tasks: busy(4, 0.6), policy, latencyP99: 0.36, rps: 300 });
    expect(lat).toMatchObject({ desired: 8, metric: 'latency', observed: 0.36, target: 0.2 });
    expect(lat.reason).toBe('Latency p99 0.36 s against a target of 0.2 s: 4 → 8 instances.');
    const rps = once({ tasks: busy(4, 0.9), policy, latencyP99: 0.2, rps: 800 });
    expect(rps).toMatchObject({ desired: 8, metric: 'rps', observed: 200, target: 100 });
    expect(rps.reason).toContain('200 requests/s per instance against a target of 100');
  });

  it('does not scale down while a configured metric has no data', () => {
    const r = once({ tasks: busy(4, 0.15), policy: { ...POLICY, targetLatency: 0.2 } });
    expect(r.desired).toBe(4);
    expect(r.reason).toContain('no scale-down while latency data is missing');
    // Without CPU data, latency alone may still scale up.
    expect(once({ tasks: busy(4, undefined), policy, latencyP99: 0.36, rps: 300 }).desired).toBe(8);
  });
});
