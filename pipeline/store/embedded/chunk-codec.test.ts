import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunk } from './chunk-codec.ts';

const RUNS = { seed: 20261127, numRuns: 500 };

/** Ascending distinct millisecond timestamps, regular or not. */
const times = (n: number) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 4_000_000_000_000 }),
      fc.array(fc.oneof(fc.constant(10_000), fc.integer({ min: 1, max: 86_400_000 })), {
        minLength: n - 1,
        maxLength: n - 1,
      }),
    )
    .map(([t0, gaps]) => {
      const ts = [t0];
      for (const g of gaps) ts.push(ts[ts.length - 1]! + g);
      return ts;
    });

const value = fc.oneof(
  fc.double(),
  fc.integer({ min: -1e12, max: 1e12 }),
  fc.integer({ min: -1e6, max: 1e6 }).map((x) => x / 1000),
  fc.integer({ min: 0, max: 1e6 }).map((x) => x * 4096),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53),
);

function roundTrip(ts: number[], values: number[]): void {
  const out = decodeChunk(encodeChunk(ts, values, ts.length));
  expect([...out.ts]).toEqual(ts);
  expect(out.values.length).toBe(values.length);
  for (let i = 0; i < values.length; i++) expect(Object.is(out.values[i], values[i])).toBe(true);
}

describe('chunk codec', () => {
  it('gives back every timestamp and every value bit for bit', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 300 })
          .chain((n) => fc.tuple(times(n), fc.array(value, { minLength: n, maxLength: n }))),
        ([ts, values]) => roundTrip(ts, values),
      ),
      RUNS,
    );
  });

  it('keeps series of one kind exact: random walks of decimals, page counts and counters', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.constantFrom(1, 1000, 1 / 4096),
        fc.array(fc.integer({ min: -5000, max: 5000 }), { minLength: 300, maxLength: 300 }),
        (n, unit, steps) => {
          const values: number[] = [];
          let x = 1_000_000;
          for (let i = 0; i < n; i++) {
            x += steps[i]!;
            values.push(x / unit);
          }
          roundTrip(
            Array.from({ length: n }, (_, i) => 1_800_000_000_000 + i * 10_000),
            values,
          );
        },
      ),
      RUNS,
    );
  });

  it('packs a regular series of small decimals into well under 2 bytes a point', () => {
    const n = 240;
    const ts = Array.from({ length: n }, (_, i) => 1_800_000_000_000 + i * 10_000);
    const values: number[] = [];
    let cpu = 500;
    for (let i = 0; i < n; i++) {
      cpu += ((i * 7919) % 61) - 30;
      values.push(cpu / 1000);
    }
    const bytes = encodeChunk(ts, values, n).length;
    expect(bytes / n).toBeLessThan(1.2);
    roundTrip(ts, values);
  });

  it('says what is wrong with a damaged chunk', () => {
    const bytes = encodeChunk([1, 2, 3], [1, 2, 3], 3);
    expect(() => decodeChunk(bytes.subarray(0, 4), 'chunk of series 7')).toThrow(
      /chunk of series 7: chunk ends early/,
    );
    const other = bytes.slice();
    other[0] = 9;
    expect(() => decodeChunk(other, 'chunk of series 7')).toThrow(/unknown chunk version 9/);
  });
});
