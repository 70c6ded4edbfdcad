/**
 * Health of containers and apps from their recent usage: healthy, busy, idle, unhealthy or
 * unknown, each verdict with the reasons a person needs (what was seen against which threshold).
 * Pure; the thresholds are plain options so an app or a test can move them.
 */
import type { ContainerUsage, HealthReason, HealthState, HealthVerdict } from '../types.ts';

export type HealthThresholds = {
  /** Busy when CPU ≥ this fraction of the limit (or of the app's cpus when unlimited). */
  cpuBusy: number;
  /** Idle when CPU < this fraction of the limit and nothing is busy. */
  cpuIdle: number;
  /** Busy when this fraction of CFS periods or more was throttled. */
  throttledBusy: number;
  /** Busy when the working set ≥ this fraction of the memory limit. */
  memBusy: number;
  /** Busy when the p99 request time ≥ this, seconds. */
  latencyP99: number;
  /** Busy when this fraction of requests or more answered 5xx. */
  errorRatio: number;
  /** Unhealthy at this many restarts within the window. */
  restarts: number;
};

export const DEFAULT_HEALTH_THRESHOLDS: Readonly<HealthThresholds> = Object.freeze({
  cpuBusy: 0.9,
  cpuIdle: 0.05,
  throttledBusy: 0.25,
  memBusy: 0.9,
  latencyP99: 1,
  errorRatio: 0.05,
  restarts: 3,
});

