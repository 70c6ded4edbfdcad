/**
 * Background work of the pipeline (flushes, sends, escalations), counted so that `idle()` can
 * tell when nothing is in flight. Waiting for a clock timer (a backoff) does not count: with a
 * fake clock a test advances time, then awaits `idle()` again.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';

export type Activity = {
  /** Runs background work; a failure is logged, never thrown to whoever started it. */
  spawn(what: string, fn: () => Promise<void>): void;
  /** Waits `ms` on the clock without counting as busy; false if closed meanwhile. */
  sleep(ms: number): Promise<boolean>;
  /** Resolves when no work is in flight. */
  idle(): Promise<void>;
  readonly closed: boolean;
  /** Stops sleeps (they resolve false) and waits for work in flight. */
  close(): Promise<void>;
};

export function createActivity(clock: Clock, logger: Logger): Activity {
  let busy = 0;
  let closed = false;
  let waiters: (() => void)[] = [];
  const sleepers = new Set<{ cancel: () => void; wake: (v: boolean) => void }>();
  const enter = () => {
    busy++;
  };
  const exit = () => {
    busy--;
    if (busy === 0) {
      const w = waiters;
      waiters = [];
      for (const fn of w) fn();
    }
  };
  const idle = () => (busy === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r)));
  return {
    spawn(what, fn) {
      enter();
      fn()
        .catch((e) => logger.error(`${what} failed`, { error: e }))
        .finally(exit);
    },
    sleep(ms) {
      if (closed) return Promise.resolve(false);
      exit();
      return new Promise<boolean>((resolve) => {
        const s = {
          cancel: () => {},
          wake: (v: boolean) => {
            sleepers.delete(s);
            enter();
            resolve(v);
          },
        };
        s.cancel = clock.setTimeout(() => s.wake(!closed), ms);
        sleepers.add(s);
      });
    },
    idle,
    get closed() {
      return closed;
    },
    async close() {
      closed = true;
      for (const s of [...sleepers]) {
        s.cancel();
        s.wake(false);
      }
      await idle();
    },
  };
}
