import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import { formatExpr } from './ast.ts';
import { parseExpr } from './parse.ts';

function errorOf(text: string): HubError {
  try {
    parseExpr(text);
  } catch (e) {
    if (e instanceof HubError) return e;
    throw e;
  }
  throw new Error(`"${text}" parsed`);
}

describe('parseExpr: precedence and shape', () => {
  const cases: [string, string][] = [
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['(1 + 2) * 3', '((1 + 2) * 3)'],
    ['10 - 4 - 3', '((10 - 4) - 3)'],
    ['12 / 3 / 2', '((12 / 3) / 2)'],
    ['-2 * 3', '(-2 * 3)'],
    ['2 - -3', '(2 - -3)'],
    ['- -sum:a', '--sum:a'],
    ['+sum:a', 'sum:a'],
    ['sum:a + sum:b * 2 > 10', '((sum:a + (sum:b * 2)) > 10)'],
    ['sum:a > 1 and sum:b < 2 or sum:c >= 3', '(((sum:a > 1) and (sum:b < 2)) or (sum:c >= 3))'],
    ['sum:a or sum:b and sum:c', '(sum:a or (sum:b and sum:c))'],
    ['sum:a > 1 AND sum:b', '((sum:a > 1) and sum:b)'],
    ['sum:a{x=y}/sum:b', '(sum:a{x=y} / sum:b)'],
    ['90 < avg:cpu', '(90 < avg:cpu)'],
    [
      'avg:1m-avg:container.cpu.usage{app=/push/pushd} / avg:container.cpu.limit{app=/push/pushd} > 0.9',
      '((avg:1m-avg:container.cpu.usage{app=/push/pushd} / avg:container.cpu.limit{app=/push/pushd}) > 0.9)',
    ],
    [
      'sum:rate{counter,100,5}:net.bytes{host=*}{dc=lga|sjc}',
      'sum:rate{counter,100,5}:net.bytes{host=*}{dc=lga|sjc}',
    ],
    ['sum:m{host=regexp(web[0-9]{2}|a\\)b)} > 1', '(sum:m{host=regexp(web[0-9]{2}|a\\)b)} > 1)'],
    ['avg_over(sum:a, 90s)', 'avg_over(sum:a, 90s)'],
    ['AVG_OVER(sum:a, 1.5m)', 'avg_over(sum:a, 90s)'],
    ['count_over(avg:cpu{host=*} > 90, 10m) >= 5', '(count_over((avg:cpu{host=*} > 90), 10m) >= 5)'],
    ['percentile_over(sum:a, 0.99, 5m)', 'percentile_over(sum:a, 0.99, 5m)'],
    ['predict_linear(avg:disk{host=*}, 1h, 4h) < 0', '(predict_linear(avg:disk{host=*}, 1h, 4h) < 0)'],
    ['absent(sum:up{app=/a/b}, 5m)', 'absent(sum:up{app=/a/b}, 5m, 1h)'],
    ['absent(sum:up, 45m)', 'absent(sum:up, 45m, 90m)'],
    ['absent(sum:up, 5m, 2h)', 'absent(sum:up, 5m, 2h)'],
    ['rate(sum:a, 1m) * 60\n  > 100', '((rate(sum:a, 1m) * 60) > 100)'],
  ];
  it.each(cases)('%s → %s', (text, formatted) => {
    expect(formatExpr(parseExpr(text))).toBe(formatted);
  });

  it('keeps the selector text and its sub-query, slashes in tag values included', () => {
    const e = parseExpr('avg:1m-avg:rate:container.cpu.usage{app=/push/pushd}');
    expect(e).toEqual({
      kind: 'selector',
      at: 0,
      text: 'avg:1m-avg:rate:container.cpu.usage{app=/push/pushd}',
      query: {
        metric: 'container.cpu.usage',
        aggregator: 'avg',
        rate: true,
        rateOptions: { counter: false, dropResets: false },
        downsample: { intervalMs: 60_000, aggregator: 'avg', fill: 'none' },
        filters: [{ type: 'literal_or', tagk: 'app', filter: '/push/pushd', groupBy: true }],
        explicitTags: false,
      },
    });
  });

  it('builds function nodes with their arguments in ms', () => {
    expect(parseExpr('predict_linear(sum:d, 1h, 4h)')).toMatchObject({
      kind: 'predict_linear',
      at: 0,
      arg: { kind: 'selector', at: 15, text: 'sum:d' },
      windowMs: 3_600_000,
      aheadMs: 14_400_000,
    });
    expect(parseExpr(' 2 * -rate(sum:c, 30s)')).toMatchObject({
      kind: 'binary',
      op: '*',
      at: 3,
      left: { kind: 'number', value: 2, at: 1 },
      right: { kind: 'negate', at: 5, arg: { kind: 'window', fn: 'rate', windowMs: 30_000, at: 6 } },
    });
  });
});

