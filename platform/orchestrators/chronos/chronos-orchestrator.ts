/**
 * The Orchestrator port over Chronos' REST API, for Cron apps. Conversions are in `mapping.ts`.
 *
 * Scale: a Cron app has no instance count. `scale(id, 0)` disables the job (it stays defined and
 * can be run by hand), `scale(id, 1)` enables it again; any other count is refused with
 * INVALID_INPUT on `instances`. So the autoscaler's "scale idle apps to zero" works for Cron apps too.
 */
import type { Clock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Orchestrator } from '../../../core/ports.ts';
import type { AppSpec, AppStatus, DeployResult, OrchestratorEvent } from '../../types.ts';
import { createHttpClient, httpError, messageOf, type RetryOptions } from '../marathon/http.ts';
import {
  appIdOfJob,
  type ChronosJob,
  chronosProblems,
  fromChronosJob,
  fromChronosJobStatus,
  jobChange,
  jobNameOf,
  toChronosJob,
} from './mapping.ts';

export type ChronosOrchestratorOptions = {
  /** Chronos' base URL, e.g. `http://chronos.mesos:4400`. */
  url: string;
  clock: Clock;
  logger: Logger;
  user?: string;
  password?: string;
  retry?: RetryOptions;
  /** How often `watch` re-lists the jobs: Chronos has no event stream. Default 30 s. */
  pollMs?: number;
};

export type ChronosOrchestrator = Orchestrator & {
  /** Starts a run of the job now (PUT /v1/scheduler/job/{name}). */
  run(id: string): Promise<void>;
  /** Deletes the job (DELETE /v1/scheduler/job/{name}). */
  remove(id: string): Promise<void>;
  /** Every job as Chronos lists it. */
  jobs(): Promise<ChronosJob[]>;
};

export function createChronosOrchestrator(options: ChronosOrchestratorOptions): ChronosOrchestrator {
  const logger = options.logger.child({ orchestrator: 'chronos' });
  const http = createHttpClient({ ...options, logger, system: 'Chronos' });
  const stops = new Set<() => void>();

  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await http.send(method, path, body);
    if (res.status >= 200 && res.status < 300) return res.body;
    throw httpError('Chronos', method, path, res.status, messageOf(res.body, res.text));
  }

  const jobs = async () => ((await call('GET', '/v1/scheduler/jobs')) ?? []) as ChronosJob[];

  async function findJob(id: string): Promise<ChronosJob | undefined> {
    const name = jobNameOf(id);
    const found = ((await call('GET', `/v1/scheduler/jobs/search?name=${encodeURIComponent(name)}`)) ??
      []) as ChronosJob[];
    return found.find((j) => j.name === name);
  }

  async function deploy(spec: AppSpec): Promise<DeployResult> {
    const problems = chronosProblems(spec);
    if (problems.length) {
      throw new HubError(
        'INVALID_INPUT',
        `${spec.id} cannot be a Chronos job: ${problems.map((p) => p.message).join('; ')}`,
        {
          details: problems,
        },
      );
    }
    await call('POST', '/v1/scheduler/iso8601', toChronosJob(spec));
    logger.info('job saved', { app: spec.id, job: jobNameOf(spec.id) });
    return {};
  }

  async function scale(id: string, instances: number): Promise<DeployResult> {
    if (instances !== 0 && instances !== 1) {
      throw new HubError(
        'INVALID_INPUT',
        `${id} is a Cron app: it has no instance count (0 disables it, 1 enables it)`,
        {
          details: [
            {
              field: 'instances',
              message: `got ${instances}; a Chronos job takes 0 (disable) or 1 (enable)`,
            },
          ],
        },
      );
    }
    const job = await findJob(id);
    if (!job) throw new HubError('NOT_FOUND', `Chronos has no job ${jobNameOf(id)} for ${id}`);
    const spec = { ...fromChronosJob(job), id, instances };
    await call('POST', '/v1/scheduler/iso8601', {
      ...toChronosJob(spec),
      description: job.description ?? toChronosJob(spec).description,
    });
    logger.info(instances === 0 ? 'job disabled' : 'job enabled', { app: id });
    return {};
  }

  function watch(onEvent: (event: OrchestratorEvent) => void): { close(): void } {
    let last: Map<string, ChronosJob> | undefined;
    let busy = false;
    const poll = async () => {
      if (busy) return;
      busy = true;
      try {
        const now = new Map((await jobs()).map((j) => [j.name, j]));
        if (last) {
          for (const name of new Set([...last.keys(), ...now.keys()])) {
            const before = last.get(name);
            const after = now.get(name);
            const change = jobChange(before, after);
            if (!change) continue;
            const appId = appIdOfJob((after ?? before)!);
            onEvent({
              type: 'app_changed',
              orchestrator: 'chronos',
              appId,
              message: change,
              ts: options.clock.now(),
            });
          }
        }
        last = now;
      } catch (e) {
        logger.warn('Chronos poll failed', { error: e });
      } finally {
        busy = false;
      }
    };
    void poll();
    const stop = options.clock.setInterval(() => void poll(), options.pollMs ?? 30_000);
    stops.add(stop);
    return {
      close() {
        stop();
        stops.delete(stop);
      },
    };
  }

  return {
    name: 'chronos',
    async listApps(): Promise<AppStatus[]> {
      return (await jobs()).map(fromChronosJobStatus);
    },
    async getApp(id) {
      const job = await findJob(id);
      return job ? { ...fromChronosJobStatus(job), spec: { ...fromChronosJob(job), id } } : undefined;
    },
    deploy,
    scale,
    watch,
    async close() {
      for (const stop of stops) stop();
      stops.clear();
    },
    jobs,
    async run(id) {
      await call('PUT', `/v1/scheduler/job/${encodeURIComponent(jobNameOf(id))}`);
      logger.info('job started by hand', { app: id });
    },
    async remove(id) {
      await call('DELETE', `/v1/scheduler/job/${encodeURIComponent(jobNameOf(id))}`);
      logger.info('job deleted', { app: id });
    },
  };
}
