import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import type { TraceSpan } from '../model.ts';
import { matchSpan, parseAnnotationQuery, parseSearch, type SearchExpr } from './search.ts';

const span: TraceSpan = {
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
  name: 'GET /items',
  kind: 'server',
  service: 'push-gateway',
  start: 1,
  duration: 150_000,
  tags: { 'http.status_code': '500', region: 'eu west' },
  annotations: [{ ts: 1, value: 'retried' }],
  error: false,
  remoteService: 'lb',
};

describe('search language: parsing', () => {
  const cases: [string, SearchExpr][] = [
    ['error', { op: 'error' }],
    ['retried', { op: 'has', word: 'retried' }],
    ['service=push*', { op: 'match', field: 'service', negate: false, value: 'push*' }],
    ['operation!="GET /items"', { op: 'match', field: 'name', negate: true, value: 'GET /items' }],
    ['kind=SERVER', { op: 'match', field: 'kind', negate: false, value: 'server' }],
    ['tag:service=x', { op: 'match', field: { tag: 'service' }, negate: false, value: 'x' }],
    ['"service"=x', { op: 'match', field: { tag: 'service' }, negate: false, value: 'x' }],
    ['duration>=1.5s', { op: 'duration', cmp: '>=', us: 1_500_000 }],
    ['duration<250us', { op: 'duration', cmp: '<', us: 250 }],
    [
      'http.status_code=500 AND service=push* AND NOT error',
      {
        op: 'and',
        items: [
          { op: 'match', field: { tag: 'http.status_code' }, negate: false, value: '500' },
          { op: 'match', field: 'service', negate: false, value: 'push*' },
          { op: 'not', expr: { op: 'error' } },
        ],
      },
    ],
    [
      'a or b c',
      {
        op: 'or',
        items: [
          { op: 'has', word: 'a' },
          {
            op: 'and',
            items: [
              { op: 'has', word: 'b' },
              { op: 'has', word: 'c' },
            ],
          },
        ],
      },
    ],
    [
      '(a OR b) AND c',
      {
        op: 'and',
        items: [
          {
            op: 'or',
            items: [
              { op: 'has', word: 'a' },
              { op: 'has', word: 'b' },
            ],
          },
          { op: 'has', word: 'c' },
        ],
      },
    ],
    ['x="say \\"hi\\""', { op: 'match', field: { tag: 'x' }, negate: false, value: 'say "hi"' }],
  ];
  it.each(cases)('%s', (q, expected) => {
    expect(parseSearch(q)).toEqual(expected);
  });

  const errors: [string, number, RegExp][] = [
    ['', 1, /empty/],
    ['service=', 9, /value after "="/],
    ['service= AND x', 10, /value after "="/],
    ['(a OR b', 8, /Expected "\)"/],
    ['a)', 2, /Unexpected "\)"/],
    ['duration>100', 10, /unit/],
    ['name>3', 5, /compares durations only/],
    ['x="open', 3, /Unterminated/],
    ['a ! b', 3, /after "!"/],
    ['AND a', 1, /Expected a term/],
    ['NOT', 4, /Expected a term/],
  ];
  it.each(errors)('refuses %j at column %i', (q, col, message) => {
    try {
      parseSearch(q);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HubError);
      expect((e as HubError).code).toBe('INVALID_QUERY');
      expect((e as HubError).where).toBe(`q:${col}`);
      expect((e as HubError).message).toMatch(message);
    }
  });

  it('any text parses or fails with an INVALID_QUERY error, never anything else', () => {
    const pieces = fc.constantFrom(
      'a',
      'b=c',
      'AND',
      'OR',
      'NOT',
      '(',
      ')',
      '"x y"',
      '=',
      '!=',
      '>',
      'duration',
      '5ms',
      '*',
      ' ',
      'error',
      '\\',
      '"',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(pieces).map((p) => p.join(' ')),
          fc.array(pieces).map((p) => p.join('')),
        ),
        (q) => {
          try {
            const e = parseSearch(q);
            matchSpan(e, span);
          } catch (err) {
            expect(err).toBeInstanceOf(HubError);
            expect((err as HubError).code).toBe('INVALID_QUERY');
          }
        },
      ),
      { seed: 7, numRuns: 1000 },
    );
  });

  it('refuses nesting deeper than the limit without overflowing the stack', () => {
    expect(() => parseSearch('('.repeat(1000) + 'a' + ')'.repeat(1000))).toThrow(/Nested deeper/);
  });
});

describe('search language: matching a span', () => {
  const m = (q: string) => matchSpan(parseSearch(q), span);
  it.each([
    ['http.status_code=500 AND service=push* AND NOT error', true],
    ['http.status_code=5*', true],
    ['service=push', false],
    ['service=*gate*', true],
    ['region="eu west"', true],
    ['missing!=x', true],
    ['missing=x', false],
    ['retried', true],
    ['http.status_code', true],
    ['duration>100ms AND duration<=150ms', true],
    ['duration>150ms', false],
    ['error OR kind=client', false],
    ['remoteService=lb', true],
    ['name="GET /items"', true],
  ])('%s → %s', (q, expected) => {
    expect(m(q)).toBe(expected);
  });

  it("reads Zipkin's annotationQuery", () => {
    expect(parseAnnotationQuery('http.uri=/foo and retried')).toEqual([
      { op: 'match', field: { tag: 'http.uri' }, negate: false, value: '/foo' },
      { op: 'has', word: 'retried' },
    ]);
  });
});
