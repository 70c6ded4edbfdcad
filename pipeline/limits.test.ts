import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.ts';
import { createCardinalityLimiter, createRateLimiter } from './limits.ts';

describe('rate limiter', () => {
  it('allows a burst, then the sustained rate, per key', () => {
    const clock = new FakeClock();
    const rl = createRateLimiter({ perSecond: 100, burst: 200, clock });
    expect(rl.take('a', 150)).toBe(true);
    expect(rl.take('a', 100)).toBe(false);
    expect(rl.retryAfter('a', 100)).toBe(1);
    expect(rl.take('b', 200)).toBe(true);
    clock.advance(500);
    expect(rl.take('a', 100)).toBe(true);
    expect(rl.take('a', 1)).toBe(false);
  });
});

describe('cardinality limiter', () => {
  it('caps new series of one project while known series and other projects flow', () => {
    const cl = createCardinalityLimiter({
      maxSeriesPerProject: 2,
      known: [{ metric: 'm', tags: { project: 'a', c: '1' } }],
    });
    expect(cl.admit('m', { project: 'a', c: '2' })).toBe(true);
    expect(cl.admit('m', { project: 'a', c: '3' })).toBe(false);
    expect(cl.admit('m', { project: 'a', c: '1' })).toBe(true);
    expect(cl.admit('m', { c: '1', project: 'a' })).toBe(true);
    expect(cl.admit('m', { project: 'b', c: '9' })).toBe(true);
    expect(cl.admitSeries('m', { project: 'b', c: '9' })).toBe('m{c=9,project=b}');
    expect(cl.admitSeries('m', { c: '4', project: 'a' })).toBeUndefined();
    expect(cl.seriesOf('a')).toBe(2);
    expect(cl.seriesOf('b')).toBe(1);
  });
});
