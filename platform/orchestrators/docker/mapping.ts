/**
 * Pure conversions between the hub's orchestrator-neutral app model and Docker containers: the
 * create options of one task of an app, the app spec and task read back from a container's labels
 * and inspect result, and Docker's event messages as orchestrator events. No I/O here: the adapter
 * in `docker-orchestrator.ts` does the API calls.
 *
 * An app is the set of containers labelled `obs.app=/project/app`. Each carries the spec it was
 * made from (`obs.spec`, JSON) and the env Marathon and Mesos give a task (`MARATHON_APP_ID`,
 * `MESOS_TASK_ID`), so the agent tags its metrics exactly as it tags a Marathon task's. One extra
 * container per app is created and never started (`obs.role=definition`): it keeps the app's spec
 * while the app is scaled to zero.
 */
import type { ContainerCreateOptions } from 'dockerode';
import { appIdentity, identityTags } from '../../../collector/containers/identity-tags.ts';
import type { Tags } from '../../../core/model.ts';
import type { AppSpec, AppTask, OrchestratorEvent, TaskState } from '../../types.ts';

export const APP_LABEL = 'obs.app';
export const SPEC_LABEL = 'obs.spec';
export const TYPE_LABEL = 'obs.type';
export const ROLE_LABEL = 'obs.role';
export const TASK_LABEL = 'obs.task';
export const VERSION_LABEL = 'obs.version';
/** Labels the adapter owns: a spec's own labels cannot set them. */
export const RESERVED_LABELS = [APP_LABEL, SPEC_LABEL, TYPE_LABEL, ROLE_LABEL, TASK_LABEL, VERSION_LABEL];

export type ContainerRole = 'task' | 'definition';

const MiB = 1024 * 1024;
const NS_PER_S = 1e9;

/** `/shop/cart` → `shop_cart`: Marathon's form of an app id inside task ids. */
export function appSlug(appId: string): string {
  return appId.replace(/^\/+/, '').replaceAll('/', '_');
}

/** A Marathon-style task id, `shop_cart.<suffix>`; also the container's name. */
export function taskIdFor(appId: string, suffix: string): string {
  return `${appSlug(appId)}.${suffix}`;
}

export type CreateContext = {
  role: ContainerRole;
  /** The task id (role `task`) or a unique name (role `definition`). */
  name: string;
  /** `MARATHON_APP_VERSION`: the ISO time of the deploy that made the container. */
  version: string;
  /** Docker network mode (`none`, `bridge`, a network name); engine default when absent. */
  network?: string;
};

function healthcheckOf(spec: AppSpec): ContainerCreateOptions['Healthcheck'] | undefined {
  const h = spec.healthCheck;
  // Docker runs checks inside the container: only COMMAND maps without assuming tools in the image.
  if (h?.protocol !== 'COMMAND' || !h.command) return undefined;
  return {
    Test: ['CMD-SHELL', h.command],
    ...(h.intervalSeconds ? { Interval: h.intervalSeconds * NS_PER_S } : {}),
    ...(h.timeoutSeconds ? { Timeout: h.timeoutSeconds * NS_PER_S } : {}),
    ...(h.gracePeriodSeconds ? { StartPeriod: h.gracePeriodSeconds * NS_PER_S } : {}),
    ...(h.maxConsecutiveFailures ? { Retries: h.maxConsecutiveFailures } : {}),
  };
}

/** The labels every container of the app carries: the spec's own, then the adapter's. */
export function containerLabels(spec: AppSpec, ctx: CreateContext): Record<string, string> {
  const own = Object.fromEntries(
    Object.entries(spec.labels ?? {}).filter(([k]) => !RESERVED_LABELS.includes(k)),
  );
  return {
    ...own,
    [APP_LABEL]: spec.id,
    [SPEC_LABEL]: JSON.stringify(spec),
    [TYPE_LABEL]: spec.type,
    [ROLE_LABEL]: ctx.role,
    [VERSION_LABEL]: ctx.version,
    ...(ctx.role === 'task' ? { [TASK_LABEL]: ctx.name } : {}),
  };
}

