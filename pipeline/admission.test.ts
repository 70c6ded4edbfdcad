import { describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL, type Principal } from '../core/auth.ts';
import { type MaybeMemo, seriesKey } from '../core/model.ts';
import { admitColumns } from './admission.ts';
import { createCardinalityLimiter } from './limits.ts';

const shopOnly: Principal = {
  ...OPEN_PRINCIPAL,
  kind: 'token',
  name: 'shop-agent',
  allProjects: false,
  projects: new Map([['shop', 'editor']]),
};

const series = (project: string, app: string): MaybeMemo => ({
  metric: 'container.cpu.usage',
  tags: Object.freeze({ project, app }),
  admittedKey: undefined,
});

describe('admitColumns', () => {
  it('admits every point of a batch as the same columns, its series remembering their keys', () => {
    const a = series('shop', 'a');
    const b = series('shop', 'b');
    const columns = { series: [a, b, a], ts: [1, 1, 2], values: [10, 20, 11] };
    const limiter = createCardinalityLimiter({ maxSeriesPerProject: 10, known: [] });
    const r = admitColumns(columns, shopOnly, limiter);
    expect(r.admitted).toBe(columns);
    expect(r.refused).toEqual([]);
    expect(r.keys).toEqual([a, b, a].map((s) => seriesKey(s.metric, s.tags)));
    expect(a.admittedKey).toBe(seriesKey(a.metric, a.tags));
    expect(limiter.seriesOf('shop')).toBe(2);
  });

  it('refuses points of other projects and new series past the limit, keeping the rest in order', () => {
    const known = series('shop', 'a');
    const other = series('bank', 'x');
    const extra = series('shop', 'b');
    const limiter = createCardinalityLimiter({ maxSeriesPerProject: 1, known: [] });
    const columns = { series: [known, other, extra, known], ts: [1, 2, 3, 4], values: [1, 2, 3, 4] };
    const r = admitColumns(columns, shopOnly, limiter);
    expect(r.admitted.series).toEqual([known, known]);
    expect([...(r.admitted.ts as number[])]).toEqual([1, 4]);
    expect([...(r.admitted.values as number[])]).toEqual([1, 4]);
    expect(r.keys).toEqual([seriesKey(known.metric, known.tags), seriesKey(known.metric, known.tags)]);
    expect(r.refused.map((x) => [x.reason, x.point.ts, x.point.tags['app']])).toEqual([
      ['forbidden', 2, 'x'],
      ['cardinality', 3, 'b'],
    ]);
    expect(r.refused[0]!.error).toMatch(/Not allowed to write project "bank"/);
    expect(extra.admittedKey).toBeUndefined();
  });

  it('takes points as series of their own (no remembered key) as admitPoints does', () => {
    const p = { metric: 'm', tags: { project: 'shop', app: 'a' }, ts: 5, value: 1 };
    const limiter = createCardinalityLimiter({ maxSeriesPerProject: 10, known: [] });
    const r = admitColumns({ series: [p], ts: [5], values: [1] }, shopOnly, limiter);
    expect(r.keys).toEqual([seriesKey('m', p.tags)]);
    expect('admittedKey' in p).toBe(false);
  });
});
