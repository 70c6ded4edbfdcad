import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import { createDecayingHistogram, histogramFromJSON } from './histogram.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);

/** Buckets of width 1, 2, 4, 8…: upper bounds 1, 3, 7, 15, 31. */
const doubling = () => createDecayingHistogram({ halfLifeMs: H, firstBucket: 1, ratio: 2, maxBuckets: 5 });

describe('decaying histogram: percentiles', () => {
  const h = doubling();
  for (const v of [0.5, 2, 5, 10]) h.add(v, 1, T0);
  it.each([
    [0, 1],
    [0.25, 1],
    [0.26, 3],
    [0.5, 3],
    [0.75, 7],
    [0.9, 15],
    [1, 15],
  ])('p%s is the upper bound of the bucket that reaches it: %s', (p, le) => {
    expect(h.percentile(p)).toBe(le);
  });

  it('lists the buckets from the first to the last non-empty one, empty ones between', () => {
    expect(h.buckets()).toEqual([
      { le: 1, weight: 1 },
      { le: 3, weight: 1 },
      { le: 7, weight: 1 },
      { le: 15, weight: 1 },
    ]);
    expect(h.totalWeight()).toBe(4);
  });

  it('puts values past the last bucket into the last bucket', () => {
    const g = doubling();
    g.add(1000, 1, T0);
    expect(g.percentile(0.5)).toBe(31);
  });

  it('puts a value equal to a bucket bound into that bucket (5 % buckets from 0.01)', () => {
    const all = createDecayingHistogram();
    all.add(0, 1, T0);
    all.add(1e9, 1, T0);
    const bounds = all.buckets().map((b) => b.le);
    expect(bounds).toHaveLength(200);
    expect(bounds[0]).toBe(0.01);
    expect(bounds[1]).toBeCloseTo(0.0205, 15);
    for (const le of bounds) {
      const g = createDecayingHistogram();
      g.add(le, 1, T0);
      g.add(le * 1.0001, 1, T0);
      expect(g.percentile(0.5)).toBe(le);
    }
  });

  it('is empty until something is added; zero weights and NaN add nothing', () => {
    const g = doubling();
    g.add(3, 0, T0);
    g.add(Number.NaN, 1, T0);
    expect(g.percentile(0.5)).toBeUndefined();
    expect(g.totalWeight()).toBe(0);
    expect(g.buckets()).toEqual([]);
  });
});

describe('decaying histogram: decay', () => {
  it('counts a sample one half-life older than the newest as half', () => {
    const h = doubling();
    h.add(0.5, 1, T0);
    h.add(10, 1, T0 + H);
    expect(h.totalWeight()).toBeCloseTo(1.5, 12);
    expect(h.buckets().map((b) => b.weight)).toEqual([0.5, 0, 0, 1]);
    // Without decay the median would be the old sample's bucket; the newer one outweighs it.
    expect(h.percentile(0.33)).toBe(1);
    expect(h.percentile(0.34)).toBe(15);
  });

  it('takes samples older than the first one (out of order) at their smaller weight', () => {
    const h = doubling();
    h.add(10, 1, T0);
    h.add(0.5, 1, T0 - 2 * H);
    expect(h.buckets()[0]).toEqual({ le: 1, weight: 0.25 });
    expect(h.totalWeight()).toBeCloseTo(1.25, 12);
  });

  it('stays finite over a thousand half-lives (the reference moves forward)', () => {
    const h = doubling();
    for (let k = 0; k < 1000; k++) h.add(k % 2 === 0 ? 0.5 : 10, 1, T0 + k * H);
    // 1 + 1/2 + 1/4 + … → 2; the newest sample (k = 999, value 10) weighs 1, the one before 0.5.
    expect(h.totalWeight()).toBeCloseTo(2, 9);
    expect(h.buckets().at(-1)!.weight).toBeCloseTo(4 / 3, 9);
    expect(h.percentile(0.5)).toBe(15);
  });
});

describe('decaying histogram: persistence and validation', () => {
  it('comes back from JSON with the same answers and keeps decaying from there', () => {
    const h = doubling();
    h.add(0.5, 1, T0);
    h.add(5, 2, T0 + H);
    const back = histogramFromJSON(JSON.parse(JSON.stringify(h.toJSON())));
    expect(back.buckets()).toEqual(h.buckets());
    expect(back.percentile(0.5)).toBe(h.percentile(0.5));
    back.add(10, 1, T0 + 2 * H);
    expect(back.totalWeight()).toBeCloseTo(0.25 + 1 + 1, 12);
    expect(back.newest()).toBe(T0 + 2 * H);
  });

  it('round-trips an empty histogram', () => {
    const back = histogramFromJSON(JSON.parse(JSON.stringify(doubling().toJSON())));
    expect(back.percentile(0.9)).toBeUndefined();
    back.add(2, 1, T0);
    expect(back.percentile(0.9)).toBe(3);
  });

  it('refuses anything else with the fields that are wrong', () => {
    const err = (() => {
      try {
        histogramFromJSON({
          v: 2,
          halfLifeMs: -1,
          newest: null,
          firstBucket: 1,
          ratio: 2,
          maxBuckets: 5,
          weights: 'x',
        });
      } catch (e) {
        return e as HubError;
      }
    })();
    expect(err).toBeInstanceOf(HubError);
    expect(err!.code).toBe('INVALID_INPUT');
    expect(err!.details!.map((d) => d.field).sort()).toEqual(['halfLifeMs', 'reference', 'v', 'weights']);
    const good = doubling().toJSON();
    expect(() => histogramFromJSON({ ...good, weights: [[7, 1]] })).toThrow(/Not a decaying histogram/);
    expect(() => createDecayingHistogram({ ratio: 1 })).toThrow(HubError);
  });
});
