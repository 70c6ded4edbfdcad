import { describe, expect, it } from 'vitest';
import { expandValues, parseSeries } from './series-notation.ts';

describe('promtool series notation', () => {
  const cases: [string, (number | null)[]][] = [
    ['1 2 3', [1, 2, 3]],
    ['-2+4x3', [-2, 2, 6, 10]],
    ['1-2x4', [1, -1, -3, -5, -7]],
    ['5x2', [5, 5, 5]],
    ['1 _x3 stale 2', [1, null, null, null, null, 2]],
    ['0.5+0.25x2', [0.5, 0.75, 1]],
    ['1e3 Inf -Inf', [1000, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]],
  ];
  it.each(cases)('expands %s', (text, want) => {
    expect(expandValues(text)).toEqual(want);
  });

  it('rejects what it cannot read', () => {
    expect(() => expandValues('1 two')).toThrow(/"two" is not a value/);
  });

  it('reads series with quoted or bare tag values', () => {
    expect(parseSeries('container.cpu.usage{app="/push/pushd", task=t1}')).toEqual({
      metric: 'container.cpu.usage',
      tags: { app: '/push/pushd', task: 't1' },
    });
    expect(parseSeries('up')).toEqual({ metric: 'up', tags: {} });
    expect(() => parseSeries('up{a=}')).toThrow(/cannot read the tags at "a="/);
  });
});
