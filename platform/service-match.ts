/**
 * Pure glue of the platform loop: which containers belong to which app and task, the apps seen
 * in the metrics when no orchestrator is configured, and the per-task inputs of the autoscaler.
 */
import { isHubError } from '../core/errors.ts';
import type { Orchestrator } from '../core/ports.ts';
import type { AppStatus, AppTask, ContainerUsage, HealthVerdict, ScalingRecord } from './types.ts';

/** `/project/app` from what tags and orchestrators call an app (`project/app`, `/project/app/`). */
export function normalizeAppId(id: string): string {
  const trimmed = id.trim().replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** The project of an app id: its first path segment, or undefined when there is none. */
export function projectOfAppId(id: string): string | undefined {
  const first = normalizeAppId(id).split('/')[1];
  return first ? first : undefined;
}

const MIB = 1024 * 1024;

/**
 * Advice-only mode: apps made up from the containers the agents report, one per app id. Their
 * "setting" is what the containers run with: the largest CPU and memory limits seen.
 */
export function synthesizeApps(usages: readonly ContainerUsage[]): AppStatus[] {
  const byApp = new Map<string, ContainerUsage[]>();
  for (const u of usages) {
    if (!u.appId) continue;
    const id = normalizeAppId(u.appId);
    const list = byApp.get(id) ?? [];
    list.push(u);
    byApp.set(id, list);
  }
  const apps: AppStatus[] = [];
  for (const [id, list] of byApp) {
    const cpus = Math.max(0, ...list.map((u) => u.cpuLimit ?? 0));
    const memBytes = Math.max(0, ...list.map((u) => u.memLimit ?? 0));
    const tasks: AppTask[] = list.map((u) => ({
      id: u.task ?? u.container,
      appId: id,
      host: '',
      state: 'running',
      healthChecks: u.healthChecks ?? [],
    }));
    apps.push({
      spec: { id, type: 'WEB', cpus, mem: Math.round(memBytes / MIB), instances: list.length },
      tasks,
      deployments: [],
      orchestrator: 'none',
    });
  }
  return apps.sort((a, b) => a.spec.id.localeCompare(b.spec.id));
}

/**
 * The containers of each app, keyed by app id. A container joins an app by its `app` tag; when
 * its task is one of the app's tasks, it also gets that task's health check results.
 */
export function containersByApp(
  apps: readonly AppStatus[],
  usages: readonly ContainerUsage[],
): Map<string, ContainerUsage[]> {
  const out = new Map<string, ContainerUsage[]>();
  const tasks = new Map<string, AppTask>();
  for (const app of apps) {
    out.set(normalizeAppId(app.spec.id), []);
    for (const t of app.tasks) tasks.set(t.id, t);
  }
  for (const u of usages) {
    const task = tasks.get(u.task ?? u.container);
    const id = task ? normalizeAppId(task.appId) : u.appId ? normalizeAppId(u.appId) : undefined;
    const list = id === undefined ? undefined : out.get(id);
    if (!list) continue;
    const checks = task && task.healthChecks.length > 0 ? task.healthChecks : u.healthChecks;
    list.push({ ...u, appId: id!, ...(checks ? { healthChecks: checks } : {}) });
  }
  return out;
}

/** A task counts toward the autoscaler's average when it runs and passes its health checks. */
export function taskReady(task: AppTask): boolean {
  return task.state === 'running' && task.healthChecks.every(Boolean);
}

/** The autoscaler's per-task view: readiness and the task's CPU (summed over its containers). */
export function decisionTasks(
  app: AppStatus,
  containers: readonly ContainerUsage[],
): { id: string; ready: boolean; cpu?: number }[] {
  const cpuByTask = new Map<string, number>();
  for (const c of containers) {
    if (c.cpu === undefined) continue;
    const key = c.task ?? c.container;
    cpuByTask.set(key, (cpuByTask.get(key) ?? 0) + c.cpu);
  }
  return app.tasks
    .filter((t) => !['finished', 'failed', 'killed', 'lost'].includes(t.state))
    .map((t) => {
      const cpu = cpuByTask.get(t.id);
      return { id: t.id, ready: taskReady(t), ...(cpu === undefined ? {} : { cpu }) };
    });
}

/** Why an auto scale did not happen, in the words of the decision log. */
export function scaleError(e: unknown, status: AppStatus): string {
  if (isHubError(e) && e.code === 'CONFLICT') {
    // The lock may be newer than the listing the decision was made on: prefer Marathon's own list.
    const cause = e.cause as { deployments?: { id?: unknown }[] } | undefined;
    const fromCause = (cause?.deployments ?? []).flatMap((d) => (typeof d.id === 'string' ? [d.id] : []));
    const ids = fromCause.length > 0 ? fromCause : status.deployments;
    return `app locked by deployment ${ids.length > 0 ? ids.join(', ') : '(unknown)'}; not forced`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** A repeated "nothing new" record is written at most this often, so the log shows the loop is alive. */
export const DECISION_HEARTBEAT_MS = 5 * 60_000;

/**
 * Whether a record goes into the decision log: every scale and every error; otherwise only when
 * the outcome differs from the app's previous record (action, instances, mode) or after the heartbeat.
 * Reasons carry the measured numbers, which change every round, so they do not count as news.
 */
export function worthKeeping(record: ScalingRecord, previous: ScalingRecord | undefined): boolean {
  if (record.action === 'scaled' || record.error !== undefined) return true;
  if (!previous) return true;
  return (
    previous.action !== record.action ||
    previous.desired !== record.desired ||
    previous.current !== record.current ||
    previous.mode !== record.mode ||
    previous.error !== undefined ||
    record.ts - previous.ts >= DECISION_HEARTBEAT_MS
  );
}

/** Cron apps go to Chronos; the others to Marathon, else the Docker host, else any non-Chronos one. */
export function pickOrchestrator(
  orchestrators: readonly Orchestrator[],
  type: string,
): Orchestrator | undefined {
  const named = (n: string) => orchestrators.find((o) => o.name === n);
  if (type === 'Cron') return named('chronos');
  return named('marathon') ?? named('docker') ?? orchestrators.find((o) => o.name !== 'chronos');
}

/**
 * The verdict of an app none of whose containers reported in the window, when that is no sign of
 * trouble: its tasks run (the agent has not reported yet, or runs elsewhere), or it wants no
 * instance now (scaled to 0, a Cron app between runs). Undefined otherwise: then no container
 * runs although some should, which the health evaluator calls unhealthy.
 */
export function noDataVerdict(status: AppStatus, containers: number): HealthVerdict | undefined {
  if (containers > 0) return undefined;
  const running = status.tasks.filter((t) => t.state === 'running').length;
  if (running > 0)
    return {
      state: 'unknown',
      reasons: [
        {
          code: 'no_data',
          message: `${running} task${running === 1 ? '' : 's'} running, but no container metrics of ${status.spec.id} in the window`,
        },
      ],
    };
  if (status.spec.instances === 0 || status.spec.type === 'Cron' || status.deployments.length > 0)
    return {
      state: 'unknown',
      reasons: [
        {
          code: 'no_data',
          message:
            status.deployments.length > 0
              ? `No container of ${status.spec.id} reports yet: deployment ${status.deployments.join(', ')} is running`
              : `No instance of ${status.spec.id} runs now (${status.spec.type === 'Cron' ? 'between runs' : 'scaled to 0'})`,
        },
      ],
    };
  return undefined;
}