describe('parseExpr: errors point at the column', () => {
  const cases: [string, string, string][] = [
    ['avg:cpu{app=x} > )', 'column 18', 'unexpected ")"'],
    ['', 'column 1', 'unexpected end of expression'],
    ['sum:a >', 'column 8', 'unexpected end of expression'],
    ['2 * and', 'column 5', 'unexpected "and"'],
    ['sum:a{host=web01} + @', 'column 21', 'unexpected "@"'],
    ['sum:a = 1', 'column 7', 'unexpected "=": compare with "=="'],
    ['sum:a{x=y}x', 'column 11', 'unexpected "x"'],
    ['(sum:a + 1', 'column 11', '"(" at column 1 is not closed: expected ")", found end of expression'],
    ['avg(sum:cpu, 5m)', 'column 1', 'unknown function "avg": did you mean avg_over(series, window)'],
    ['avgover(sum:cpu, 5m)', 'column 1', 'unknown function "avgover": did you mean avg_over?'],
    ['sum:a + median(sum:b)', 'column 9', 'aggregators belong in a selector, like median:metric'],
    ['cpu > 3', 'column 1', '"cpu" is neither a function call nor a selector'],
    ['rate sum:a', 'column 6', 'expected "(" after rate, found "sum:a"'],
    ['avg_over(sum:cpu)', 'column 17', 'avg_over takes 2 arguments, avg_over(series, window); got 1'],
    ['avg_over(sum:cpu, 5m, 3m)', 'column 23', 'avg_over takes 2 arguments'],
    ['absent()', 'column 8', 'absent takes 2 or 3 arguments, absent(selector, window[, horizon]); got 0'],
    ['avg_over(sum:cpu, 300)', 'column 19', 'must be a duration with a unit, like 5m; got the number 300'],
    ['avg_over(sum:a, 5min)', 'column 17', 'invalid duration "5min"'],
    ['avg_over(sum:a, 5m + 1m)', 'column 20', 'expected "," or ")" after the duration 5m, found "+"'],
    ['max_over(sum:a{host=*} , 0s)', 'column 26', 'the window of max_over must be longer than 0'],
    ['sum:a + 1m', 'column 9', 'unexpected duration 1m'],
    ['avg_over(5, 5m)', 'column 10', 'the first argument of avg_over must be series'],
    ['avg_over(rate(sum:a, 1m), 5m)', 'column 10', 'window functions do not nest'],
    ['sum_over(sum:a > 1 and sum:b, 5m)', 'column 20', '"and" is not allowed inside sum_over()'],
    ['percentile_over(sum:a, 99, 5m)', 'column 24', 'a number from 0 to 1, like 0.99; got 99'],
    ['absent(avg_over(sum:a, 5m), 5m)', 'column 8', 'absent takes a selector as its first argument'],
    ['absent(sum:up, 5m, 1m)', 'column 20', 'the horizon of absent must be longer than its window, 5m'],
    ['1 > 2', 'column 3', '">" compares two numbers'],
    ['sum:a > 1 > 2', 'column 11', 'comparisons do not chain'],
    ['sum:a > 1 and 2', 'column 15', '"and" needs series on both sides'],
    ['sum:cpu{a=b', 'column 12', 'invalid selector: unclosed "{"'],
    ['1 + foo:cpu', 'column 5', 'invalid selector: unknown aggregator "foo"'],
    ['sum:1x-avg:cpu > 1', 'column 5', 'invalid selector: invalid downsample interval "1x"'],
    ['sum:a{x=y}{z=w}{q=r}', 'column 16', 'invalid selector: at most two filter groups'],
    ['sum:cpu{host=regexp(web[)} > 1', 'column 14', 'invalid selector: invalid regexp "web["'],
    ['sum:a/sum:b', 'column 5', 'invalid selector: unknown part "a/sum"'],
    ['sum:a + avg: cpu', 'column 13', 'invalid selector: missing metric'],
    ['1e999 * sum:a', 'column 1', 'number 1e999 is too large'],
    ['sum:a\n  > )', 'line 2, column 5', 'unexpected ")"'],
  ];
  it.each(cases)('%j: %s, %s', (text, where, message) => {
    const e = errorOf(text);
    expect(e.code).toBe('INVALID_QUERY');
    expect(e.where).toBe(where);
    expect(e.message).toContain(message);
    expect(e.message).toContain(` at ${where}\n`);
  });

  it('ends the message with the line and a caret under the mistake', () => {
    expect(errorOf('avg:cpu{app=x} > )').message).toBe(
      'unexpected ")" at column 18\navg:cpu{app=x} > )\n                 ^',
    );
    expect(errorOf('sum:a > 1\n\tand )').message).toBe(
      'unexpected ")" at line 2, column 6\n\tand )\n\t    ^',
    );
  });

  it('refuses nesting deeper than 128 levels instead of overflowing the stack', () => {
    expect(errorOf(`${'('.repeat(10_000)}1`).message).toMatch(/^expression nested more than 128 levels deep/);
    expect(errorOf(`sum:a${' + 1'.repeat(10_000)}`).where).toMatch(/^column \d+$/);
    expect(errorOf(`${'-'.repeat(10_000)}sum:a`).where).toBe('column 129');
  });
});

