import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../core/query.ts';
import { aggregateFunction, missingPolicy } from './aggregators.ts';

function run(aggregator: Aggregator, values: number[]): number {
  const buf = Float64Array.from(values);
  return aggregateFunction(aggregator)(buf, buf.length, new Float64Array(values.length));
}

describe('aggregateFunction', () => {
  // Hand-computed; percentiles follow Commons Math's default: pos = p * (n + 1), linear between.
  const cases: [Aggregator, number[], number][] = [
    ['sum', [1, 2, 3, 4, 5], 15],
    ['zimsum', [1, 2, 3, 4, 5], 15],
    ['avg', [1, 2, 3, 4], 2.5],
    ['min', [3, -1, 2], -1],
    ['mimmin', [3, -1, 2], -1],
    ['max', [3, -1, 2], 3],
    ['mimmax', [3, -1, 2], 3],
    ['count', [7, 8, 9], 3],
    ['first', [7, 8, 9], 7],
    ['last', [7, 8, 9], 9],
    ['dev', [2, 4, 4, 4, 5, 5, 7, 9], 2],
    ['dev', [20, 5], 7.5],
    ['dev', [42], 0],
    ['median', [5, 1, 3, 2, 4], 3],
    ['median', [4, 1, 3, 2], 3],
    ['p50', [5, 1, 3, 2, 4], 3],
    ['p50', [4, 1, 3, 2], 2.5],
    ['p75', [5, 1, 3, 2, 4], 4.5],
    ['p75', [4, 1, 3, 2], 3.75],
    ['p90', [5, 1, 3, 2, 4], 5],
    ['p90', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 18],
    ['p95', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 19],
    ['p99', [10, 20], 20],
    ['p999', [10, 20, 30], 30],
    ['p50', [7], 7],
  ];
  it.each(cases)('%s of %j is %d', (aggregator, values, expected) => {
    expect(run(aggregator, values)).toBeCloseTo(expected, 12);
  });

  it('skips NaN values, and gives NaN when nothing real is left', () => {
    expect(run('sum', [1, Number.NaN, 2])).toBe(3);
    expect(run('avg', [Number.NaN, 4])).toBe(4);
    expect(run('count', [Number.NaN, 4, Number.NaN])).toBe(1);
    expect(run('p99', [Number.NaN, 4])).toBe(4);
    for (const aggregator of ['sum', 'avg', 'min', 'max', 'dev', 'first', 'median', 'p95'] as const)
      expect(run(aggregator, [Number.NaN, Number.NaN])).toBeNaN();
    expect(run('count', [Number.NaN])).toBe(0);
  });

  it('does not reorder the caller values when computing order statistics', () => {
    const buf = Float64Array.of(3, 1, 2);
    aggregateFunction('p75')(buf, 3, new Float64Array(3));
    expect([...buf]).toEqual([3, 1, 2]);
  });
});

describe('missingPolicy', () => {
  it.each([
    ['sum', 'lerp'],
    ['avg', 'lerp'],
    ['p99', 'lerp'],
    ['zimsum', 'skip'],
    ['mimmin', 'skip'],
    ['mimmax', 'skip'],
    ['count', 'skip'],
    ['first', 'skip'],
  ] as const)('%s → %s', (aggregator, policy) => {
    expect(missingPolicy(aggregator)).toBe(policy);
  });
});
