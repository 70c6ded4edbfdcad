/**
 * The autoscaler's decision for one app in one round (every 15 s): a pure function of what was
 * measured, the app's policy and the app's recent history. Semantics follow Kubernetes' Horizontal
 * Pod Autoscaler:
 *
 * - `desired = ceil(current × observed / target)`, kept at `current` while
 *   `|observed / target − 1| ≤ tolerance`. With several targets (CPU, p99 latency, requests/s per
 *   instance) the largest desired count wins.
 * - CPU: the mean of `cpu / appCpus` over ready tasks with data. Tasks without data count as 0 %
 *   when that mean asks to scale up and as 100 % *of the target* when it asks to scale down (HPA's
 *   conservative rule: a task we cannot see neither pushes up nor pulls down); not-ready tasks
 *   count as 0 % for up and are left out for down. If that flips the direction, nothing changes.
 *   When a configured metric has no data, the others may scale up but never down.
 * - Scale-down stabilisation: a scale-down goes only as low as the highest recommendation of the
 *   last `downStabilisationMs`; scale-up is immediate.
 * - Rate limits per 15 s: up to max(double, +4 instances) and down by at most 100 % of the count
 *   at the start of the period.
 * - Then the `[min, max]` clamp, which wins over everything (a policy change applies at once).
 */
import type { AutoscalePolicy, ScalingRecord } from '../types.ts';
import type { ScalingHistory } from './history.ts';

export { createScalingHistory, type ScalingHistory, type ScalingHistoryJSON } from './history.ts';

/** The rate-limit period, as HPA's defaults. */
export const PERIOD_MS = 15_000;
const UP_FACTOR = 2;
const UP_INSTANCES = 4;
const DOWN_SHARE = 1;
const EPS = 1e-9;

export type DecideTask = {
  id: string;
  /** Running and passing its health checks. */
  ready: boolean;
  /** Cores used (mean over the window); undefined = no data. */
  cpu?: number;
};

export type DecideInput = {
  appId: string;
  now: number;
  policy: AutoscalePolicy;
  /** Instances the orchestrator is asked to run now. */
  current: number;
  /** Cores allotted per instance: CPU use is measured against it. */
  appCpus: number;
  tasks: DecideTask[];
  deploymentRunning: boolean;
  /** p99 request time of the app, seconds. */
  latencyP99?: number;
  /** Requests per second to the whole app (all instances). */
  rps?: number;
};

type Proposal = {
  metric: ScalingRecord['metric'];
  observed: number;
  target: number;
  desired: number;
  /** What was measured, for people. */
  sentence: string;
  notes: string[];
};
type Missing = { metric: ScalingRecord['metric']; why: string };

/**
 * Decides one round for one app and records the recommendation (and, for `scaled`, the scale
 * event) in `history`. For `scaled`, the caller performs the scale and sets `error` if it fails.
 */
export function decide(input: DecideInput, history: ScalingHistory): ScalingRecord {
  const { appId, now, policy, current } = input;
  const record: ScalingRecord = {
    appId,
    ts: now,
    mode: policy.mode,
    current,
    desired: current,
    observed: null,
    target: policy.targetCpu,
    metric: 'cpu',
    action: 'none',
    reason: '',
  };
  const none = (reason: string) => Object.assign(record, { reason });
  if (policy.mode === 'off') return none('Autoscaling is off for this app.');
  if (input.deploymentRunning)
    return none(`A deployment of ${appId} is running; no decision until it has finished.`);
  if (!(current > 0)) return none('The app runs 0 instances; autoscaling resumes once it runs again.');

  const { proposals, missing } = measure(input);
  if (proposals.length === 0)
    return none(`No metrics: ${missing.map((m) => m.why).join('; ')}; keeping ${plural(current)}.`);
  const best = proposals.reduce((a, b) => (b.desired > a.desired ? b : a));
  const notes = [...best.notes];
  let raw = best.desired;
  if (missing.length > 0 && raw < current) {
    notes.push(`no scale-down while ${missing.map((m) => m.metric).join(' and ')} data is missing`);
    raw = current;
  }
  history.addRecommendation(appId, { ts: now, desired: raw }, policy.downStabilisationMs);

  const desired = limit(input, raw, history, notes);
  Object.assign(record, { observed: best.observed, target: best.target, metric: best.metric, desired });
  const change = desired === current ? `keep ${plural(current)}` : `${current} → ${plural(desired)}`;
  if (policy.mode === 'advise') record.action = desired === current ? 'none' : 'advised';
  else if (desired !== current) {
    record.action = 'scaled';
    history.addEvent(appId, { ts: now, from: current, to: desired });
  }
  const outcome = policy.mode === 'advise' && desired !== current ? `advice: ${change}` : change;
  record.reason = `${capitalise(best.sentence)}${notes.map((n) => `; ${n}`).join('')}: ${outcome}.`;
  return record;
}