/** Docker's create options for one container of `spec` (which must have an image). */
export function createOptions(spec: AppSpec, ctx: CreateContext): ContainerCreateOptions {
  const env = {
    ...spec.env,
    MARATHON_APP_ID: spec.id,
    MARATHON_APP_VERSION: ctx.version,
    ...(ctx.role === 'task' ? { MESOS_TASK_ID: ctx.name } : {}),
  };
  const healthcheck = healthcheckOf(spec);
  const ports = spec.ports?.filter((p) => p > 0) ?? [];
  return {
    name: ctx.name,
    Image: spec.image!,
    ...(spec.cmd ? { Cmd: ['sh', '-c', spec.cmd] } : {}),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: containerLabels(spec, ctx),
    ...(ports.length ? { ExposedPorts: Object.fromEntries(ports.map((p) => [`${p}/tcp`, {}])) } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    HostConfig: {
      NanoCpus: Math.round(spec.cpus * NS_PER_S),
      Memory: Math.round(spec.mem * MiB),
      ...(ctx.network ? { NetworkMode: ctx.network } : {}),
    },
  };
}

/** The spec a container's `obs.spec` label holds, or undefined when it is missing or not one. */
export function specOfLabels(
  labels: Readonly<Record<string, string>> | null | undefined,
): AppSpec | undefined {
  const raw = labels?.[SPEC_LABEL];
  if (!raw) return undefined;
  try {
    const spec = JSON.parse(raw) as Partial<AppSpec> | null;
    if (!spec || typeof spec.id !== 'string' || spec.id !== labels?.[APP_LABEL]) return undefined;
    return spec as AppSpec;
  } catch {
    return undefined;
  }
}

/** The part of Docker's inspect result a task is read from. */
export type InspectedContainer = {
  Id: string;
  Name?: string;
  Created?: string;
  Config?: { Env?: string[] | null; Labels?: Record<string, string> | null } | null;
  State?: {
    Status?: string;
    Running?: boolean;
    ExitCode?: number;
    StartedAt?: string;
    Health?: { Status?: string } | null;
  } | null;
};

/** Docker's container state as a task state. */
export function taskState(state: InspectedContainer['State']): TaskState {
  switch (state?.Status) {
    case 'created':
      return 'staging';
    case 'restarting':
      return 'starting';
    case 'running':
    case 'paused':
      return state.Health?.Status === 'unhealthy' ? 'unhealthy' : 'running';
    case 'exited':
      return state.ExitCode === 0 ? 'finished' : 'failed';
    case 'removing':
      return 'killed';
    case 'dead':
      return 'failed';
    default:
      return 'lost';
  }
}

/** Epoch ms of one of Docker's timestamps; undefined for Go's zero time (`0001-01-01…`). */
export function dockerTime(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

function envRecord(env: readonly string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** One task of an app from its container's inspect result; tags as the agent would give its points. */
export function taskOf(container: InspectedContainer, host: string): AppTask {
  const labels = container.Config?.Labels ?? {};
  const name = (container.Name ?? '').replace(/^\//, '') || container.Id.slice(0, 12);
  const env = envRecord(container.Config?.Env);
  const tags: Tags = identityTags(appIdentity(env, labels), name);
  const health = container.State?.Health?.Status;
  const startedAt = dockerTime(container.State?.StartedAt);
  return {
    id: labels[TASK_LABEL] ?? env['MESOS_TASK_ID'] ?? name,
    appId: labels[APP_LABEL] ?? env['MARATHON_APP_ID'] ?? '',
    host,
    state: taskState(container.State),
    ...(startedAt === undefined ? {} : { startedAt }),
    healthChecks: health === 'healthy' ? [true] : health === 'unhealthy' ? [false] : [],
    tags,
  };
}

/** One message of Docker's `/events` stream (the fields read here). */
export type DockerEventMessage = {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  time?: number;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> | null } | null;
};

/** The time of an event, epoch ms. */
export function eventTime(message: DockerEventMessage, fallback: number): number {
  if (message.timeNano) return Math.floor(message.timeNano / 1e6);
  if (message.time) return message.time * 1000;
  return fallback;
}

/**
 * An event about a task of one of our apps, or undefined for anything else (other containers,
 * definitions, actions that change no task). `stopping` holds the ids of containers the adapter is
 * removing, whose exit is a kill rather than a failure.
 */
export function orchestratorEventOf(
  message: DockerEventMessage,
  now: number,
  stopping: ReadonlySet<string> = new Set(),
): OrchestratorEvent | undefined {
  if ((message.Type ?? 'container') !== 'container') return undefined;
  const attributes = message.Actor?.Attributes ?? {};
  const appId = attributes[APP_LABEL];
  if (!appId || attributes[ROLE_LABEL] === 'definition') return undefined;
  const id = message.Actor?.ID ?? message.id ?? '';
  const taskId = attributes[TASK_LABEL] ?? attributes['name'] ?? id;
  const base = { orchestrator: 'docker', appId, taskId, ts: eventTime(message, now) };
  const action = message.Action ?? message.status ?? '';
  if (action === 'start')
    return { ...base, type: 'task_changed', state: 'running', message: `task ${taskId} started` };
  if (action === 'die') {
    const code = Number(attributes['exitCode'] ?? attributes['containerExitCode'] ?? Number.NaN);
    const state: TaskState = stopping.has(id) ? 'killed' : code === 0 ? 'finished' : 'failed';
    const exit = Number.isFinite(code) ? ` with code ${code}` : '';
    return { ...base, type: 'task_changed', state, message: `task ${taskId} exited${exit}` };
  }
  // Docker sends `health_status: healthy`; podman sends `health_status` with the status in an attribute.
  if (action.startsWith('health_status')) {
    const health = action.includes(':')
      ? action.slice(action.indexOf(':') + 1).trim()
      : attributes['health_status'];
    if (!health) return undefined;
    return { ...base, type: 'health_changed', state: health, message: `task ${taskId} is ${health}` };
  }
  return undefined;
}

/** Docker's event stream as messages: chunks may split or join JSON lines. */
export function createEventSplitter(onMessage: (m: DockerEventMessage) => void): (chunk: string) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) {
        try {
          onMessage(JSON.parse(line) as DockerEventMessage);
        } catch {
          // A line that is not JSON is not an event; the stream goes on.
        }
      }
      nl = buffer.indexOf('\n');
    }
  };
}
