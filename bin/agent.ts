/** `obs agent`: samples this node (host, containers) and ships to the hub, spooling while it is away. */
import { join } from 'node:path';
import { createCgroupSource } from '../collector/containers/cgroup-source.ts';
import { createHostSource } from '../collector/host/host-source.ts';
import { containerSampler, type Sampler, startLocalAgent } from '../collector/local-agent.ts';
import { createNginxSource } from '../collector/nginx/nginx-source.ts';
import { createShipper, httpSend } from '../collector/shipper.ts';
import { openSpool } from '../collector/spool.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

/** The samplers of a node: host metrics, containers' cgroups when enabled, nginx access logs when given. */
export async function nodeSamplers(
  agent: HubConfig['agent'],
  dataDir: string,
  clock: Clock,
  logger: Logger,
): Promise<{ samplers: Sampler[]; stop(): void }> {
  const samplers: Sampler[] = [{ name: 'host', ...createHostSource({ tags: agent.tags, logger }) }];
  if (agent.containers) {
    // dockerode and its dependencies are loaded only when a Docker API is configured: without one
    // the agent does not pay for them in memory.
    const identity = agent.docker
      ? (await import('../collector/containers/docker-identity.ts')).createDockerIdentity({
          url: agent.docker,
          clock,
          logger,
        })
      : undefined;
    const source = createCgroupSource({
      tags: agent.tags,
      clock,
      logger,
      ...(agent.cgroupRoot ? { cgroupRoot: agent.cgroupRoot } : {}),
      ...(identity ? { identity } : {}),
    });
    samplers.push(containerSampler(source));
  }
  const stops: (() => void)[] = [];
  if (agent.nginxLogs.length > 0) {
    const nginx = createNginxSource({
      paths: agent.nginxLogs,
      format: agent.nginxFormat,
      stateDir: join(dataDir, 'nginx-tail'),
      tags: agent.tags,
      clock,
      logger: logger.child({ component: 'nginx' }),
    });
    await nginx.start();
    stops.push(() => void nginx.stop());
    samplers.push({ name: 'nginx', sample: (ts) => nginx.sample(ts) });
  }
  return {
    samplers,
    stop: () => {
      for (const s of stops) s();
    },
  };
}

export async function startAgent(config: HubConfig, deps: { logger: Logger; clock?: Clock }) {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const { agent } = config;
  if (!agent.hub)
    throw new HubError('INVALID_CONFIG', 'obs agent needs the hub to ship to: --hub URL (or OBS_HUB)', {
      where: 'agent.hub',
    });
  const spool = await openSpool({
    dir: agent.spoolDir ?? join(config.dataDir, 'spool'),
    maxBytes: agent.spoolMaxBytes,
  });
  const shipper = createShipper({
    send: httpSend({ hub: agent.hub, ...(agent.token ? { token: agent.token } : {}) }),
    spool,
    clock,
    logger: logger.child({ component: 'shipper' }),
  });
  void shipper.drain();
  const node = await nodeSamplers(agent, config.dataDir, clock, logger);
  const loop = startLocalAgent({
    samplers: node.samplers,
    publish: (points) => shipper.ship(points),
    clock,
    logger,
    intervalMs: agent.interval,
  });
  return {
    shipper,
    stop() {
      loop.stop();
      node.stop();
      shipper.stop();
    },
  };
}
