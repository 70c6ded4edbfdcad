/** The agent the hub runs for its own machine: samples on an interval and publishes. */
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { MetricPoint } from '../core/model.ts';

export type Sampler = { sample(ts: number): Promise<MetricPoint[]> };

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
      const points = (await Promise.all(options.samplers.map((s) => s.sample(ts)))).flat();
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
