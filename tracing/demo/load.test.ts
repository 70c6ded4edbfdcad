import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { createLoadLoop } from './load.ts';
import type { CallKind } from './scenario.ts';

/** A random source that walks [0, 1) evenly, in the middle of each step, so the mix is exact. */
function evenRandom(steps: number): () => number {
  let i = 0;
  return () => ((i++ % steps) + 0.5) / steps;
}

describe('load loop', () => {
  it('makes `rate` calls per second of clock time, in the configured mix', async () => {
    const clock = new FakeClock(1_000_000);
    const calls: CallKind[] = [];
    const load = createLoadLoop({
      rate: 20,
      clock,
      random: evenRandom(20),
      send: async (kind) => {
        calls.push(kind);
      },
    });
    load.start();
    clock.advance(999);
    expect(calls.length).toBe(19);
    clock.advance(1);
    expect(calls.length).toBe(20);
    // One in 20 fails (5 %), two in 20 are slow (10 %).
    expect(calls.filter((k) => k === 'fail').length).toBe(1);
    expect(calls.filter((k) => k === 'slow').length).toBe(2);
    clock.advance(9000);
    expect(calls.length).toBe(200);
    const stats = await load.stop();
    expect(stats.sent).toEqual({ normal: 170, slow: 20, fail: 10 });
    clock.advance(5000);
    expect(calls.length).toBe(200);
  });

  it('counts failed calls and skips calls beyond the in-flight bound', async () => {
    const clock = new FakeClock(0);
    const pending: (() => void)[] = [];
    const load = createLoadLoop({
      rate: 100,
      clock,
      maxInFlight: 10,
      send: (_kind, n) =>
        new Promise<void>((resolve, reject) =>
          pending.push(n % 2 === 0 ? resolve : () => reject(new Error('503'))),
        ),
    });
    load.start();
    clock.advance(1000);
    expect(load.stats()).toMatchObject({ skipped: 90, inFlight: 10 });
    for (const settle of pending.splice(0)) settle();
    const stats = await load.stop();
    expect(stats).toMatchObject({ errors: 5, skipped: 90, inFlight: 0 });
    expect(stats.sent.normal + stats.sent.slow + stats.sent.fail).toBe(10);
  });

  it('stop waits for the calls in flight', async () => {
    const clock = new FakeClock(0);
    let release: () => void = () => {};
    let done = false;
    const load = createLoadLoop({
      rate: 1,
      clock,
      send: () =>
        new Promise<void>((resolve) => {
          release = () => {
            done = true;
            resolve();
          };
        }),
    });
    load.start();
    clock.advance(1000);
    const stopped = load.stop();
    release();
    await stopped;
    expect(done).toBe(true);
  });
});
