/**
 * Pure conversions between Cron apps and Chronos jobs (Chronos REST API, docs/docs/api.md of
 * mesos/chronos). A job is named `project-app` after the app `/project/app`.
 */
import type { AppSpec, AppStatus } from '../../types.ts';

/** A Chronos job as POST /v1/scheduler/iso8601 takes it and GET /v1/scheduler/jobs lists it. */
export type ChronosJob = {
  name: string;
  command: string;
  schedule?: string;
  description?: string;
  cpus?: number | string;
  mem?: number | string;
  disk?: number | string;
  disabled?: boolean;
  shell?: boolean;
  container?: { type: string; image: string; network?: string; forcePullImage?: boolean } | null;
  environmentVariables?: { name: string; value: string }[];
  successCount?: number;
  errorCount?: number;
  lastSuccess?: string;
  lastError?: string;
  [key: string]: unknown;
};

/** Chronos' job-name rule (`([\w\s\.#_-]+)`). */
export const JOB_NAME = /^[\w\s.#-]+$/;

/** `R/2026-11-26T00:00:00Z/PT1H`, `R5//P1D`: repetitions, optional start, ISO 8601 duration. */
export const ISO8601_SCHEDULE =
  /^R\d*\/[^/]*\/P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

/** Where the job keeps the app id it belongs to, so that names with dashes map back exactly. */
const DESCRIPTION_PREFIX = 'obs app ';

/** `/project/app` → `project-app` (deeper ids join every segment with `-`). */
export function jobNameOf(appId: string): string {
  return appId.split('/').filter(Boolean).join('-');
}

/**
 * The app id of a job: from the description the hub writes (`obs app /project/app`) when present,
 * else by splitting the name at its first dash (`shop-nightly-report` → `/shop/nightly-report`).
 */
export function appIdOfJob(job: Pick<ChronosJob, 'name' | 'description'>): string {
  const marked = job.description?.startsWith(DESCRIPTION_PREFIX)
    ? job.description.slice(DESCRIPTION_PREFIX.length)
    : '';
  if (marked.startsWith('/')) return marked.split(/\s/)[0]!;
  const dash = job.name.indexOf('-');
  return dash > 0 ? `/${job.name.slice(0, dash)}/${job.name.slice(dash + 1)}` : `/${job.name}`;
}

/** Field errors that keep an AppSpec from being a Chronos job; empty when it can be one. */
export function chronosProblems(spec: AppSpec): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  if (spec.type !== 'Cron')
    problems.push({ field: 'type', message: `Chronos runs Cron apps only, not ${spec.type}` });
  if (!spec.schedule)
    problems.push({
      field: 'schedule',
      message: 'a Cron app needs an ISO 8601 schedule like R/2026-11-26T00:00:00Z/PT1H',
    });
  else if (!ISO8601_SCHEDULE.test(spec.schedule)) {
    problems.push({
      field: 'schedule',
      message: `"${spec.schedule}" is not an ISO 8601 repeating interval R[n]/[start]/P…`,
    });
  }
  if (!spec.cmd) problems.push({ field: 'cmd', message: 'a Chronos job needs a command' });
  if (!JOB_NAME.test(jobNameOf(spec.id)))
    problems.push({ field: 'id', message: `"${spec.id}" gives no valid job name` });
  if (!(spec.cpus > 0)) problems.push({ field: 'cpus', message: `got ${spec.cpus}, expected more than 0` });
  if (!(spec.mem > 0)) problems.push({ field: 'mem', message: `got ${spec.mem}, expected more than 0` });
  if (spec.instances !== 0 && spec.instances !== 1) {
    problems.push({
      field: 'instances',
      message: `a Cron app runs 0 (disabled) or 1 (enabled) schedules, got ${spec.instances}`,
    });
  }
  return problems;
}

/** The Chronos job for a Cron app; `instances: 0` is a disabled job. Call `chronosProblems` first. */
export function toChronosJob(spec: AppSpec): ChronosJob {
  const job: ChronosJob = {
    name: jobNameOf(spec.id),
    description: `${DESCRIPTION_PREFIX}${spec.id}`,
    command: spec.cmd ?? '',
    schedule: spec.schedule ?? '',
    cpus: spec.cpus,
    mem: spec.mem,
    disabled: spec.instances === 0,
  };
  if (spec.image) job.container = { type: 'DOCKER', image: spec.image, network: 'BRIDGE' };
  if (spec.env) job.environmentVariables = Object.entries(spec.env).map(([name, value]) => ({ name, value }));
  return job;
}

/** The Cron AppSpec of a Chronos job (Chronos sometimes sends cpus and mem as strings). */
export function fromChronosJob(job: ChronosJob): AppSpec {
  const spec: AppSpec = {
    id: appIdOfJob(job),
    type: 'Cron',
    cmd: job.command,
    cpus: Number(job.cpus ?? 0.1),
    mem: Number(job.mem ?? 128),
    instances: job.disabled ? 0 : 1,
  };
  if (job.schedule) spec.schedule = job.schedule;
  if (job.container?.image) spec.image = job.container.image;
  if (job.environmentVariables?.length) {
    spec.env = Object.fromEntries(job.environmentVariables.map((v) => [v.name, v.value]));
  }
  return spec;
}

/** A job as an AppStatus: Chronos lists no running tasks and has no deployments. */
export function fromChronosJobStatus(job: ChronosJob): AppStatus {
  return { spec: fromChronosJob(job), tasks: [], deployments: [], orchestrator: 'chronos' };
}

/** What changed between two listings of a job, for `watch`: a run finished, or the job itself. */
export function jobChange(before: ChronosJob | undefined, after: ChronosJob | undefined): string | undefined {
  if (!before && after) return 'job added';
  if (before && !after) return 'job deleted';
  if (!before || !after) return undefined;
  if (
    (after.errorCount ?? 0) > (before.errorCount ?? 0) ||
    (after.lastError && after.lastError !== before.lastError)
  ) {
    return 'run failed';
  }
  if (
    (after.successCount ?? 0) > (before.successCount ?? 0) ||
    (after.lastSuccess && after.lastSuccess !== before.lastSuccess)
  ) {
    return 'run succeeded';
  }
  const def = (j: ChronosJob) =>
    JSON.stringify([j.command, j.schedule, j.cpus, j.mem, j.disabled, j.container]);
  return def(before) === def(after) ? undefined : 'job changed';
}
