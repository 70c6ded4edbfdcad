/**
 * The Docker orchestrator: apps as sets of containers on one Docker Engine API (Docker, or podman's
 * compatible service), through dockerode. See `mapping.ts` for how an app maps to containers.
 *
 * `deploy` and `scale` resolve once their containers run (or reject, after cleaning up what they
 * made); while one runs it is listed in `deployments()` and in the app's `deployments`, and a second
 * change to the same app is refused with CONFLICT unless forced (then it waits its turn).
 */
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import type { Clock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Orchestrator } from '../../../core/ports.ts';
import { validateAppSpec } from '../../model.ts';
import type { AppSpec, AppStatus, AppTask, DeployResult, OrchestratorEvent, TaskState } from '../../types.ts';
import { createDeploymentLock, type DockerDeployment } from './deployment-lock.ts';
import { dockerError } from './docker-errors.ts';
import { createDockerEvents } from './docker-events.ts';
import {
  APP_LABEL,
  type ContainerRole,
  createOptions,
  dockerTime,
  type InspectedContainer,
  ROLE_LABEL,
  specOfLabels,
  taskIdFor,
  taskOf,
  taskState,
} from './mapping.ts';

const ENDED: readonly TaskState[] = ['finished', 'failed', 'killed', 'lost'];

export type DockerOrchestratorOptions = {
  /** A dockerode client, or where the Engine API listens. */
  docker: Docker | { socketPath: string };
  clock: Clock;
  logger: Logger;
  /** Network mode of the containers (`none`, `bridge`, a network name); the engine's default when absent. */
  network?: string;
  /** The host name tasks report; default the engine's own (`/info` Name). */
  host?: string;
  /** Seconds a container gets to stop on SIGTERM before it is killed, on scale-in and replace; default 10. */
  stopTimeoutSeconds?: number;
};

export type { DockerDeployment } from './deployment-lock.ts';

export type DockerOrchestrator = Orchestrator & {
  /** The deploys and scales in flight, oldest first. */
  deployments(): DockerDeployment[];
};

/** One container of an app, as the adapter tracks it. */
type Member = { id: string; role: ContainerRole; created: number; inspected: InspectedContainer };

const clientOf = (docker: DockerOrchestratorOptions['docker']): Docker =>
  docker instanceof Docker ? docker : new Docker({ socketPath: docker.socketPath });

