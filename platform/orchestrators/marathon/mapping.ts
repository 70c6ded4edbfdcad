/**
 * Pure conversions between the hub's orchestrator-neutral types and Marathon's REST v2 JSON
 * (app definitions, tasks, deployments, error bodies, event-stream messages). No I/O here: the
 * client in `marathon-orchestrator.ts` does the network part.
 */
import type { AppType, Tags } from '../../../core/model.ts';
import type {
  AppSpec,
  AppStatus,
  AppTask,
  HealthCheckSpec,
  OrchestratorEvent,
  TaskState,
} from '../../types.ts';

/** The label that carries the hub's app type (`WEB`, `Cron`...) on a Marathon app. */
export const TYPE_LABEL = 'obs.type';

const APP_TYPES: readonly AppType[] = ['WEB', 'Cron', 'Task', 'Worker', 'Service'];

export type MarathonHealthCheck = {
  protocol?: string;
  path?: string;
  portIndex?: number;
  command?: { value?: string } | null;
  gracePeriodSeconds?: number;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  maxConsecutiveFailures?: number;
  [key: string]: unknown;
};

export type MarathonPortMapping = { containerPort?: number; hostPort?: number; protocol?: string };

export type MarathonTask = {
  id: string;
  appId: string;
  host?: string;
  state?: string;
  startedAt?: string | null;
  stagedAt?: string | null;
  healthCheckResults?: { alive?: boolean }[];
  [key: string]: unknown;
};

/** The fields of a Marathon app definition (`types_app.raml`) the hub reads or writes. */
export type MarathonApp = {
  id: string;
  cmd?: string | null;
  cpus?: number;
  mem?: number;
  instances?: number;
  container?: {
    type?: string;
    docker?: { image?: string; network?: string; portMappings?: MarathonPortMapping[] | null } | null;
    portMappings?: MarathonPortMapping[] | null;
  } | null;
  portDefinitions?: { port?: number; protocol?: string; name?: string }[];
  ports?: number[];
  healthChecks?: MarathonHealthCheck[];
  labels?: Record<string, string>;
  env?: Record<string, unknown>;
  tasks?: MarathonTask[];
  deployments?: { id: string }[];
  [key: string]: unknown;
};

/** Marathon's error body (`types_error.raml`). */
export type MarathonError = {
  message?: string;
  details?: { path?: string; errors?: string[] }[];
  deployments?: { id: string }[];
};

/** The Marathon app definition for an AppSpec: what POST /v2/apps and PUT /v2/apps/{id} take. */
export function toMarathonApp(spec: AppSpec): MarathonApp {
  const app: MarathonApp = {
    id: spec.id,
    cpus: spec.cpus,
    mem: spec.mem,
    instances: spec.instances,
    labels: { ...spec.labels, [TYPE_LABEL]: spec.type },
  };
  if (spec.cmd !== undefined) app.cmd = spec.cmd;
  if (spec.env) app.env = { ...spec.env };
  const ports = spec.ports ?? [];
  if (spec.image) {
    app.container = {
      type: 'DOCKER',
      docker: { image: spec.image },
      portMappings: ports.map((p) => ({ containerPort: p, hostPort: 0, protocol: 'tcp' })),
    };
    // Container ports live in container.portMappings; an empty list keeps Marathon from adding one.
    app.portDefinitions = [];
  } else {
    app.portDefinitions = ports.map((p) => ({ port: p, protocol: 'tcp' }));
  }
  if (spec.healthCheck) app.healthChecks = [toMarathonHealthCheck(spec.healthCheck)];
  return app;
}

function toMarathonHealthCheck(h: HealthCheckSpec): MarathonHealthCheck {
  const out: MarathonHealthCheck = { protocol: h.protocol };
  if (h.path !== undefined) out.path = h.path;
  if (h.protocol !== 'COMMAND') out.portIndex = h.portIndex ?? 0;
  if (h.command !== undefined) out.command = { value: h.command };
  if (h.gracePeriodSeconds !== undefined) out.gracePeriodSeconds = h.gracePeriodSeconds;
  if (h.intervalSeconds !== undefined) out.intervalSeconds = h.intervalSeconds;
  if (h.timeoutSeconds !== undefined) out.timeoutSeconds = h.timeoutSeconds;
  if (h.maxConsecutiveFailures !== undefined) out.maxConsecutiveFailures = h.maxConsecutiveFailures;
  return out;
}

