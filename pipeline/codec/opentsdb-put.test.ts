import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePutBody, parseTelnetLine, toEpochMs } from './opentsdb-put.ts';

const good = { metric: 'sys.cpu.nice', timestamp: 1346846400, value: 18, tags: { host: 'web01', dc: 'lga' } };

describe('toEpochMs', () => {
  it.each([
    [1346846400, 1346846400000],
    [1346846400123, 1346846400123],
    ['1346846400', 1346846400000],
    ['1346846400.123', 1346846400123],
    [0, undefined],
    [-5, undefined],
    [99999999999999, undefined],
    ['soon', undefined],
    [null, undefined],
  ])('%s -> %s', (input, expected) => {
    expect(toEpochMs(input)).toBe(expected);
  });
});

describe('decodePutBody', () => {
  it('takes a single object or an array', () => {
    expect(decodePutBody(good).points).toEqual([
      { metric: 'sys.cpu.nice', tags: good.tags, ts: 1346846400000, value: 18 },
    ]);
    expect(decodePutBody([good, { ...good, value: '9.5' }]).points.map((p) => p.value)).toEqual([18, 9.5]);
  });

  it.each([
    [{ ...good, metric: '' }, 'Metric name was empty', 'metric'],
    [{ ...good, timestamp: 0 }, 'Invalid timestamp: 0', 'timestamp'],
    [{ ...good, value: '' }, 'Empty value', 'value'],
    [{ ...good, value: 'abc' }, 'Unable to parse value to a number', 'value'],
    [{ ...good, tags: {} }, 'Missing tags', 'tags'],
    [{ ...good, metric: 'sys cpu' }, 'metric "sys cpu" has a character outside', 'metric'],
    [{ ...good, tags: { 'ho st': 'a' } }, 'tags key "ho st"', 'tags'],
    [42, 'A data point must be a JSON object', 'format'],
  ])('rejects %j with an error that says what', (dp, message, reason) => {
    const r = decodePutBody([good, dp]);
    expect(r.points).toHaveLength(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.datapoint).toEqual(dp);
    expect(r.errors[0]!.error).toContain(message);
    expect(r.reasons).toEqual([reason]);
  });
});

describe('parseTelnetLine', () => {
  it('parses a put line', () => {
    expect(parseTelnetLine('put sys.cpu.user 1356998400 42.5 host=webserver01 cpu=0')).toEqual({
      kind: 'put',
      point: {
        metric: 'sys.cpu.user',
        ts: 1356998400000,
        value: 42.5,
        tags: { host: 'webserver01', cpu: '0' },
      },
    });
  });

  it.each([
    ['put a 1 2', 'put: illegal argument: not enough arguments (need least 4, got 3)\n'],
    ['put a x 1 h=a', 'put: illegal argument: invalid timestamp: x\n'],
    ['put a 1356998400 nope h=a', 'put: invalid value: nope\n'],
    ['put a 1356998400 1 h', 'put: illegal argument: invalid tag: h\n'],
    ['put a 1356998400 1 h=a h=b', 'put: illegal argument: duplicate tag: h=b, tags={"h":"a"}\n'],
  ])('answers %j with OpenTSDB error line', (line, reply) => {
    const r = parseTelnetLine(line);
    expect(r.kind).toBe('error');
    expect(r.kind === 'error' && r.reply).toBe(reply);
  });

  it('recognises other commands and blank lines', () => {
    expect(parseTelnetLine('version')).toEqual({ kind: 'command', command: 'version', args: [] });
    expect(parseTelnetLine('   ')).toEqual({ kind: 'empty' });
  });

  it('never throws on any input (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `put ${s}`),
        ),
        (line) => {
          const r = parseTelnetLine(line);
          expect(['put', 'error', 'command', 'empty']).toContain(r.kind);
        },
      ),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('never throws on any JSON body (fuzz)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        const r = decodePutBody(body);
        expect(r.points.length + r.errors.length).toBeGreaterThanOrEqual(
          Array.isArray(body) ? body.length : 1,
        );
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});
