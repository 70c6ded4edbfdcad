import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBlankBody, parseJsonBody, parseJsonBodyOr } from './json-body.ts';

const errorOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('parseJsonBody', () => {
  it('parses an array cut into pieces the same as JSON.parse', () => {
    const spans = Array.from({ length: 500 }, (_, i) => ({
      id: i,
      name: `get /items/${i}`,
      annotations: [
        { ts: i, value: 'a' },
        { ts: i + 1, value: 'b' },
      ],
    }));
    const body = Buffer.from(JSON.stringify(spans));
    expect(parseJsonBody(body, 1000)).toEqual(spans);
  });

  it('is not fooled by `},{` inside strings or nested arrays', () => {
    const tricky = [
      { tag: '},{"x":1}', nested: [{ a: 1 }, { b: '},{' }] },
      { tag: 'é},{ü', nested: [] },
      { tag: '"},{"', deeper: [[{ c: 1 }, { d: 2 }]] },
    ];
    const body = Buffer.from(JSON.stringify(Array.from({ length: 50 }, () => tricky).flat()));
    for (const piece of [1, 7, 64, 1000])
      expect(parseJsonBody(body, piece)).toEqual(JSON.parse(String(body)));
  });

  it('gives JSON.parse’s answer for any JSON value, whatever the piece size (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.array(fc.object(), { maxLength: 40 })),
        fc.integer({ min: 1, max: 200 }),
        (value, piece) => {
          const body = Buffer.from(JSON.stringify(value));
          expect(parseJsonBody(body, piece)).toEqual(JSON.parse(String(body)));
        },
      ),
      { seed: 20261127, numRuns: 500 },
    );
  });

  it('fails as JSON.parse fails on a bad body', () => {
    const bad = Buffer.from(`${JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ i })))} trailing`);
    expect(errorOf(() => parseJsonBody(bad, 16))).toBe(errorOf(() => JSON.parse(String(bad))));
    const cutShort = Buffer.from(JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ i }))).slice(0, -1));
    expect(errorOf(() => parseJsonBody(cutShort, 16))).toBe(errorOf(() => JSON.parse(String(cutShort))));
  });

  it('tells a body of JSON whitespace from one with content', () => {
    expect(isBlankBody(Buffer.from(''))).toBe(true);
    expect(isBlankBody(Buffer.from(' \r\n\t'))).toBe(true);
    expect(isBlankBody(Buffer.from(' [] '))).toBe(false);
    expect(parseJsonBodyOr(Buffer.from(' \n'), [])).toEqual([]);
    expect(parseJsonBodyOr(Buffer.from(' [1] '), [])).toEqual([1]);
  });
});
