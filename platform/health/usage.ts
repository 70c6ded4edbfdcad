/**
 * Reads what the health evaluator needs from the MetricStore: each container's recent usage (the
 * agent's `container.*` metrics) and each app's traffic (the nginx tailer's metrics), and writes
 * health back as `platform.health` points so alert rules can use it.
 *
 * Within the window: CPU and throttling are means; limits and the working set are the latest value
 * (a level, not a rate); OOM kills are the agent's per-second rate integrated over time.
 */
import type { MetricPoint, Tags } from '../../core/model.ts';
import type { MetricStore } from '../../core/ports.ts';
import type { MetricQuery, SeriesResult, SubQuery } from '../../core/query.ts';
import { appIdOfTags } from '../model.ts';
import type { AppTask, ContainerUsage, HealthEvent, HealthState } from '../types.ts';
import type { HealthSnapshot } from './tracker.ts';

export type UsageWindow = { start: number; end: number };
export type AppTraffic = { latencyP99?: number; errorRatio?: number; rps?: number };

export const CONTAINER_METRICS = {
  cpu: 'container.cpu.usage',
  cpuLimit: 'container.cpu.limit',
  throttled: 'container.cpu.throttled',
  workingSet: 'container.mem.working_set',
  memLimit: 'container.mem.limit',
  oomKills: 'container.mem.oom_kills',
} as const;

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const P99 = 'nginx.request_time.p99';

/** Every series of each metric, split by `tagk`, raw points: the store aggregates nothing. */
function rawQuery(window: UsageWindow, metrics: readonly string[], tagk: string): MetricQuery {
  const queries = metrics.map(
    (metric): SubQuery => ({
      metric,
      aggregator: 'none',
      rate: false,
      filters: [{ type: 'wildcard', tagk, filter: '*', groupBy: true }],
      explicitTags: false,
    }),
  );
  return { start: window.start, end: window.end, queries, msResolution: true, showQuery: false };
}

type Samples = { ts: number[]; values: number[] };

function addSamples(into: Samples, dps: SeriesResult['dps']): void {
  for (const [t, v] of dps)
    if (v !== null && Number.isFinite(v)) {
      into.ts.push(t);
      into.values.push(v);
    }
}

const mean = (s: Samples | undefined): number | undefined =>
  s && s.values.length > 0 ? s.values.reduce((a, b) => a + b, 0) / s.values.length : undefined;

function latest(s: Samples | undefined): number | undefined {
  if (!s || s.ts.length === 0) return undefined;
  let at = 0;
  for (let i = 1; i < s.ts.length; i++) if (s.ts[i]! >= s.ts[at]!) at = i;
  return s.values[at];
}

/**
 * Events in the window from a per-second rate: Σ rate × the time since the previous point (the
 * first point borrows the next gap). Any positive rate counts at least one.
 */
export function countFromRate(s: Samples | undefined): number | undefined {
  if (!s || s.ts.length === 0) return undefined;
  const order = s.ts.map((_, i) => i).sort((a, b) => s.ts[a]! - s.ts[b]!);
  let total = 0;
  let positive = false;
  order.forEach((i, k) => {
    const v = s.values[i]!;
    if (v <= 0) return;
    positive = true;
    const prev = k > 0 ? s.ts[order[k - 1]!]! : undefined;
    const next = k + 1 < order.length ? s.ts[order[k + 1]!]! : undefined;
    const dt = prev !== undefined ? s.ts[i]! - prev : next !== undefined ? next - s.ts[i]! : 0;
    total += (v * dt) / 1000;
  });
  return positive ? Math.max(1, Math.round(total)) : 0;
}

type ContainerSeries = { tags: Tags; metrics: Map<string, Samples> };

function toUsage(container: string, c: ContainerSeries): ContainerUsage | undefined {
  const appId = appIdOfTags(c.tags);
  if (!appId) return undefined;
  const m = (key: keyof typeof CONTAINER_METRICS) => c.metrics.get(CONTAINER_METRICS[key]);
  const usage: ContainerUsage = { container, appId };
  const put = <K extends keyof ContainerUsage>(key: K, value: ContainerUsage[K] | undefined) => {
    if (value !== undefined) usage[key] = value;
  };
  put('task', c.tags['task']);
  put('cpu', mean(m('cpu')));
  put('cpuLimit', latest(m('cpuLimit')));
  put('throttled', mean(m('throttled')));
  put('workingSet', latest(m('workingSet')));
  put('memLimit', latest(m('memLimit')));
  put('oomKills', countFromRate(m('oomKills')));
  return usage;
}

/**
 * The usage of every container with points in the window, by its `container` tag. Containers
 * without `project` and `app` tags are not apps of the platform and are left out. `restarts` and
 * `healthChecks` are not metrics: the caller adds them from the orchestrator.
 */
