/**
 * The deploy/scale layer for the composition root: the orchestrators the config names and the
 * platform loop over them (advice only when there are none).
 */

import Docker from 'dockerode';
import { parseDockerUrl } from '../collector/containers/docker-identity.ts';
import type { Clock } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { MetricPoint } from '../core/model.ts';
import type { MetricStore, Orchestrator } from '../core/ports.ts';
import { createChronosOrchestrator } from '../platform/orchestrators/chronos/chronos-orchestrator.ts';
import { createDockerOrchestrator } from '../platform/orchestrators/docker/docker-orchestrator.ts';
import { createMarathonOrchestrator } from '../platform/orchestrators/marathon/marathon-orchestrator.ts';
import { createPlatform, type Platform } from '../platform/service.ts';

export function openOrchestrators(config: HubConfig, clock: Clock, logger: Logger): Orchestrator[] {
  const p = config.platform;
  const out: Orchestrator[] = [];
  if (p.marathon)
    out.push(
      createMarathonOrchestrator({
        url: p.marathon.url,
        clock,
        logger: logger.child({ component: 'marathon' }),
        forceOnLock: p.marathon.forceOnLock,
        ...(p.marathon.user ? { user: p.marathon.user } : {}),
        ...(p.marathon.password ? { password: p.marathon.password } : {}),
      }),
    );
  if (p.chronos)
    out.push(
      createChronosOrchestrator({
        url: p.chronos.url,
        clock,
        logger: logger.child({ component: 'chronos' }),
      }),
    );
  if (p.docker) {
    const endpoint = parseDockerUrl(p.docker.host);
    const docker: Docker | { socketPath: string } =
      'socketPath' in endpoint ? { socketPath: endpoint.socketPath } : new Docker(endpoint);
    out.push(createDockerOrchestrator({ docker, clock, logger: logger.child({ component: 'docker' }) }));
  }
  return out;
}

export async function openPlatform(
  config: HubConfig,
  deps: {
    store: MetricStore;
    clock: Clock;
    logger: Logger;
    publish: (points: MetricPoint[]) => void;
    leads: () => boolean;
  },
): Promise<Platform> {
  const logger = deps.logger.child({ component: 'platform' });
  const orchestrators = openOrchestrators(config, deps.clock, logger);
  if (orchestrators.length === 0) logger.info('no orchestrator configured: capacity advice only');
  return createPlatform({
    store: deps.store,
    orchestrators,
    clock: deps.clock,
    logger,
    dataDir: config.dataDir,
    intervalMs: config.platform.autoscaleInterval,
    healthWindowMs: config.platform.healthWindow,
    publish: deps.publish,
    leads: deps.leads,
  });
}