/** Creates the adapter; it talks to Docker only when called. */
export function createDockerOrchestrator(options: DockerOrchestratorOptions): DockerOrchestrator {
  const docker = clientOf(options.docker);
  const { clock, logger } = options;
  const stopSeconds = options.stopTimeoutSeconds ?? 10;
  const stopping = new Set<string>();
  const listeners = new Set<(e: OrchestratorEvent) => void>();
  let host: Promise<string> | undefined;

  const api = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      throw dockerError(what, e);
    }
  };
  const broadcast = (event: OrchestratorEvent) => {
    for (const l of listeners) l(event);
  };
  const emit = (event: Omit<OrchestratorEvent, 'orchestrator' | 'ts'>) =>
    broadcast({ orchestrator: 'docker', ts: clock.now(), ...event });
  const events = createDockerEvents({ docker, clock, logger, stopping, emit: broadcast });
  const lock = createDeploymentLock({ clock, emit });

  const hostName = (): Promise<string> => {
    host ??= options.host
      ? Promise.resolve(options.host)
      : docker.info().then(
          (i: { Name?: string }) => i.Name || 'localhost',
          () => 'localhost',
        );
    return host;
  };

  /** Every container of `appId` (of every app when absent), inspected, oldest first. */
  const members = async (appId?: string): Promise<Map<string, Member[]>> => {
    const filters = { label: [appId ? `${APP_LABEL}=${appId}` : APP_LABEL] };
    const list = await api('list containers', () => docker.listContainers({ all: true, filters }));
    const inspected = await Promise.all(
      list.map((c) =>
        api(`inspect container ${c.Id.slice(0, 12)}`, () => docker.getContainer(c.Id).inspect()).catch(
          (e: HubError) => {
            // Removed between list and inspect: no longer a member.
            if ((e.cause as { statusCode?: number })?.statusCode === 404) return undefined;
            throw e;
          },
        ),
      ),
    );
    const byApp = new Map<string, Member[]>();
    for (const c of inspected) {
      const labels = c?.Config?.Labels ?? {};
      const app = labels[APP_LABEL];
      if (!c || !app || (appId && app !== appId)) continue;
      const role: ContainerRole = labels[ROLE_LABEL] === 'definition' ? 'definition' : 'task';
      const member = {
        id: c.Id,
        role,
        created: dockerTime(c.Created) ?? 0,
        inspected: c as InspectedContainer,
      };
      byApp.set(app, [...(byApp.get(app) ?? []), member]);
    }
    for (const list of byApp.values()) list.sort((a, b) => a.created - b.created);
    return byApp;
  };

  const statusOf = (appId: string, list: Member[], hostname: string): AppStatus | undefined => {
    const newestFirst = [...list].reverse();
    const spec =
      newestFirst
        .filter((m) => m.role === 'definition')
        .map((m) => specOfLabels(m.inspected.Config?.Labels))[0] ??
      newestFirst.map((m) => specOfLabels(m.inspected.Config?.Labels)).find(Boolean);
    if (!spec) return undefined;
    const tasks: AppTask[] = list.filter((m) => m.role === 'task').map((m) => taskOf(m.inspected, hostname));
    const deployments = lock
      .list()
      .filter((d) => d.appId === appId)
      .map((d) => d.id);
    return { spec: { ...spec, instances: tasks.length }, tasks, deployments, orchestrator: 'docker' };
  };

  const getApp = async (id: string): Promise<AppStatus | undefined> => {
    const [byApp, hostname] = await Promise.all([members(id), hostName()]);
    return statusOf(id, byApp.get(id) ?? [], hostname);
  };

  const version = () => new Date(clock.now()).toISOString();

  /** Creates and starts one container; resolves once Docker reports it running. */
  const launch = async (spec: AppSpec, role: ContainerRole, ver: string): Promise<string> => {
    const name =
      role === 'task'
        ? taskIdFor(spec.id, randomBytes(6).toString('hex'))
        : `${taskIdFor(spec.id, 'definition')}.${randomBytes(4).toString('hex')}`;
    const create = createOptions(spec, {
      role,
      name,
      version: ver,
      ...(options.network ? { network: options.network } : {}),
    });
    const container = await api(`create container for ${spec.id}`, () => docker.createContainer(create));
    if (role === 'definition') return container.id;
    try {
      await api(`start container ${name}`, () => container.start());
      const state = (await api(`inspect container ${name}`, () => container.inspect())).State;
      if (!state?.Running)
        throw new HubError(
          'UPSTREAM_FAILED',
          `Docker: task ${name} of ${spec.id} is ${state?.Status ?? 'gone'} right after start (exit code ${state?.ExitCode})`,
        );
      return container.id;
    } catch (e) {
      await remove(container.id);
      throw e;
    }
  };

  const remove = async (id: string): Promise<void> => {
    stopping.add(id);
    try {
      const container = docker.getContainer(id);
      await container.stop({ t: stopSeconds }).catch(() => {});
      await api(`remove container ${id.slice(0, 12)}`, () =>
        container.remove({ force: true, v: true }),
      ).catch((e: HubError) => {
        if ((e.cause as { statusCode?: number })?.statusCode !== 404) throw e;
      });
    } finally {
      // The die event may arrive after the removal returns; keep the id long enough to name it a kill.
      clock.setTimeout(() => stopping.delete(id), 60_000);
    }
  };

  const launchAll = async (spec: AppSpec, count: number, ver: string): Promise<string[]> => {
    const results = await Promise.allSettled(Array.from({ length: count }, () => launch(spec, 'task', ver)));
    const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.allSettled(made.map(remove));
      throw failed.reason;
    }
    return made;
  };

  const checkImage = async (image: string): Promise<void> => {
    try {
      await docker.getImage(image).inspect();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404)
        throw new HubError('INVALID_INPUT', `Image ${image} is not on the Docker host (it is not pulled)`, {
          details: [{ field: 'image', message: `image ${image} does not exist on the Docker host` }],
        });
      throw dockerError(`inspect image ${image}`, e);
    }
  };

  const deploy = async (input: AppSpec): Promise<DeployResult> => {
    const checked = validateAppSpec(input);
    if (!checked.ok)
      throw new HubError(
        'INVALID_INPUT',
        `App ${String(input?.id)} is not valid: ${checked.errors.map((e) => e.message).join('; ')}`,
        { details: checked.errors },
      );
    const spec = checked.value;
    if (!spec.image)
      throw new HubError('INVALID_INPUT', `App ${spec.id}: the Docker orchestrator needs an image`, {
        details: [{ field: 'image', message: 'image is required to run on Docker' }],
      });
    await checkImage(spec.image);
    return lock.run(
      { appId: spec.id, action: 'deploy', instances: spec.instances },
      false,
      async (announce) => {
        announce();
        const old = (await members(spec.id)).get(spec.id) ?? [];
        const ver = version();
        await launchAll(spec, spec.instances, ver);
        await launch(spec, 'definition', ver);
        // Only once the new tasks run are the old ones stopped: a failed deploy leaves the app as it was.
        await Promise.all(old.map((m) => remove(m.id)));
        logger.info('docker deploy done', { app: spec.id, instances: spec.instances, replaced: old.length });
        return `${spec.id} runs ${spec.instances} instances of ${spec.image}`;
      },
    );
  };

  const scale = async (
    id: string,
    instances: number,
    opts: { force?: boolean } = {},
  ): Promise<DeployResult> => {
    if (!Number.isInteger(instances) || instances < 0)
      throw new HubError(
        'INVALID_INPUT',
        `Cannot scale ${id} to ${instances}: instances must be an integer ≥ 0`,
        {
          details: [{ field: 'instances', message: `instances must be an integer ≥ 0, got ${instances}` }],
        },
      );
    return lock.run({ appId: id, action: 'scale', instances }, opts.force === true, async (announce) => {
      const list = (await members(id)).get(id) ?? [];
      const status = statusOf(id, list, await hostName());
      if (!status) throw new HubError('NOT_FOUND', `App ${id} does not run on Docker`);
      announce();
      const tasks = list.filter((m) => m.role === 'task');
      // Containers that exited are replaced, not counted: Docker does not restart them as Mesos would.
      const ended = tasks.filter((m) => ENDED.includes(taskState(m.inspected.State)));
      const live = tasks.filter((m) => !ended.includes(m));
      await Promise.all(ended.map((m) => remove(m.id)));
      if (instances > live.length) await launchAll(status.spec, instances - live.length, version());
      else await Promise.all(live.slice(instances).map((m) => remove(m.id)));
      logger.info('docker scale done', { app: id, from: tasks.length, to: instances });
      return `${id} scaled from ${tasks.length} to ${instances} instances`;
    });
  };

  return {
    name: 'docker',
    async listApps() {
      const [byApp, hostname] = await Promise.all([members(), hostName()]);
      return [...byApp.entries()]
        .map(([appId, list]) => statusOf(appId, list, hostname))
        .filter((s): s is AppStatus => s !== undefined)
        .sort((a, b) => a.spec.id.localeCompare(b.spec.id));
    },
    getApp,
    scale,
    deploy,
    deployments: () => lock.list(),
    watch(onEvent) {
      listeners.add(onEvent);
      events.start();
      return {
        close() {
          listeners.delete(onEvent);
          if (listeners.size === 0) events.stop();
        },
      };
    },
    async close() {
      listeners.clear();
      events.stop();
      await lock.settled();
    },
  };
}
