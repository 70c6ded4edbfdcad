/** Runs the steps that change the engine's state (slices, rule changes) one at a time. */
import type { Logger } from '../../core/logger.ts';

export type StepQueue = {
  /** Runs `fn` after every step queued before it; resolves or rejects with its outcome. */
  run<T>(fn: () => Promise<T> | T): Promise<T>;
  /** The last step queued; never rejects (a failed step is logged). */
  tail(): Promise<unknown>;
};

export function createStepQueue(logger: Logger): StepQueue {
  let chain: Promise<unknown> = Promise.resolve();
  return {
    run(fn) {
      const run = chain.then(fn);
      chain = run.catch((e) => logger.error('rule engine step failed', { err: e }));
      return run;
    },
    tail: () => chain,
  };
}
