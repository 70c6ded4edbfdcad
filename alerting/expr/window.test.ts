import { describe, expect, it } from 'vitest';
import {
  avgOver,
  countOver,
  increaseOver,
  maxOver,
  minOver,
  percentileOver,
  predictLinear,
  rateOver,
  sumOver,
  type WindowPoints,
} from './window.ts';

/** Points one minute apart from t = 0. */
function minutely(...values: number[]): WindowPoints {
  return { ts: values.map((_, i) => i * 60_000), values };
}

describe('window reductions', () => {
  const p = minutely(5, 1, 4, 2, 8, 3);
  const none = minutely();
  const cases: [string, number | undefined, number | undefined][] = [
    ['avg', avgOver(p), 23 / 6],
    ['max', maxOver(p), 8],
    ['min', minOver(p), 1],
    ['sum', sumOver(p), 23],
    ['count', countOver(p), 6],
    ['p0', percentileOver(p, 0), 1],
    ['p50', percentileOver(p, 0.5), 3.5],
    ['p90', percentileOver(p, 0.9), 6.5],
    ['p100', percentileOver(p, 1), 8],
    ['p50 of one', percentileOver(minutely(7), 0.5), 7],
    ['avg of none', avgOver(none), undefined],
    ['max of none', maxOver(none), undefined],
    ['min of none', minOver(none), undefined],
    ['sum of none', sumOver(none), 0],
    ['count of none', countOver(none), 0],
    ['percentile of none', percentileOver(none, 0.5), undefined],
    ['increase', increaseOver(minutely(0, 30, 60, 90)), 90],
    ['increase across a reset', increaseOver(minutely(100, 160, 220, 10, 70, 130)), 250],
    ['increase after a reset to 0', increaseOver(minutely(50, 0, 5)), 5],
    ['increase of one point', increaseOver(minutely(5)), undefined],
    ['rate', rateOver(minutely(0, 30, 60, 90)), 0.5],
    ['rate across a reset', rateOver(minutely(100, 160, 220, 10, 70, 130)), 250 / 300],
    ['rate of one point', rateOver(minutely(5)), undefined],
    ['rate over no time', rateOver({ ts: [1000, 1000], values: [1, 2] }), undefined],
    ['predict on a line, 4 min ahead', predictLinear(minutely(1000, 880, 760, 640), 7 * 60_000), 160],
    ['predict now', predictLinear(minutely(1, 3, 5), 120_000), 5],
    ['predict one point', predictLinear(minutely(1), 0), undefined],
    ['predict one instant', predictLinear({ ts: [5, 5], values: [1, 2] }, 0), undefined],
  ];
  it.each(cases)('%s', (_, got, expected) => {
    if (expected === undefined) expect(got).toBeUndefined();
    else expect(got).toBeCloseTo(expected, 9);
  });

  it('fits the least-squares line through noisy points', () => {
    // y = 1, 2, 2, 4 at x = 0..3 min: slope 0.9/min, intercept 0.9; at x = 5 min: 5.4.
    expect(predictLinear(minutely(1, 2, 2, 4), 5 * 60_000)).toBeCloseTo(5.4, 9);
  });

  it('stays exact with epoch-millisecond timestamps', () => {
    const t0 = 1_700_000_040_000;
    const line = { ts: [t0, t0 + 10_000, t0 + 20_000], values: [7, 9, 11] };
    expect(predictLinear(line, t0 + 3_600_000)).toBeCloseTo(727, 6);
  });
});