/** Scale-down stabilisation, rate limits and the [min, max] clamp, in that order. */
function limit(input: DecideInput, raw: number, history: ScalingHistory, notes: string[]): number {
  const { appId, now, policy, current } = input;
  let desired = raw;
  if (raw < current) {
    // The highest recommendation of the window (this round's included) bounds the scale-down.
    const since = now - policy.downStabilisationMs;
    let highest = raw;
    for (const r of history.recommendations(appId))
      if (r.ts > since && r.desired > highest) highest = r.desired;
    desired = Math.min(current, highest);
    if (desired > raw) {
      const secs = Math.round(policy.downStabilisationMs / 1000);
      notes.push(
        desired === current
          ? `scale-down held: ${plural(highest)} recommended within the last ${secs} s`
          : `scale-down only to ${desired}, the highest recommendation of the last ${secs} s`,
      );
    }
  }
  // Counted from the size at the start of the period: an earlier event in it says what that was.
  const start = history.events(appId).find((e) => e.ts > now - PERIOD_MS)?.from ?? current;
  const up = Math.max(Math.ceil(start * UP_FACTOR), start + UP_INSTANCES);
  const down = Math.max(0, Math.floor(start * (1 - DOWN_SHARE)));
  if (desired > up && desired > current) {
    desired = Math.max(up, current);
    notes.push(`limited to ${desired}: at most double or 4 more instances per ${PERIOD_MS / 1000} s`);
  } else if (desired < down && desired < current) {
    desired = Math.min(down, current);
    notes.push(
      `limited to ${desired}: at most ${DOWN_SHARE * 100} % fewer instances per ${PERIOD_MS / 1000} s`,
    );
  }
  if (desired > policy.max) {
    desired = policy.max;
    notes.push(`capped at the maximum of ${policy.max}`);
  } else if (desired < policy.min) {
    desired = policy.min;
    notes.push(`raised to the minimum of ${policy.min}`);
  }
  return desired;
}

function measure(input: DecideInput): { proposals: Proposal[]; missing: Missing[] } {
  const proposals: Proposal[] = [];
  const missing: Missing[] = [];
  const cpu = cpuProposal(input);
  if ('why' in cpu) missing.push(cpu);
  else proposals.push(cpu);
  const { policy, current } = input;
  if (policy.targetLatency !== undefined && policy.targetLatency > 0) {
    const l = input.latencyP99;
    if (l === undefined || !Number.isFinite(l) || l < 0)
      missing.push({ metric: 'latency', why: 'no p99 latency' });
    else
      proposals.push(
        ratioProposal(
          input,
          'latency',
          l,
          policy.targetLatency,
          `latency p99 ${fmt(l)} s against a target of ${fmt(policy.targetLatency)} s`,
        ),
      );
  }
  if (policy.targetRps !== undefined && policy.targetRps > 0) {
    const r = input.rps;
    if (r === undefined || !Number.isFinite(r) || r < 0)
      missing.push({ metric: 'rps', why: 'no request rate' });
    else {
      const per = r / current;
      proposals.push(
        ratioProposal(
          input,
          'rps',
          per,
          policy.targetRps,
          `${fmt(per)} requests/s per instance against a target of ${fmt(policy.targetRps)}`,
        ),
      );
    }
  }
  return { proposals, missing };
}

function ratioProposal(
  input: DecideInput,
  metric: Proposal['metric'],
  observed: number,
  target: number,
  sentence: string,
): Proposal {
  const ratio = observed / target;
  const { current, policy } = input;
  if (Math.abs(ratio - 1) <= policy.tolerance + EPS)
    return {
      metric,
      observed,
      target,
      desired: current,
      sentence: `${sentence}, within the ${pct(policy.tolerance)} tolerance`,
      notes: [],
    };
  return { metric, observed, target, desired: Math.ceil(current * ratio - EPS), sentence, notes: [] };
}

function cpuProposal(input: DecideInput): Proposal | Missing {
  const { tasks, appCpus, policy } = input;
  if (!(appCpus > 0)) return { metric: 'cpu', why: 'the app has no CPU allotment to measure use against' };
  const ready = tasks.filter((t) => t.ready);
  const seen = ready.filter((t) => t.cpu !== undefined && Number.isFinite(t.cpu) && t.cpu >= 0);
  if (seen.length === 0)
    return {
      metric: 'cpu',
      why:
        ready.length === 0
          ? `none of the ${plural(tasks.length, 'task')} is ready`
          : `no CPU data from the ${plural(ready.length, 'ready task')}`,
    };
  const target = policy.targetCpu;
  const sum = seen.reduce((s, t) => s + t.cpu! / appCpus, 0);
  const missing = ready.length - seen.length;
  const notReady = tasks.length - ready.length;
  const seenMean = sum / seen.length;
  let use = seenMean;
  const notes: string[] = [];
  if (seenMean > target * (1 + EPS) && missing + notReady > 0) {
    use = sum / tasks.length;
    if (missing > 0)
      notes.push(
        `no CPU data from ${missing} of ${plural(ready.length, 'ready task')}, counted as 0 % since scaling up`,
      );
    if (notReady > 0) notes.push(`${plural(notReady, 'task')} not ready, counted as 0 %`);
  } else if (seenMean < target * (1 - EPS) && missing > 0) {
    use = (sum + missing * target) / (seen.length + missing);
    notes.push(
      `no CPU data from ${missing} of ${plural(ready.length, 'ready task')}, counted at the target since scaling down`,
    );
  }
  const sentence = `CPU use ${pct(use)} of ${fmt(appCpus)} ${appCpus === 1 ? 'core' : 'cores'} per instance against a target of ${pct(target)}`;
  const flipped = (seenMean - target) * (use - target) < 0;
  if (flipped)
    return {
      metric: 'cpu',
      observed: use,
      target,
      desired: input.current,
      sentence: `${sentence} (${pct(seenMean)} on the tasks with data)`,
      notes: [...notes, 'the tasks without data reverse the direction, so no change'],
    };
  const p = ratioProposal(input, 'cpu', use, target, sentence);
  return { ...p, notes };
}

const pct = (x: number) => `${Math.round(x * 100)} %`;
const fmt = (x: number) => String(Number(x.toFixed(3)));
const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
function plural(n: number, noun = 'instance'): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