/** A number for people: at most two decimals, no trailing zeros. */
export function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}
const pct = (f: number): string => `${fmt(f * 100)} %`;
const plural = (n: number, one: string, many = `${one}s`): string => `${fmt(n)} ${n === 1 ? one : many}`;

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${fmt(v)} ${units[u]}`;
}

function unhealthyReasons(u: ContainerUsage, t: HealthThresholds): HealthReason[] {
  const out: HealthReason[] = [];
  const checks = u.healthChecks ?? [];
  const failing = checks.filter((ok) => !ok).length;
  if (failing > 0)
    out.push({
      code: 'health_check_failing',
      message: `${failing} of ${checks.length} health checks failing`,
      value: failing,
      threshold: 1,
    });
  if ((u.oomKills ?? 0) > 0)
    out.push({
      code: 'oom_kill',
      message: `${plural(u.oomKills!, 'OOM kill')} in the window (> 0)`,
      value: u.oomKills!,
      threshold: 0,
    });
  if ((u.restarts ?? 0) >= t.restarts)
    out.push({
      code: 'restarts',
      message: `${plural(u.restarts!, 'restart')} in the window (≥ ${t.restarts})`,
      value: u.restarts!,
      threshold: t.restarts,
    });
  return out;
}

/** Busy reasons of request-level inputs, shared by containers and apps. */
export function trafficReasons(
  traffic: { latencyP99?: number; errorRatio?: number },
  t: HealthThresholds,
): HealthReason[] {
  const out: HealthReason[] = [];
  const { latencyP99, errorRatio } = traffic;
  if (latencyP99 !== undefined && latencyP99 >= t.latencyP99)
    out.push({
      code: 'latency_up',
      message: `p99 request time ${fmt(latencyP99)} s (≥ ${fmt(t.latencyP99)} s)`,
      value: latencyP99,
      threshold: t.latencyP99,
    });
  if (errorRatio !== undefined && errorRatio >= t.errorRatio)
    out.push({
      code: 'errors_up',
      message: `5xx answers ${pct(errorRatio)} of requests (≥ ${pct(t.errorRatio)})`,
      value: errorRatio,
      threshold: t.errorRatio,
    });
  return out;
}

function busyReasons(u: ContainerUsage, limit: number | undefined, t: HealthThresholds): HealthReason[] {
  const out: HealthReason[] = [];
  if (u.cpu !== undefined && limit !== undefined && u.cpu >= t.cpuBusy * limit)
    out.push({
      code: 'cpu_near_limit',
      message: `CPU ${fmt(u.cpu)} cores of a ${fmt(limit)}-core limit (≥ ${pct(t.cpuBusy)})`,
      value: u.cpu,
      threshold: t.cpuBusy * limit,
    });
  if (u.throttled !== undefined && u.throttled >= t.throttledBusy)
    out.push({
      code: 'cpu_throttled',
      message: `CPU throttled in ${pct(u.throttled)} of periods (≥ ${pct(t.throttledBusy)})`,
      value: u.throttled,
      threshold: t.throttledBusy,
    });
  if (u.workingSet !== undefined && u.memLimit !== undefined && u.workingSet >= t.memBusy * u.memLimit)
    out.push({
      code: 'mem_near_limit',
      message: `Memory working set ${bytes(u.workingSet)} of a ${bytes(u.memLimit)} limit (≥ ${pct(t.memBusy)})`,
      value: u.workingSet,
      threshold: t.memBusy * u.memLimit,
    });
  out.push(...trafficReasons(u, t));
  return out;
}

/**
 * The health of one container. Precedence: unhealthy (failing health check, OOM kill, restarts)
 * over busy (CPU, throttling, memory, latency, 5xx near their thresholds) over idle (CPU below
 * `cpuIdle` of the limit) over healthy; `unknown` with `no_data` when neither CPU nor memory was
 * seen. The CPU limit is the cgroup's, else `appCpus`; with neither, CPU judges nothing.
 */
export function evaluateContainer(
  usage: ContainerUsage,
  thresholds: HealthThresholds = DEFAULT_HEALTH_THRESHOLDS,
  appCpus?: number,
): HealthVerdict {
  const t = thresholds;
  const unhealthy = unhealthyReasons(usage, t);
  if (unhealthy.length > 0) return { state: 'unhealthy', reasons: unhealthy };
  if (usage.cpu === undefined && usage.workingSet === undefined)
    return {
      state: 'unknown',
      reasons: [
        { code: 'no_data', message: `No CPU or memory data for container ${usage.container} in the window` },
      ],
    };
  const limit = usage.cpuLimit ?? (appCpus !== undefined && appCpus > 0 ? appCpus : undefined);
  const busy = busyReasons(usage, limit, t);
  if (busy.length > 0) return { state: 'busy', reasons: busy };
  if (usage.cpu !== undefined && limit !== undefined && usage.cpu < t.cpuIdle * limit)
    return {
      state: 'idle',
      reasons: [
        {
          code: 'low_use',
          message: `CPU ${fmt(usage.cpu)} cores of a ${fmt(limit)}-core limit (< ${pct(t.cpuIdle)})`,
          value: usage.cpu,
          threshold: t.cpuIdle * limit,
        },
      ],
    };
  return { state: 'healthy', reasons: [] };
}

type Entry = { usage: ContainerUsage; verdict: HealthVerdict };

/**
 * One reason per code over the containers in `state`: "3 of 4 containers busy: cpu_near_limit on
 * web-1, web-2 (web-1: CPU 0.93 cores …)". `value` is the worst value seen.
 */
function aggregate(entries: Entry[], state: HealthState, total: number): HealthReason[] {
  const inState = entries.filter((e) => e.verdict.state === state);
  const byCode = new Map<string, { containers: string[]; first: HealthReason; worst: number | undefined }>();
  for (const e of inState)
    for (const r of e.verdict.reasons) {
      const seen = byCode.get(r.code);
      if (!seen) byCode.set(r.code, { containers: [e.usage.container], first: r, worst: r.value });
      else {
        seen.containers.push(e.usage.container);
        if (r.value !== undefined) seen.worst = Math.max(seen.worst ?? r.value, r.value);
      }
    }
  const head = `${inState.length} of ${total} containers ${state}`;
  return [...byCode.entries()].map(([code, s]) => {
    const reason: HealthReason = {
      code,
      message: `${head}: ${code} on ${s.containers.join(', ')} (${s.containers[0]}: ${s.first.message})`,
    };
    if (s.worst !== undefined) reason.value = s.worst;
    if (s.first.threshold !== undefined) reason.threshold = s.first.threshold;
    return reason;
  });
}

/**
 * The health of an app from its containers' verdicts and its request-level inputs (nginx p99 and
 * 5xx ratio). Unhealthy when no container runs or more than half are unhealthy; busy when at least
 * half are busy or latency or 5xx are up; idle when every container is idle; unknown when none has
 * data; healthy otherwise.
 */
export function evaluateApp(
  appId: string,
  containers: Entry[],
  appLevel: { latencyP99?: number; errorRatio?: number } = {},
  thresholds: HealthThresholds = DEFAULT_HEALTH_THRESHOLDS,
): HealthVerdict {
  const n = containers.length;
  if (n === 0)
    return {
      state: 'unhealthy',
      reasons: [{ code: 'no_running_containers', message: `No container of ${appId} is running`, value: 0 }],
    };
  const count = (s: HealthState) => containers.filter((c) => c.verdict.state === s).length;
  if (count('unhealthy') * 2 > n)
    return { state: 'unhealthy', reasons: aggregate(containers, 'unhealthy', n) };
  const traffic = trafficReasons(appLevel, thresholds);
  if (count('busy') * 2 >= n || traffic.length > 0) {
    const reasons = count('busy') * 2 >= n ? aggregate(containers, 'busy', n) : [];
    return { state: 'busy', reasons: [...traffic, ...reasons] };
  }
  if (count('idle') === n) return { state: 'idle', reasons: aggregate(containers, 'idle', n) };
  if (count('unknown') === n)
    return {
      state: 'unknown',
      reasons: [{ code: 'no_data', message: `No data for any of the ${n} containers of ${appId}` }],
    };
  return { state: 'healthy', reasons: [] };
}