export async function readContainerUsage(
  store: Pick<MetricStore, 'query'>,
  window: UsageWindow,
): Promise<ContainerUsage[]> {
  const metrics = Object.values(CONTAINER_METRICS);
  const results = await store.query(rawQuery(window, metrics, 'container'));
  const byContainer = new Map<string, ContainerSeries>();
  for (const r of results) {
    const container = r.tags['container'];
    if (!container) continue;
    let c = byContainer.get(container);
    if (!c) {
      c = { tags: { ...r.tags }, metrics: new Map() };
      byContainer.set(container, c);
    }
    // A container keeps its identity; a later series (a new task tag) wins for the ids.
    for (const k of ['project', 'app', 'task'] as const) if (r.tags[k]) c.tags[k] = r.tags[k];
    const metric = metrics[r.index]!;
    const s = c.metrics.get(metric) ?? { ts: [], values: [] };
    c.metrics.set(metric, s);
    addSamples(s, r.dps);
  }
  const out: ContainerUsage[] = [];
  for (const [container, c] of [...byContainer.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const usage = toUsage(container, c);
    if (usage) out.push(usage);
  }
  return out;
}

/**
 * Adds each task's latest health check results to the usage of its container, matched by the
 * `task` tag (Mesos task id) or the task's `container` tag. Usages without a task keep theirs.
 */
export function withTaskHealth(
  usages: readonly ContainerUsage[],
  tasks: readonly AppTask[],
): ContainerUsage[] {
  const byTask = new Map<string, AppTask>();
  const byContainer = new Map<string, AppTask>();
  for (const t of tasks) {
    byTask.set(t.id, t);
    const container = t.tags?.['container'];
    if (container) byContainer.set(container, t);
  }
  return usages.map((u) => {
    const task = (u.task !== undefined ? byTask.get(u.task) : undefined) ?? byContainer.get(u.container);
    return task ? { ...u, healthChecks: [...task.healthChecks] } : u;
  });
}

/** The app name of `/project/app`: everything after the project (`/shop/api/v2` → `api/v2`). */
function appName(appId: string): string {
  return appId.split('/').slice(2).join('/');
}

/**
 * Which app an nginx series belongs to: its `project` and `app` tags when it has them, else the
 * known app whose name equals the `vhost` or the vhost's first DNS label (`cart.example.com` →
 * `cart`); undefined when none or several apps match.
 */
export function appOfVhostSeries(tags: Readonly<Tags>, appIds: readonly string[]): string | undefined {
  const tagged = appIdOfTags(tags);
  if (tagged) return tagged;
  const vhost = tags['vhost'];
  if (!vhost) return undefined;
  const label = vhost.split('.')[0]!;
  const matches = appIds.filter((id) => appName(id) === vhost || appName(id) === label);
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * Each app's traffic in the window from the nginx metrics: p99 request time (mean of the
 * intervals' p99 over every routing node and upstream), the 5xx share of all answers, and requests
 * per second over the window. nginx tags carry no app, so vhosts are matched to `appIds` by name
 * (see {@link appOfVhostSeries}).
 */
export async function readAppTraffic(
  store: Pick<MetricStore, 'query'>,
  window: UsageWindow,
  options: { appIds?: readonly string[] } = {},
): Promise<Map<string, AppTraffic>> {
  const metrics = [P99, ...STATUS_CLASSES.map((c) => `nginx.status.${c}`)];
  const results = await store.query(rawQuery(window, metrics, 'vhost'));
  const acc = new Map<string, { p99: Samples; total: number; errors: number }>();
  for (const r of results) {
    const appId = appOfVhostSeries(r.tags, options.appIds ?? []);
    if (!appId) continue;
    const a = acc.get(appId) ?? { p99: { ts: [], values: [] }, total: 0, errors: 0 };
    acc.set(appId, a);
    if (r.index === 0) addSamples(a.p99, r.dps);
    else {
      const count = r.dps.reduce((sum, [, v]) => sum + (v ?? 0), 0);
      a.total += count;
      if (metrics[r.index] === 'nginx.status.5xx') a.errors += count;
    }
  }
  const seconds = Math.max(1, (window.end - window.start) / 1000);
  const out = new Map<string, AppTraffic>();
  for (const [appId, a] of acc) {
    const t: AppTraffic = { rps: a.total / seconds };
    const p99 = mean(a.p99);
    if (p99 !== undefined) t.latencyP99 = p99;
    if (a.total > 0) t.errorRatio = a.errors / a.total;
    out.set(appId, t);
  }
  return out;
}

/* ---------------------------------------------------------------- health as points */

export const HEALTH_METRIC = 'platform.health';
/** `platform.health` values: alert on `>= 3` for unhealthy. `unknown` writes no point. */
export const HEALTH_VALUES: Readonly<Record<Exclude<HealthState, 'unknown'>, number>> = {
  healthy: 0,
  idle: 1,
  busy: 2,
  unhealthy: 3,
};

const TAG_BAD = /[^\p{L}0-9\-_./]/gu;
const tagValue = (v: string): string => v.replace(TAG_BAD, '_').slice(0, 256);

/**
 * `platform.health` points of health events (their new state) or tracker snapshots: tags `project`
 * and `app`, plus `container` for containers; value 0 healthy, 1 idle, 2 busy, 3 unhealthy.
 * Subjects in `unknown`, or whose app id is not `/project/app…`, give no point.
 */
export function healthPoints(
  items: readonly (HealthEvent | Pick<HealthSnapshot, 'kind' | 'subject' | 'appId' | 'state'>)[],
  ts: number,
): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const item of items) {
    const state = 'to' in item ? item.to : item.state;
    if (state === 'unknown') continue;
    const project = item.appId.split('/')[1];
    const app = appName(item.appId);
    if (!project || !app) continue;
    const tags: Tags = { project: tagValue(project), app: tagValue(app) };
    if (item.kind === 'container') tags['container'] = tagValue(item.subject);
    points.push({ metric: HEALTH_METRIC, tags, ts, value: HEALTH_VALUES[state] });
  }
  return points;
}
