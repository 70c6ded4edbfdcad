import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../core/query.ts';
import { aggregateSeries, MAX_INTERPOLATIONS } from './group-aggregate.ts';
import { type Points, Scratch } from './transform.ts';

function points(pairs: [number, number][]): Points {
  return { ts: Float64Array.from(pairs.map(([t]) => t)), values: Float64Array.from(pairs.map(([, v]) => v)) };
}

/** The value a series takes at `t` in a cross-series aggregation, straight from the definition. */
function valueAt(p: Points, t: number, interpolate: boolean, hold: boolean): number | undefined {
  const n = p.ts.length;
  for (let i = 0; i < n; i++) if (p.ts[i] === t) return p.values[i]!;
  if (!interpolate || n === 0 || t < p.ts[0]! || t > p.ts[n - 1]!) return undefined;
  let k = 0;
  while (p.ts[k + 1]! < t) k++;
  const [t0, t1, v0, v1] = [p.ts[k]!, p.ts[k + 1]!, p.values[k]!, p.values[k + 1]!];
  return hold ? v0 : v0 + ((t - t0) * (v1 - v0)) / (t1 - t0);
}

const NAIVE: Record<string, (values: number[]) => number> = {
  sum: (v) => (v.length ? v.reduce((a, b) => a + b, 0) : Number.NaN),
  avg: (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN),
  max: (v) => (v.length ? Math.max(...v) : Number.NaN),
  zimsum: (v) => (v.length ? v.reduce((a, b) => a + b, 0) : Number.NaN),
  count: (v) => v.length,
};

function reference(group: Points[], aggregator: string, hold: boolean): [number, number][] {
  const all = [...new Set(group.flatMap((p) => [...p.ts]))].sort((a, b) => a - b);
  const interpolate = aggregator !== 'zimsum' && aggregator !== 'count';
  return all.map((t) => {
    const values = group
      .map((p) => valueAt(p, t, interpolate, hold))
      .filter((v): v is number => v !== undefined && !Number.isNaN(v));
    return [t, NAIVE[aggregator]!(values)];
  });
}

describe('aggregateSeries', () => {
  const seriesArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 12 })
    .chain((ts) =>
      fc.tuple(
        fc.constant([...ts].sort((a, b) => a - b)),
        fc.array(
          fc.oneof({ weight: 9, arbitrary: fc.integer({ min: -1000, max: 1000 }) }, fc.constant(Number.NaN)),
          {
            minLength: ts.length,
            maxLength: ts.length,
          },
        ),
      ),
    )
    .map(([ts, values]) => points(ts.map((t, i) => [t, values[i]!])));

  it('agrees with the definition for every strategy, aligned or not', () => {
    fc.assert(
      fc.property(
        fc.array(seriesArb, { minLength: 1, maxLength: 6 }),
        fc.constantFrom('sum', 'avg', 'max', 'zimsum', 'count'),
        fc.boolean(),
        (group, aggregator, hold) => {
          const got = aggregateSeries(group, aggregator as Aggregator, hold, new Scratch(), 'q');
          const want = reference(group, aggregator, hold);
          expect([...got.ts]).toEqual(want.map(([t]) => t));
          want.forEach(([, v], j) => {
            const g = got.values[j]!;
            if (Number.isNaN(v)) expect(g).toBeNaN();
            else expect(Math.abs(g - v)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v)));
          });
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('refuses an unaligned group that would need too many interpolations', () => {
    const group: Points[] = [];
    for (let s = 0; s < 1000; s++)
      group.push(points(Array.from({ length: 60 }, (_, i): [number, number] => [i * 1000 + s, i])));
    expect(60 * 1000 * 1000).toBeGreaterThan(MAX_INTERPOLATIONS);
    expect(() => aggregateSeries(group, 'max', false, new Scratch(), 'queries[0]')).toThrow(
      /^queries\[0\]: max over 1000 series with 60000 distinct timestamps needs 60000000 interpolations/,
    );
    expect(aggregateSeries(group, 'sum', false, new Scratch(), 'queries[0]').ts).toHaveLength(60_000);
  });
});
