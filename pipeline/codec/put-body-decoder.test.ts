import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePutBody } from './opentsdb-put.ts';
import { pointsOf } from './point-columns.ts';
import { createPutBodyDecoder as createColumnsDecoder } from './put-body-decoder.ts';

/** The decoder, its columns turned into points to compare with the whole-body path. */
const createPutBodyDecoder = (...args: Parameters<typeof createColumnsDecoder>) => {
  const decode = createColumnsDecoder(...args);
  return (body: Buffer) => {
    const r = decode(body);
    return r && { points: pointsOf(r.columns), errors: r.errors, reasons: r.reasons };
  };
};

/** What the whole-body path gives: JSON.parse, then `decodePutBody`. */
const reference = (body: Buffer) => decodePutBody(JSON.parse(body.toString('utf8')));

const point = (i: number, ts = 1_700_000_000 + 10 * i) => ({
  metric: 'container.cpu.usage',
  timestamp: ts,
  value: i / 7,
  tags: { app: `app${i % 5}`, container: `c${i % 50}`, project: 'shop' },
});

describe('createPutBodyDecoder', () => {
  it('decodes a batch as the whole-body path does, the first time and once its series are known', () => {
    const decode = createPutBodyDecoder();
    const first = Buffer.from(JSON.stringify(Array.from({ length: 200 }, (_, i) => point(i))));
    const again = Buffer.from(
      JSON.stringify(Array.from({ length: 200 }, (_, i) => point(i, 1_700_009_000 + i))),
    );
    expect(decode(first)).toEqual(reference(first));
    const known = decode(again)!;
    expect(known).toEqual(reference(again));
    // The points of a known series share one frozen tags object: they took the fast path.
    expect(Object.isFrozen(known.points[0]!.tags)).toBe(true);
    expect(known.points[50]!.tags).toBe(known.points[0]!.tags);
  });

  it('lists the bad points of a known series with the whole-body path’s errors, keeping the good ones', () => {
    const decode = createPutBodyDecoder();
    decode(Buffer.from(JSON.stringify([point(1), point(2)])));
    const batch = [
      point(1),
      { ...point(2), timestamp: -5 },
      { ...point(1), value: 'BIG' },
      { ...point(2), timestamp: 99_999_999_999.5 },
      { ...point(1), value: '12' },
      { ...point(2), timestamp: '1700000000' },
      { ...point(1), metric: 'bad metric' },
      { ...point(2), tags: {} },
      point(2),
    ];
    const body = Buffer.from(JSON.stringify(batch).replace('"BIG"', '1e400'));
    const decoded = decode(body)!;
    expect(decoded).toEqual(reference(body));
    expect(decoded.points.map((p) => p.value)).toEqual([1 / 7, 12, 2 / 7, 2 / 7]);
    expect(decoded.errors).toHaveLength(5);
  });

  it('is not misled when the series come in another order, or share their tags with another metric', () => {
    const decode = createPutBodyDecoder();
    const cpu = point(1);
    const mem = { ...point(1), metric: 'container.mem.rss' };
    const odd = { ...point(2), tags: { app: 'a}b', container: '{"x":1}' } };
    for (const batch of [
      [cpu, mem, odd],
      [cpu, mem, odd],
      [mem, cpu, cpu, odd, mem],
      [odd, mem, mem, cpu],
      [cpu, { ...mem, tags: { ...mem.tags, app: 'other' } }, mem],
    ]) {
      const body = Buffer.from(JSON.stringify(batch));
      expect(decode(body)).toEqual(reference(body));
    }
  });

  it('reads numbers exactly as JSON.parse does', () => {
    const texts = [
      '0',
      '-0',
      '0.1',
      '0.30000000000000004',
      '1e22',
      '1e23',
      '1E+2',
      '2.5e-3',
      '123456789012345678',
      '9007199254740993',
      '5e-324',
      '1.7976931348623157e308',
      '-12.000',
      '0.000001234',
    ];
    const decode = createPutBodyDecoder();
    for (const round of [1, 2])
      for (const text of texts) {
        const body = Buffer.from(
          `[{"metric":"m","timestamp":1700000000,"value":${text},"tags":{"host":"a"}}]`,
        );
        const decoded = decode(body)!;
        expect(Object.is(decoded.points[0]!.value, JSON.parse(text)), `${text}, round ${round}`).toBe(true);
      }
  });

  it('leaves a body that is not JSON, or not an array of objects, to the whole-body path', () => {
    const decode = createPutBodyDecoder();
    for (const text of [
      '',
      '   ',
      '[{"metric":"m","timestamp":1,"value":1,"tags":{"a":"b"}}',
      '[{"metric":"m","timestamp":01,"value":1,"tags":{"a":"b"}}]',
      '[{"metric":"m","timestamp":1,"value":1,"tags":{"a":"b"}}] x',
      '[1, 2]',
      '[{"metric":"m","timestamp":1,"value":1,"tags":{"a":1}}]',
      '\uFEFF[]',
    ])
      expect(decode(Buffer.from(text)), text).toBeUndefined();
  });

  it('gives the whole-body path’s answer for any batch, in any spacing, first seen or known (property)', () => {
    const name = fc.oneof(
      fc.constantFrom('cpu', 'mem.used', 'net/rx', 'é.ü', 'a b', '', 'x"y', 'back\\slash', 'tab\t'),
      fc.string({ maxLength: 6 }),
    );
    const tags = fc.dictionary(name, fc.oneof(name, name), { maxKeys: 4 });
    const num = fc.oneof(
      fc.integer({ min: -5, max: 2_000_000_000_000 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(1_700_000_000, 1_700_000_000_123, 0.5),
    );
    const dp = fc.record(
      {
        metric: fc.oneof(name, fc.constant(7)),
        timestamp: fc.oneof(num, fc.constant('1700000000')),
        value: fc.oneof(num, fc.constantFrom('3', '', null, true)),
        tags: fc.oneof(tags, fc.constant({})),
        extra: fc.constantFrom('x', 1, null),
      },
      { requiredKeys: [] },
    );
    const space = fc.constantFrom('', ' ', '\n', '\t ', ' \r\n');
    const decode = createPutBodyDecoder(16, 50);
    fc.assert(
      fc.property(fc.array(dp, { maxLength: 12 }), space, (batch, ws) => {
        const text = JSON.stringify(batch, null, ws === '' ? undefined : ws);
        const body = Buffer.from(text);
        for (const round of [1, 2]) {
          const decoded = decode(body);
          if (decoded !== undefined) expect(decoded, `round ${round}`).toEqual(reference(body));
        }
      }),
      { seed: 20261127, numRuns: 400 },
    );
  });

  it('gives the whole-body path’s answer when a series’ points change how they are written (property)', () => {
    // Series alike but for a few bytes, each point written in one of a few key orders and
    // spacings, with any number text (or a string, or a key written `Value`): the decoder's guess
    // of the next series is often right, and the way it last saw that series written often wrong.
    const series = [
      { metric: 'cpu', tags: { app: 'a', host: 'h1' } },
      { metric: 'cpu', tags: { app: 'a', host: 'h2' } },
      { metric: 'mem', tags: { app: 'a', host: 'h1' } },
    ];
    const orders = [
      ['metric', 'tags', 'timestamp', 'value'],
      ['metric', 'timestamp', 'value', 'tags'],
      ['timestamp', 'metric', 'value', 'tags'],
      ['metric', 'tags', 'timestamp', 'value', 'extra'],
      ['value', 'metric', 'tags', 'timestamp'],
    ];
    const number = fc.oneof(
      { arbitrary: fc.constantFrom('1700000000', '1700000000123', '-3', '0.25', '1E+2'), weight: 4 },
      { arbitrary: fc.constantFrom('1e400', '"1700000000"', '"12"', 'null', '01'), weight: 1 },
    );
    const dp = fc.record({
      s: fc.nat({ max: series.length - 1 }),
      order: fc.constantFrom(...orders),
      ts: number,
      value: number,
      ws: fc.constantFrom('', ' '),
      // `Value`: as long as `value`, and not it.
      valueKey: fc.constantFrom('value', 'value', 'value', 'Value'),
    });
    const render = (p: typeof dp extends fc.Arbitrary<infer T> ? T : never) => {
      const { metric, tags } = series[p.s]!;
      const text: Record<string, string> = {
        metric: JSON.stringify(metric),
        timestamp: p.ts,
        value: p.value,
        tags: JSON.stringify(tags),
        extra: '1',
      };
      const key = (k: string) => (k === 'value' ? p.valueKey : k);
      return `{${p.order.map((k) => `${p.ws}"${key(k)}":${p.ws}${text[k]}`).join(',')}}`;
    };
    fc.assert(
      fc.property(
        fc.array(fc.array(dp, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 }),
        (batches) => {
          const decode = createPutBodyDecoder();
          for (const [n, batch] of batches.entries()) {
            const body = Buffer.from(`[${batch.map(render).join(',')}]`);
            let expected: ReturnType<typeof reference> | undefined;
            try {
              expected = reference(body);
            } catch {
              expected = undefined; // not JSON (a number written 01): left to the whole-body path
            }
            // Every body here that is JSON is one the decoder follows.
            expect(decode(body), `batch ${n}`).toEqual(expected);
          }
        },
      ),
      { seed: 20261128, numRuns: 1000 },
    );
  });

  it('takes every batch of well-formed points, whatever its spacing (property)', () => {
    const decode = createPutBodyDecoder();
    const word = fc.stringMatching(/^[a-z][a-z0-9._-]{0,8}$/);
    const dp = fc.record({
      metric: word,
      timestamp: fc.integer({ min: 1_000_000_000, max: 1_999_999_999 }),
      value: fc.double({ noNaN: true, noDefaultInfinity: true }),
      tags: fc.dictionary(word, word, { minKeys: 1, maxKeys: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(dp, { minLength: 1, maxLength: 20 }),
        fc.constantFrom(undefined, 1, '\t'),
        (batch, ws) => {
          const body = Buffer.from(JSON.stringify(batch, null, ws));
          const decoded = decode(body);
          expect(decoded).toBeDefined();
          expect(decoded).toEqual(reference(body));
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });
});
