/** The agent the hub runs for its own machine: samples on an interval and publishes. */
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { MetricPoint } from '../core/model.ts';
import type { ContainerSource } from '../core/ports.ts';

export type Sampler = { name: string; sample(ts: number): Promise<MetricPoint[]> };

/** A container source as a sampler: list the containers, then sample them. */
export function containerSampler(source: ContainerSource): Sampler {
  return { name: 'containers', sample: async (ts) => source.sample(await source.list(), ts) };
}

export type LocalAgentOptions = {
  samplers: Sampler[];
  publish: (points: MetricPoint[]) => Promise<void>;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
};

export function startLocalAgent(options: LocalAgentOptions): { stop(): void; tick(): Promise<void> } {
  const { clock, logger } = options;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const ts = clock.now();
      const results = await Promise.allSettled(options.samplers.map((s) => s.sample(ts)));
      const points: MetricPoint[] = [];
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') points.push(...r.value);
        else
          logger.warn('a sampler failed; the others still ship', {
            sampler: options.samplers[i]!.name,
            err: r.reason,
          });
      });
      await options.publish(points);
    } catch (e) {
      logger.warn('local agent sample failed', { err: e });
    } finally {
      running = false;
    }
  };
  const stop = clock.setInterval(() => void tick(), options.intervalMs);
  void tick();
  return { stop, tick };
}
