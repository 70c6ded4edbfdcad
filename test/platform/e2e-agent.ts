/**
 * The agent for end-to-end platform tests: the real container sampler (cgroup files, Docker
 * identity) in the real agent loop, shipping to a real hub over `/api/put`, on a FakeClock that is
 * moved forward by the real time that passes between readings, so CPU rates are real while the
 * platform's windows can be jumped over.
 *
 * Each phase is a fresh agent (as after a restart): its first reading only sets the counters, so no
 * rate ever spans a jump of the fake clock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createCgroupSource } from '../../collector/containers/cgroup-source.ts';
import type { DockerApi } from '../../collector/containers/docker-identity.ts';
import { createDockerIdentity } from '../../collector/containers/docker-identity.ts';
import { containerSampler, startLocalAgent } from '../../collector/local-agent.ts';
import { httpSend } from '../../collector/shipper.ts';
import type { FakeClock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import type { ContainerSource, MetricStore } from '../../core/ports.ts';
import { eventually } from '../harness.ts';

export type E2eAgentOptions = {
  docker: DockerApi;
  clock: FakeClock;
  logger: Logger;
  hubUrl: string;
  store: Pick<MetricStore, 'query'>;
  /** Only containers of this project are shipped (others on the machine are not the test's). */
  project: string;
};

export type E2eAgent = {
  /**
   * Runs a fresh agent for `readings` intervals of one real second each (plus its first reading,
   * which has no rates), and resolves once the hub has stored the last batch. Returns what was shipped.
   */
  phase(readings: number): Promise<MetricPoint[]>;
};

export function createE2eAgent(options: E2eAgentOptions): E2eAgent {
  const { clock, logger, project } = options;
  const identity = createDockerIdentity({ docker: options.docker, clock, logger, ttlMs: 0 });
  const send = httpSend({ hub: options.hubUrl });

  const stored = (ts: number) =>
    eventually(async () => {
      const [series] = await options.store.query({
        start: ts - 1,
        end: ts,
        queries: [
          {
            metric: 'container.cpu.limit',
            aggregator: 'sum',
            rate: false,
            filters: [{ type: 'literal_or', tagk: 'project', filter: project, groupBy: false }],
            explicitTags: false,
          },
        ],
        msResolution: true,
        showQuery: false,
      });
      if (!series?.dps.some(([t]) => t === ts)) throw new Error(`the hub has no points of ${ts} yet`);
    }, 20_000);

  return {
    async phase(readings) {
      const cgroups = createCgroupSource({ tags: { host: 'e2e-node', dc: 'test' }, identity, clock, logger });
      const mine: ContainerSource = {
        list: async () => (await cgroups.list()).filter((c) => c.tags['project'] === project),
        sample: (containers, ts) => cgroups.sample(containers, ts),
      };
      const batches: MetricPoint[][] = [];
      const failures: unknown[] = [];
      // The loop's own timer is left far away: readings are taken one real second apart below, so a
      // slow reading on a busy machine cannot make the timer skip one.
      const agent = startLocalAgent({
        samplers: [containerSampler(mine)],
        publish: async (points) => {
          try {
            await send(points);
            batches.push(points);
          } catch (e) {
            failures.push(e);
            throw e;
          }
        },
        clock,
        logger,
        intervalMs: 3_600_000,
      });
      const shipped = (n: number) =>
        eventually(async () => {
          if (failures.length > 0) throw failures[0];
          if (batches.length < n) throw new Error(`reading ${n} not shipped yet`);
        }, 30_000);
      try {
        await shipped(1);
        for (let i = 1; i <= readings; i++) {
          const t0 = performance.now();
          await sleep(1000);
          clock.advance(Math.round(performance.now() - t0));
          await agent.tick();
          await shipped(i + 1);
        }
      } finally {
        agent.stop();
      }
      const points = batches.flat();
      if (points.length === 0) throw new Error(`the agent found no container of project ${project}`);
      const last = Math.max(...points.map((p) => p.ts));
      await stored(last);
      return points;
    },
  };
}
