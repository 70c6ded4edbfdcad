import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTelnetLine } from './opentsdb-put.ts';
import type { KnownSeries } from './series-memory.ts';
import { createTelnetLineDecoder, TAKEN } from './telnet-line-decoder.ts';

const decodeText = (decode: ReturnType<typeof createTelnetLineDecoder>, line: string) => {
  const b = Buffer.from(`xx${line}yy`);
  return decode(b, 2, b.length - 2);
};

describe('createTelnetLineDecoder', () => {
  it('decodes lines as parseTelnetLine does, the first time and once their series are known', () => {
    const decode = createTelnetLineDecoder();
    const lines = (step: number) =>
      Array.from(
        { length: 50 },
        (_, i) =>
          `put container.cpu.usage ${1_700_000_000 + step * 10} ${i / 7} app=a${i % 5} container=c${i}\r`,
      );
    for (const step of [0, 1, 2])
      for (const line of lines(step)) expect(decodeText(decode, line)).toEqual(parseTelnetLine(line));
    // The points of a known series share one frozen tags object: they took the byte path.
    const a = decodeText(decode, lines(3)[7]!);
    const b = decodeText(decode, lines(4)[7]!);
    expect(a.kind === 'put' && b.kind === 'put' && a.point.tags === b.point.tags).toBe(true);
    expect(a.kind === 'put' && Object.isFrozen(a.point.tags)).toBe(true);
  });

  it('hands the points of known series to a sink, as their series object, and answers the rest', () => {
    const decode = createTelnetLineDecoder();
    const taken: [KnownSeries, number, number][] = [];
    const sink = (s: KnownSeries, ts: number, value: number) => taken.push([s, ts, value]);
    const line = (ts: number, value: string, app = 'a') => {
      const b = Buffer.from(`put m.cpu ${ts} ${value} app=${app} project=shop`);
      return decode(b, 0, b.length, sink);
    };
    // A new series is parsed as text (and remembered): its point comes back as a put.
    expect(line(1_700_000_000, '1.5')).toEqual(
      parseTelnetLine('put m.cpu 1700000000 1.5 app=a project=shop'),
    );
    expect(taken).toEqual([]);
    expect(line(1_700_000_010, '2')).toBe(TAKEN);
    expect(line(1_700_000_020, '-3.25')).toBe(TAKEN);
    expect(taken.map(([, ts, v]) => [ts, v])).toEqual([
      [1_700_000_010_000, 2],
      [1_700_000_020_000, -3.25],
    ]);
    expect(taken[0]![0]).toBe(taken[1]![0]);
    expect(taken[0]![0]).toMatchObject({ metric: 'm.cpu', tags: { app: 'a', project: 'shop' } });
    // A bad value of a known series still gets its error.
    expect(line(1_700_000_030, 'x')).toMatchObject({ kind: 'error', reason: 'value' });
    expect(taken).toHaveLength(2);
  });

  it('answers tricky lines as parseTelnetLine does, with a tag limit, seen once or twice', () => {
    const decode = createTelnetLineDecoder(3);
    const lines = [
      'put sys.cpu.user 1356998400 42.5 host=web01 cpu=0',
      'put sys.cpu.user 1356998410 43 host=web01 cpu=0',
      '  put   sys.cpu.user\t1356998420  44.5e0   host=web01 cpu=0  ',
      'put sys.cpu.user 1356998430 abc host=web01 cpu=0',
      'put sys.cpu.user 13569984x0 1 host=web01 cpu=0',
      'put sys.cpu.user 1356998440 1 host=web01 cpu=0 a=b c=d',
      'put sys.cpu.user 1356998450 1 host=web01 host=web02',
      'put sys.cpu.user 1356998460 1',
      'put sys.cpu.user 1356998470 1 host=wéb01',
      'put sys.cpu.user 1356998470 1 host=wéb01',
      'put sys.cpu.us{er 1356998480 1 host=web01 cpu=0',
      'put sys.cpu.user 1356998490 1\u00a0 host=web01 cpu=0',
      'put sys.cpu.user\u00a0x 1356998490 1 host=web01 cpu=0',
      'put sys.cpu.user 1356998490\u2003 1 host=web01 cpu=0',
      'put\u00a0sys.cpu.user 1356998490 1 host=web01 cpu=0',
      'version',
      '',
    ];
    for (const line of [...lines, ...lines])
      expect(decodeText(decode, line), line).toEqual(parseTelnetLine(line, 3));
  });

  it('answers a bad timestamp or value of a known series with parseTelnetLine’s error', () => {
    const decode = createTelnetLineDecoder();
    decodeText(decode, 'put m 1700000000 1 host=a');
    for (const line of [
      'put m 0 1 host=a',
      'put m 99999999999999 1 host=a',
      'put m 1700000000 x host=a',
      'put m 1700000000 1e999 host=a',
      'put m 1700000000 - host=a',
      'put m 1700000000.5 1 host=a',
      'put m 1700000000 0x10 host=a',
      'put m 1700000000 .5 host=a',
      'put m 1700000000 -0 host=a',
      'put m 1700000000 12345678901234567890.5 host=a',
    ])
      expect(decodeText(decode, line), line).toEqual(parseTelnetLine(line));
  });

  it('gives parseTelnetLine’s answer for any line, first seen or known (property)', () => {
    const word = fc.oneof(
      fc.constantFrom(
        'put',
        'm',
        'cpu.usage',
        'host=a',
        'host=b',
        'a=1',
        'é=ü',
        'x',
        '=',
        'a=',
        '1700000000',
        '-1.5',
      ),
      fc.stringMatching(/^[a-z0-9=.-]{1,6}$/),
      fc.string({ maxLength: 4 }),
    );
    const space = fc.constantFrom(' ', '  ', '\t', ' \r', '\u00a0', '\v');
    const line = fc
      .tuple(fc.array(fc.tuple(word, space), { maxLength: 8 }), fc.boolean())
      .map(([words, put]) => (put ? 'put ' : '') + words.map(([w, s]) => w + s).join(''));
    const decode = createTelnetLineDecoder(16, 40);
    fc.assert(
      fc.property(line, (text) => {
        for (const round of [1, 2])
          expect(decodeText(decode, text), `round ${round}`).toEqual(parseTelnetLine(text));
      }),
      { seed: 20261127, numRuns: 1500 },
    );
  });

  it('gives parseTelnetLine’s answer for put lines of a few series, in any spacing (property)', () => {
    const sp = fc.constantFrom(' ', '\t', '  ');
    const line = fc
      .record({
        metric: fc.constantFrom('m', 'cpu.usage', 'é'),
        ts: fc.constantFrom('1700000000', '0', '1700000000123', '01700000000', '1.5', '99999999999999'),
        value: fc.constantFrom('1', '-1.5', '0.1', '1e3', 'abc', '-', '007', '12345678901234567', 'Infinity'),
        tags: fc.subarray(['host=a', 'host=b', 'a=1', 'a==', '=b', 'host=a']),
        spaces: fc.array(sp, { minLength: 8, maxLength: 8 }),
        trail: fc.constantFrom('', ' ', '\r'),
      })
      .map(({ metric, ts, value, tags, spaces, trail }) => {
        const words = ['put', metric, ts, value, ...tags];
        return words.map((w, i) => w + (i < words.length - 1 ? spaces[i % 8] : '')).join('') + trail;
      });
    const decode = createTelnetLineDecoder();
    fc.assert(
      fc.property(line, (text) => {
        for (const round of [1, 2])
          expect(decodeText(decode, text), `round ${round}`).toEqual(parseTelnetLine(text));
      }),
      { seed: 11, numRuns: 1500 },
    );
  });

  it('gives parseTelnetLine’s answer when a series’ lines change how they are written (property)', () => {
    // Series alike but for a few bytes, their lines in one of a few spacings, with any timestamp
    // and value words: the decoder's guess of the next series is often right, and the way it
    // last saw that series written often wrong.
    const series = [
      ['cpu', 'app=a host=h1'],
      ['cpu', 'app=a host=h2'],
      ['mem', 'app=a host=h1'],
    ] as const;
    const point = fc.record({
      s: fc.nat({ max: series.length - 1 }),
      lead: fc.constantFrom('', ' '),
      sep: fc.constantFrom(' ', '  ', '\t'),
      ts: fc.constantFrom('1700000000', '1700000000123', '17000000001234', '1700000000x', '-1', '1.5'),
      value: fc.constantFrom('1', '-1.5', '0.25', '12', '1e3', 'abc', '1 2', '-', '1.'),
      trail: fc.constantFrom('', '\r', ' '),
    });
    const render = (p: typeof point extends fc.Arbitrary<infer T> ? T : never) => {
      const [metric, tags] = series[p.s]!;
      return `${p.lead}put ${metric} ${p.ts}${p.sep}${p.value} ${tags}${p.trail}`;
    };
    fc.assert(
      fc.property(fc.array(point, { minLength: 1, maxLength: 40 }), (points) => {
        const decode = createTelnetLineDecoder();
        for (const [n, p] of points.entries()) {
          const text = render(p);
          expect(decodeText(decode, text), `line ${n}: ${JSON.stringify(text)}`).toEqual(
            parseTelnetLine(text),
          );
        }
      }),
      { seed: 20261128, numRuns: 1000 },
    );
  });
});
