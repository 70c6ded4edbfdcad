/**
 * The platform layer's shared vocabulary: apps as the orchestrators know them, container and app
 * health with reasons, capacity advice and scaling decisions. Pure types; no I/O here.
 */
import type { AppType, Tags } from '../core/model.ts';

/* ---------------------------------------------------------------- apps */

export type HealthCheckSpec = {
  protocol: 'HTTP' | 'TCP' | 'COMMAND';
  /** HTTP path, for `HTTP`. */
  path?: string;
  /** Index into the app's ports. */
  portIndex?: number;
  command?: string;
  gracePeriodSeconds?: number;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  maxConsecutiveFailures?: number;
};

/** What a user asks to deploy: the orchestrator-neutral app definition. */
export type AppSpec = {
  /** `/project/app`. */
  id: string;
  type: AppType;
  image?: string;
  /** Shell command; WEB/Worker/Service apps may run the image's own. */
  cmd?: string;
  /** CPU shares per instance, in cores. */
  cpus: number;
  /** Memory per instance, MiB. */
  mem: number;
  instances: number;
  /** Container ports (WEB, Service). */
  ports?: number[];
  healthCheck?: HealthCheckSpec;
  labels?: Record<string, string>;
  env?: Record<string, string>;
  /** Cron apps: ISO 8601 repeating interval, `R/2026-11-26T00:00:00Z/PT1H`. */
  schedule?: string;
};

export type TaskState =
  | 'staging'
  | 'starting'
  | 'running'
  | 'unhealthy'
  | 'finished'
  | 'failed'
  | 'killed'
  | 'lost';

/** One running instance of an app (a Mesos task, a Docker container). */
export type AppTask = {
  id: string;
  appId: string;
  host: string;
  state: TaskState;
  /** Epoch ms. */
  startedAt?: number;
  /** The last health check results: true = passing. Empty when the app has none. */
  healthChecks: boolean[];
  /** Tags of this task's points as the agent sends them (`app`, `task`, `container`...). */
  tags?: Tags;
};

export type AppStatus = {
  spec: AppSpec;
  tasks: AppTask[];
  /** Ids of the orchestrator's deployments that touch this app now. */
  deployments: string[];
  /** Which orchestrator runs it: `marathon`, `chronos`, `docker`. */
  orchestrator: string;
};

export type OrchestratorEventType =
  | 'deployment_started'
  | 'deployment_step'
  | 'deployment_success'
  | 'deployment_failed'
  | 'task_changed'
  | 'health_changed'
  | 'app_changed';

export type OrchestratorEvent = {
  type: OrchestratorEventType;
  orchestrator: string;
  appId?: string;
  deploymentId?: string;
  taskId?: string;
  /** Task state or health, where the event carries one. */
  state?: string;
  message?: string;
  /** Epoch ms. */
  ts: number;
};

export type DeployResult = { deploymentId?: string };

/* ---------------------------------------------------------------- health */

export type HealthState = 'healthy' | 'busy' | 'idle' | 'unhealthy' | 'unknown';

export type HealthReason = {
  /** Machine-readable: `cpu_near_limit`, `cpu_throttled`, `mem_near_limit`, `oom_kill`, `restarts`,
   * `health_check_failing`, `latency_up`, `errors_up`, `low_use`, `no_data`. */
  code: string;
  /** For people: what was seen against which threshold. */
  message: string;
  value?: number;
  threshold?: number;
};

export type HealthVerdict = { state: HealthState; reasons: HealthReason[] };

/** The recent usage of one container, as the health evaluator reads it (all values over the window). */
export type ContainerUsage = {
  container: string;
  appId: string;
  task?: string;
  /** Cores used, mean over the window; undefined when no data. */
  cpu?: number;
  /** Cores allowed (cgroup quota); undefined when unlimited. */
  cpuLimit?: number;
  /** Fraction of periods throttled, 0..1. */
  throttled?: number;
  /** Bytes. */
  workingSet?: number;
  memLimit?: number;
  /** OOM kills within the window. */
  oomKills?: number;
  /** Restarts within the window. */
  restarts?: number;
  /** Latest health check results of the task; empty when none. */
  healthChecks?: boolean[];
  /** nginx p99 request time seconds, and fraction of 5xx, of the app's vhost (app-level inputs). */
  latencyP99?: number;
  errorRatio?: number;
};

export type HealthEvent = {
  /** `container` id, or `app` id. */
  subject: string;
  kind: 'container' | 'app';
  appId: string;
  from: HealthState;
  to: HealthState;
  reasons: HealthReason[];
  /** Epoch ms. */
  ts: number;
};

/* ---------------------------------------------------------------- advice */

export type Interval = { low: number; high: number };

export type CapacityAdvice = {
  appId: string;
  current: { cpus: number; mem: number; instances: number };
  /** Recommended per-instance CPU (cores) and memory (MiB), and instance count. */
  recommended: { cpus: number; mem: number; instances: number };
  /** Confidence bounds of the recommendation; narrow as history grows. */
  bounds: { cpus: Interval; mem: Interval };
  /** Samples that went into the histograms, and the span of history they cover (ms). */
  samples: number;
  historyMs: number;
  /** Positive = waste (allocated beyond advice), negative = shortfall; per day at today's setting. */
  waste: { coreHoursPerDay: number; gibHoursPerDay: number };
  /** The usage distribution behind it: bucket upper bounds and weights, for the page's chart. */
  evidence: { cpu: { le: number; weight: number }[]; mem: { le: number; weight: number }[] };
};

/* ---------------------------------------------------------------- scaling */

export type AutoscaleMode = 'off' | 'advise' | 'auto';

/** An app's autoscaling policy, from its `obs.autoscale.*` labels. */
export type AutoscalePolicy = {
  mode: AutoscaleMode;
  min: number;
  max: number;
  /** Target CPU use as a fraction of the app's `cpus` (0.6 = 60 %). */
  targetCpu: number;
  /** Optional: p99 latency target (seconds) or requests per second per instance. */
  targetLatency?: number;
  targetRps?: number;
  /** Fraction: no change while |observed/target - 1| <= tolerance. Default 0.1. */
  tolerance: number;
  /** ms; scale-down uses the highest recommendation of this window. Default 300 s. */
  downStabilisationMs: number;
};

export type ScalingAction = 'scaled' | 'advised' | 'none';

export type ScalingRecord = {
  appId: string;
  /** Epoch ms. */
  ts: number;
  mode: AutoscaleMode;
  current: number;
  desired: number;
  /** What was measured and what it was held against (e.g. cpu utilisation 0.93 vs 0.6). */
  observed: number | null;
  target: number;
  metric: 'cpu' | 'latency' | 'rps';
  action: ScalingAction;
  /** Why this action, or why none: `within tolerance`, `deployment running`, `missing metrics for 2 of 4 tasks`... */
  reason: string;
  /** Orchestrator's error, if the scale request failed. */
  error?: string;
};