function fromMarathonHealthCheck(h: MarathonHealthCheck): HealthCheckSpec {
  const p = (h.protocol ?? 'HTTP').replace(/^MESOS_/, '');
  const protocol: HealthCheckSpec['protocol'] = p === 'TCP' ? 'TCP' : p === 'COMMAND' ? 'COMMAND' : 'HTTP';
  const out: HealthCheckSpec = { protocol };
  if (h.path) out.path = h.path;
  if (typeof h.portIndex === 'number') out.portIndex = h.portIndex;
  if (h.command?.value) out.command = h.command.value;
  for (const k of [
    'gracePeriodSeconds',
    'intervalSeconds',
    'timeoutSeconds',
    'maxConsecutiveFailures',
  ] as const) {
    if (typeof h[k] === 'number') out[k] = h[k];
  }
  return out;
}

function portsOf(app: MarathonApp): number[] {
  const mappings = app.container?.portMappings ?? app.container?.docker?.portMappings;
  if (mappings?.length) return mappings.map((m) => m.containerPort ?? 0);
  if (app.portDefinitions?.length) return app.portDefinitions.map((d) => d.port ?? 0);
  return app.ports ?? [];
}

/** The AppSpec of a Marathon app (from GET /v2/apps or a fixture). Secret env values are left out. */
export function fromMarathonApp(app: MarathonApp): AppSpec {
  const labels = { ...(app.labels ?? {}) };
  const typeLabel = labels[TYPE_LABEL] as AppType | undefined;
  delete labels[TYPE_LABEL];
  const spec: AppSpec = {
    id: app.id,
    type: typeLabel && APP_TYPES.includes(typeLabel) ? typeLabel : 'WEB',
    cpus: app.cpus ?? 1,
    mem: app.mem ?? 128,
    instances: app.instances ?? 1,
  };
  const image = app.container?.docker?.image;
  if (image) spec.image = image;
  if (app.cmd) spec.cmd = app.cmd;
  const ports = portsOf(app);
  if (ports.length) spec.ports = ports;
  const hc = app.healthChecks?.[0];
  if (hc) spec.healthCheck = fromMarathonHealthCheck(hc);
  if (Object.keys(labels).length) spec.labels = labels;
  const env = Object.entries(app.env ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string');
  if (env.length) spec.env = Object.fromEntries(env);
  return spec;
}

const TASK_STATES: Record<string, TaskState> = {
  TASK_STAGING: 'staging',
  TASK_STARTING: 'starting',
  TASK_RUNNING: 'running',
  TASK_FINISHED: 'finished',
  TASK_FAILED: 'failed',
  TASK_ERROR: 'failed',
  TASK_KILLED: 'killed',
  TASK_KILLING: 'killed',
  TASK_LOST: 'lost',
  TASK_UNREACHABLE: 'lost',
  TASK_GONE: 'lost',
  TASK_DROPPED: 'lost',
  TASK_UNKNOWN: 'lost',
};

/** The hub's task state for a Mesos task state; a running task failing a health check is `unhealthy`. */
export function taskStateOf(mesosState: string | undefined, healthChecks: boolean[] = []): TaskState {
  const state = TASK_STATES[mesosState ?? ''] ?? 'staging';
  return state === 'running' && healthChecks.includes(false) ? 'unhealthy' : state;
}

/**
 * The tags an agent puts on this app's points: `project` and `app` from `/project/app` (deeper ids
 * keep the rest of the path in `app`), and `task`, the Mesos task id (the agent reads MESOS_TASK_ID).
 */
export function taskTags(appId: string, taskId: string): Tags {
  const [project, ...rest] = appId.split('/').filter(Boolean);
  const tags: Tags = { task: taskId };
  if (rest.length) {
    tags['project'] = project!;
    tags['app'] = rest.join('/');
  } else if (project) {
    tags['app'] = project;
  }
  return tags;
}

function epochMs(iso: string | null | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/** An AppTask from a Marathon task (GET /v2/apps/{id}/tasks, /v2/tasks, or embedded in an app). */
export function fromMarathonTask(task: MarathonTask): AppTask {
  const healthChecks = (task.healthCheckResults ?? []).map((r) => r.alive === true);
  const out: AppTask = {
    id: task.id,
    appId: task.appId,
    host: task.host ?? '',
    state: taskStateOf(task.state, healthChecks),
    healthChecks,
    tags: taskTags(task.appId, task.id),
  };
  const startedAt = epochMs(task.startedAt);
  if (startedAt !== undefined) out.startedAt = startedAt;
  return out;
}

/** An AppStatus from an app fetched with `embed=apps.tasks&embed=apps.deployments`. */
export function fromMarathonAppStatus(app: MarathonApp): AppStatus {
  return {
    spec: fromMarathonApp(app),
    tasks: (app.tasks ?? []).map((t) => fromMarathonTask({ ...t, appId: t.appId ?? app.id })),
    deployments: (app.deployments ?? []).map((d) => d.id),
    orchestrator: 'marathon',
  };
}

/** The AppSpec field a Marathon error path points at, so INVALID_INPUT speaks the hub's names. */
const FIELD_OF_PATH: Record<string, string> = {
  'container.docker.image': 'image',
  'container.portMappings': 'ports',
  portDefinitions: 'ports',
  healthChecks: 'healthCheck',
};

/** `/container/docker/image` → `image`; `/upgradeStrategy/minimumHealthCapacity` → `upgradeStrategy.minimumHealthCapacity`. */
export function fieldOfPath(path: string | undefined): string {
  const dotted = (path ?? '')
    .replace(/^\/+/, '')
    .replace(/\(\d+\)|\[\d+\]/g, '')
    .split('/')
    .filter((s) => s !== '' && !/^\d+$/.test(s))
    .join('.');
  if (dotted === '') return 'app';
  for (const [prefix, field] of Object.entries(FIELD_OF_PATH)) {
    if (dotted === prefix || dotted.startsWith(prefix + '.')) return field;
  }
  return dotted;
}

/** Field-by-field details of a Marathon 400/422 body: one entry per path and error message. */
export function errorDetails(body: MarathonError): { field: string; message: string }[] {
  return (body.details ?? []).flatMap((d) =>
    (d.errors?.length ? d.errors : ['is invalid']).map((message) => ({
      field: fieldOfPath(d.path),
      message,
    })),
  );
}

/** The deployment ids of a 409 "App is locked by one or more deployments" body. */
export function lockingDeployments(body: MarathonError): string[] {
  return (body.deployments ?? []).map((d) => d.id).filter((id) => typeof id === 'string');
}

type PlanLike = { id?: string; steps?: { actions?: { app?: string }[] }[] };
type StepLike = { actions?: { app?: string; action?: string }[] };

/** A message from /v2/events as JSON, loosely typed: only the fields the hub maps. */
export type MarathonEvent = {
  eventType?: string;
  timestamp?: string;
  id?: string;
  plan?: PlanLike;
  currentStep?: StepLike;
  appId?: string;
  taskId?: string;
  instanceId?: string;
  taskStatus?: string;
  message?: string;
  alive?: boolean;
};

function appOfPlan(plan: PlanLike | undefined, step?: StepLike): string | undefined {
  const fromStep = step?.actions?.find((a) => a.app)?.app;
  if (fromStep) return fromStep;
  for (const s of plan?.steps ?? []) for (const a of s.actions ?? []) if (a.app) return a.app;
  return undefined;
}

/**
 * The OrchestratorEvent for a Marathon event, or undefined for types the hub does not follow.
 * `deployment_info` (a deployment starts a step) maps to `deployment_started`.
 */
export function fromMarathonEvent(
  type: string,
  data: MarathonEvent,
  now: number,
): OrchestratorEvent | undefined {
  const ts = epochMs(data.timestamp) ?? now;
  const base = { orchestrator: 'marathon', ts };
  const deploymentId = data.plan?.id ?? data.id;
  const appId = data.appId ?? appOfPlan(data.plan, data.currentStep);
  const withIds = (e: OrchestratorEvent): OrchestratorEvent => {
    if (appId) e.appId = appId;
    if (deploymentId && e.type.startsWith('deployment')) e.deploymentId = deploymentId;
    return e;
  };
  switch (type) {
    case 'deployment_info':
      return withIds({ ...base, type: 'deployment_started', message: stepMessage(data.currentStep) });
    case 'deployment_step_success':
      return withIds({ ...base, type: 'deployment_step', message: stepMessage(data.currentStep) });
    case 'deployment_success':
      return withIds({ ...base, type: 'deployment_success' });
    case 'deployment_failed':
      return withIds({ ...base, type: 'deployment_failed', message: data.message ?? 'deployment failed' });
    case 'status_update_event': {
      const e = withIds({ ...base, type: 'task_changed', state: taskStateOf(data.taskStatus) });
      if (data.taskId) e.taskId = data.taskId;
      if (data.message) e.message = data.message;
      return e;
    }
    case 'health_status_changed_event': {
      const e = withIds({ ...base, type: 'health_changed', state: data.alive ? 'healthy' : 'unhealthy' });
      const taskId = data.taskId ?? data.instanceId;
      if (taskId) e.taskId = taskId;
      return e;
    }
    default:
      return undefined;
  }
}

function stepMessage(step: StepLike | undefined): string {
  const actions = (step?.actions ?? []).map((a) => `${a.action ?? 'action'} ${a.app ?? ''}`.trim());
  return actions.length ? actions.join(', ') : 'deployment step';
}
