import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TraceIndex } from './trace-index.ts';

const T = 'trace-a';

describe('trace index', () => {
  it('keeps rows that come close together as one range', () => {
    const index = new TraceIndex(10, 100);
    for (const seq of [500, 480, 590, 650]) index.add(T, seq, 1);
    expect(index.ranges(T)).toEqual([{ min: 480, max: 650 }]);
  });

  it('gives rows far from the first ones a range of their own, lowest first', () => {
    const index = new TraceIndex(10, 100);
    index.add(T, 5_000, 1);
    index.add(T, 5_010, 1);
    index.add(T, 90_000, 2);
    index.add(T, 90_050, 2);
    index.add(T, 10, 3);
    expect(index.ranges(T)).toEqual([
      { min: 10, max: 10 },
      { min: 5_000, max: 5_010 },
      { min: 90_000, max: 90_050 },
    ]);
  });

  it('joins ranges that rows in between bring close', () => {
    const index = new TraceIndex(10, 100);
    for (const seq of [1_000, 1_300, 1_100, 1_200]) index.add(T, seq, 1);
    expect(index.ranges(T)).toEqual([{ min: 1_000, max: 1_300 }]);
  });

  it('keeps at most eight ranges, joining the closest, and every row stays in one', () => {
    const index = new TraceIndex(10, 10);
    const seqs = [0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 7_500, 9_000];
    for (const seq of seqs) index.add(T, seq, 1);
    const ranges = index.ranges(T)!;
    expect(ranges).toHaveLength(8);
    expect(ranges).toContainEqual({ min: 7_000, max: 7_500 });
    for (const seq of seqs) expect(ranges.some((r) => r.min <= seq && seq <= r.max)).toBe(true);
  });

  it('covers every row added, in any order, with ranges further apart than the gap', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 60 }), (seqs) => {
        const index = new TraceIndex(10, 1_000);
        for (const seq of seqs) index.add(T, seq, 1);
        const ranges = index.ranges(T)!;
        expect(ranges.length).toBeLessThanOrEqual(8);
        for (const seq of seqs) expect(ranges.some((r) => r.min <= seq && seq <= r.max)).toBe(true);
        for (let i = 1; i < ranges.length; i++)
          expect(ranges[i]!.min).toBeGreaterThan(ranges[i - 1]!.max + 1_000);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('forgets a pruned or dropped trace with all its ranges', () => {
    const index = new TraceIndex(1, 100);
    index.add(T, 0, 1);
    index.add(T, 10_000, 1);
    expect(index.prune(2)).toEqual([T]);
    index.add(T, 20_000, 5);
    expect(index.ranges(T)).toEqual([{ min: 20_000, max: 20_000 }]);
    index.add('trace-b', 0, 5);
    expect(index.ranges(T)).toBeUndefined();
    expect(index.complete).toBe(false);
  });
});