describe('parseExpr on any input (fuzz)', () => {
  const pieces = [
    'avg:cpu{app=/push/pushd}',
    'sum:rate{counter}:req{host=*}',
    'sum:',
    'avg:1m-avg:',
    'm',
    '{',
    '}',
    '(',
    ')',
    ',',
    ':',
    '=',
    '|',
    '\\',
    'regexp(',
    '5m',
    '0.5',
    '1e3',
    '.',
    'avg_over',
    'rate',
    'percentile_over',
    'predict_linear',
    'absent',
    'and',
    'or',
    '>',
    '>=',
    '==',
    '!',
    '-',
    '+',
    '*',
    '/',
    ' ',
    '\n',
    'x',
    '😀',
  ];
  const tokens = fc.array(fc.constantFrom(...pieces), { maxLength: 30 }).map((p) => p.join(''));
  const { expr } = fc.letrec<{ expr: string }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom('1', '0.25', 'sum:a{app=*}', 'avg:1m-avg:b{app=/x/y}', 'none:c'),
      fc
        .tuple(tie('expr'), fc.constantFrom(' + ', ' / ', ' > ', ' <= ', ' and ', ' or '), tie('expr'))
        .map(([l, op, r]) => l + op + r),
      tie('expr').map((e) => `(${e})`),
      tie('expr').map((e) => `-${e}`),
      fc
        .tuple(
          fc.constantFrom('avg_over', 'rate', 'count_over', 'absent'),
          tie('expr'),
          fc.constantFrom('5m', '1h'),
        )
        .map(([fn, e, w]) => `${fn}(${e}, ${w})`),
      fc.tuple(tie('expr'), fc.constantFrom('0.9', '2')).map(([e, q]) => `percentile_over(${e}, ${q}, 5m)`),
    ),
  }));
  const mutated = fc
    .tuple(expr, fc.nat(), fc.constantFrom('', '(', ')', ',', '{', ':', '5m', ' '))
    .map(([e, i, c]) => {
      const at = e.length === 0 ? 0 : i % e.length;
      return c === '' ? e.slice(0, at) + e.slice(at + 1) : e.slice(0, at) + c + e.slice(at);
    });

  it('either parses (and its canonical text parses back the same) or throws INVALID_QUERY with a column', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), tokens, expr, mutated), (text) => {
        let formatted: string;
        try {
          formatted = formatExpr(parseExpr(text));
        } catch (e) {
          expect(e).toBeInstanceOf(HubError);
          const err = e as HubError;
          expect(err.code).toBe('INVALID_QUERY');
          expect(err.where).toMatch(/^(line \d+, )?column \d+$/);
          expect(err.message).toContain(` at ${err.where}\n`);
          return;
        }
        expect(formatExpr(parseExpr(formatted))).toBe(formatted);
      }),
      { seed: 7, numRuns: 1000 },
    );
  });
});
