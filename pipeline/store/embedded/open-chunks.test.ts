import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpenChunks } from './open-chunks.ts';

describe('OpenChunks', () => {
  it('keeps a series in time order when points come late, the last value of a time winning', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ts: fc.integer({ min: 0, max: 40 }), value: fc.integer() }), { maxLength: 80 }),
        (points) => {
          const open = new OpenChunks();
          const pin = open.pin('points/0', 7);
          const expected = new Map<number, number>();
          for (const p of points) {
            const size = open.add(3, p.ts, p.value, pin, 0);
            expected.set(p.ts, p.value);
            expect(size).toBe(expected.size);
          }
          const times = [...expected.keys()].sort((a, b) => a - b);
          expect(open.points).toBe(times.length);
          expect(open.range(3, 0, 40)).toEqual({ ts: times, values: times.map((t) => expected.get(t)) });
          // Each point pins the bus until it is taken for a seal.
          expect(open.resumeFrom('points/0', 100)).toBe(times.length > 0 ? 7 : 100);
          const taken = open.take(3);
          expect(taken?.ts ?? []).toEqual(times);
          expect(taken?.pins.every((p) => p === pin) ?? true).toBe(true);
          expect(open.resumeFrom('points/0', 100)).toBe(100);
        },
      ),
    );
  });
});
