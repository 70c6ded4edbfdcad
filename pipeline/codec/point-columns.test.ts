import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '../../core/model.ts';
import { columnsOf, concatColumns, pointsOf } from './point-columns.ts';

const p = (app: string, ts: number, value: number): MetricPoint => ({
  metric: 'm.cpu',
  tags: { app },
  ts,
  value,
});

describe('point columns', () => {
  it('turns points into columns and back, each point its own series object', () => {
    const points = [p('a', 1, 0.5), p('b', 2, -3), p('a', 3, Number.MAX_VALUE)];
    const columns = columnsOf(points);
    expect(columns.series[1]).toBe(points[1]);
    expect(pointsOf(columns)).toEqual(points);
  });

  it('joins batches in order, whatever arrays hold their numbers', () => {
    const shared = { metric: 'm.cpu', tags: { app: 'c' } };
    const joined = concatColumns([
      columnsOf([p('a', 1, 1)]),
      { series: [shared, shared], ts: [2, 3], values: new Float64Array([2, 3]) },
      { series: [], ts: [], values: [] },
      columnsOf([p('b', 4, 4)]),
    ]);
    expect(pointsOf(joined).map((x) => [x.tags['app'], x.ts, x.value])).toEqual([
      ['a', 1, 1],
      ['c', 2, 2],
      ['c', 3, 3],
      ['b', 4, 4],
    ]);
    expect(joined.series[1]).toBe(shared);
  });
});
