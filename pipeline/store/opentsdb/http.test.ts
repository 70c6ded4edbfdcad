import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import { silentLogger } from '../../../core/logger.ts';
import { isTransientStatus, TransientError, withRetry } from './http.ts';

/** Lets pending promise callbacks run, so that the next backoff timer is registered. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('withRetry', () => {
  it('backs off base, 2×base, 4×base on the injected clock, then succeeds', async () => {
    const clock = new FakeClock(0);
    const calls: number[] = [];
    const done = withRetry(
      'put',
      async () => {
        calls.push(clock.now());
        if (calls.length < 4) throw new TransientError('503');
        return 'ok';
      },
      { attempts: 5, baseMs: 100, clock, logger: silentLogger },
    );
    for (const delay of [100, 200, 400]) {
      await settle();
      const before = calls.length;
      clock.advance(delay - 1);
      await settle();
      expect(calls).toHaveLength(before);
      clock.advance(1);
      await settle();
      expect(calls).toHaveLength(before + 1);
    }
    expect(await done).toBe('ok');
    expect(calls).toEqual([0, 100, 300, 700]);
  });

  it('throws UNAVAILABLE with canRetry after the last attempt, naming the last failure', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const done = withRetry(
      'POST /api/put',
      async () => {
        calls++;
        throw new TransientError(`ECONNREFUSED #${calls}`);
      },
      { attempts: 3, baseMs: 10, clock, logger: silentLogger },
    ).catch((e: unknown) => e);
    for (let i = 0; i < 2; i++) {
      await settle();
      clock.advance(100);
    }
    const error = (await done) as HubError;
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', canRetry: true });
    expect(error.message).toBe('POST /api/put failed after 3 attempts: ECONNREFUSED #3');
    expect(calls).toBe(3);
  });

  it('passes other errors through at once', async () => {
    let calls = 0;
    const failing = withRetry(
      'x',
      async () => {
        calls++;
        throw new HubError('UPSTREAM_FAILED', 'no');
      },
      { attempts: 5, baseMs: 10, clock: new FakeClock(0), logger: silentLogger },
    );
    await expect(failing).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
    expect(calls).toBe(1);
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [408, true],
    [400, false],
    [404, false],
    [204, false],
  ])('treats status %d as transient: %s', (status, transient) => {
    expect(isTransientStatus(status)).toBe(transient);
  });
});
