import { describe, expect, it } from 'vitest';
import { formatExpr } from '../expr/ast.ts';
import { parseExpr } from '../expr/parse.ts';
import { buildCondition, checkHysteresis, parseThreshold, presenceOf } from './condition.ts';

describe('conditions', () => {
  it('turns a top-level comparison with a number into a threshold, with its negation as clear', () => {
    const { condition, detectsNodata } = buildCondition(
      parseExpr('avg:cpu{host=*} > 90'),
      undefined,
      undefined,
    );
    expect(condition).toMatchObject({
      kind: 'threshold',
      fire: { op: '>', value: 90 },
      clear: { op: '<=', value: 90 },
    });
    expect(detectsNodata).toBe(true);
    const flipped = buildCondition(parseExpr('10 > avg:disk.free{host=*}'), undefined, undefined).condition;
    expect(flipped).toMatchObject({ kind: 'threshold', fire: { op: '<', value: 10 } });
  });

  const presence: [string, string][] = [
    ['avg:a{h=*} > 1 and avg:b{h=*} < 2', '(avg:a{h=*} and avg:b{h=*})'],
    ['avg:a{h=*} > avg:b{h=*}', '(avg:a{h=*} and avg:b{h=*})'],
    ['count_over(avg:a{h=*} > 90, 10m) > 3', 'count_over(avg:a{h=*}, 10m)'],
    ['absent(sum:up{app=*}, 5m)', 'count_over(sum:up{app=*}, 1h)'],
    ['avg:a{h=*} / avg:b{h=*}', '(avg:a{h=*} / avg:b{h=*})'],
  ];
  it.each(presence)('presence of %s is %s', (text, want) => {
    expect(formatExpr(presenceOf(parseExpr(text)))).toBe(want);
  });

  it('a filter without comparison cannot tell silence from fine', () => {
    expect(buildCondition(parseExpr('sum:alarm{app=*}'), undefined, undefined).detectsNodata).toBe(false);
    expect(buildCondition(parseExpr('avg:a{h=*} == 1'), undefined, undefined)).toMatchObject({
      condition: { kind: 'filter' },
      detectsNodata: true,
    });
  });

  it('checks that clear points the other way without overlap', () => {
    const t = (s: string) => parseThreshold(s)!;
    expect(checkHysteresis(t('> 90'), t('< 80'))).toBeUndefined();
    expect(checkHysteresis(t('> 90'), t('<= 90'))).toBeUndefined();
    expect(checkHysteresis(t('>= 90'), t('<= 90'))).toMatch(/overlaps/);
    expect(checkHysteresis(t('> 90'), t('< 95'))).toMatch(/overlaps/);
    expect(checkHysteresis(t('< 10'), t('> 20'))).toBeUndefined();
    expect(checkHysteresis(t('< 10'), t('< 20'))).toMatch(/other way/);
    expect(parseThreshold('90')).toBeUndefined();
    expect(parseThreshold(' >= -1.5e2 ')).toEqual({ op: '>=', value: -150 });
  });
});
