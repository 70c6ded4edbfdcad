/**
 * The Docker adapter's deployments: the deploys and scales it is making now, one at a time per
 * app, announced to watchers as deployment events. Docker has no deployments of its own, so this is
 * where the app lock and the `deployments` of an app come from.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import type { DeployResult, OrchestratorEvent } from '../../types.ts';

/** A change the adapter is making now. */
export type DockerDeployment = {
  id: string;
  appId: string;
  action: 'deploy' | 'scale';
  /** Epoch ms. */
  startedAt: number;
  /** Instances asked for. */
  instances: number;
};

export type DeploymentLock = {
  /**
   * Runs `work` as a deployment of `d.appId`. A second one for the same app is refused with
   * CONFLICT unless forced; forced, it waits its turn. The lock is taken at once; watchers hear of
   * the deployment only once `work` calls `announce`, so a request refused inside `work` (an
   * unknown app) makes no events.
   */
  run(
    d: Omit<DockerDeployment, 'id' | 'startedAt'>,
    force: boolean,
    work: (announce: () => void) => Promise<string>,
  ): Promise<DeployResult>;
  /** In flight now, oldest first. */
  list(): DockerDeployment[];
  /** Resolves when every deployment in flight has ended. */
  settled(): Promise<void>;
};

export function createDeploymentLock(options: {
  clock: Clock;
  emit(event: Omit<OrchestratorEvent, 'orchestrator' | 'ts'>): void;
}): DeploymentLock {
  const { clock, emit } = options;
  const inFlight = new Map<string, DockerDeployment>();
  const queues = new Map<string, Promise<unknown>>();

  const execute = async (
    deployment: DockerDeployment,
    work: (announce: () => void) => Promise<string>,
  ): Promise<void> => {
    const about = { appId: deployment.appId, deploymentId: deployment.id };
    let announced = false;
    const announce = () => {
      announced = true;
      const message = `${deployment.action} ${deployment.appId} to ${deployment.instances} instances`;
      emit({ type: 'deployment_started', ...about, message });
    };
    try {
      const message = await work(announce);
      emit({ type: 'deployment_success', ...about, message });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (announced) emit({ type: 'deployment_failed', ...about, message });
      throw e;
    } finally {
      inFlight.delete(deployment.id);
    }
  };

  return {
    async run(d, force, work) {
      const busy = [...inFlight.values()].find((x) => x.appId === d.appId);
      if (busy && !force)
        throw new HubError(
          'CONFLICT',
          `App ${d.appId} is locked by deployment ${busy.id} (${busy.action}); retry later or force`,
          { canRetry: true },
        );
      const deployment: DockerDeployment = { ...d, id: randomUUID(), startedAt: clock.now() };
      inFlight.set(deployment.id, deployment);
      const previous = queues.get(d.appId) ?? Promise.resolve();
      const done = previous.catch(() => {}).then(() => execute(deployment, work));
      queues.set(d.appId, done);
      void done
        .catch(() => {})
        .then(() => {
          if (queues.get(d.appId) === done) queues.delete(d.appId);
        });
      await done;
      return { deploymentId: deployment.id };
    },
    list: () => [...inFlight.values()].sort((a, b) => a.startedAt - b.startedAt),
    async settled() {
      await Promise.allSettled([...queues.values()]);
    },
  };
}
