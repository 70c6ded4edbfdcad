import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { B3_HEADERS, formatB3, parseB3, type SpanContext } from './b3.ts';

const RUNS = { seed: 20261126, numRuns: 500 };
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const PARENT = '53995c3f42cd8ad8';

describe('B3 headers', () => {
  it('round-trips a context through inject and extract', () => {
    const contexts: SpanContext[] = [
      { traceId: TRACE, spanId: SPAN },
      { traceId: TRACE, spanId: SPAN, sampled: true },
      { traceId: TRACE, spanId: SPAN, parentId: PARENT, sampled: false },
    ];
    for (const ctx of contexts) expect(parseB3(formatB3(ctx))).toEqual(ctx);
  });

  it('writes the canonical names and 1 / 0 for the decision', () => {
    expect(formatB3({ traceId: TRACE, spanId: SPAN, parentId: PARENT, sampled: false })).toEqual({
      'X-B3-TraceId': TRACE,
      'X-B3-SpanId': SPAN,
      'X-B3-ParentSpanId': PARENT,
      'X-B3-Sampled': '0',
    });
  });

  it.each([
    ['lower-case names, as Node gives HTTP headers', { 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN }, {}],
    ['upper-case hex', { 'X-B3-TraceId': TRACE.toUpperCase(), 'X-B3-SpanId': SPAN.toUpperCase() }, {}],
    [
      'a 64-bit trace id, padded',
      { 'X-B3-TraceId': 'a3ce929d0e0e4736', 'X-B3-SpanId': SPAN },
      { traceId: '0000000000000000a3ce929d0e0e4736' },
    ],
    [
      'sampled "true"',
      { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': SPAN, 'X-B3-Sampled': 'true' },
      { sampled: true },
    ],
    [
      'sampled "false"',
      { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': SPAN, 'X-B3-Sampled': 'false' },
      { sampled: false },
    ],
    [
      'debug flag means sampled',
      { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': SPAN, 'X-B3-Flags': '1' },
      { sampled: true },
    ],
    [
      'an array value (repeated header) takes the first',
      { 'x-b3-traceid': [TRACE, 'zz'], 'x-b3-spanid': SPAN },
      {},
    ],
    [
      'unrelated headers beside it',
      { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': SPAN, host: 'h', 'content-type': 'x' },
      {},
    ],
  ])('accepts %s', (_, headers, extra) => {
    expect(parseB3(headers)).toEqual({ traceId: TRACE, spanId: SPAN, ...extra });
  });

  it.each([
    ['no headers', {}],
    ['a trace id only', { 'X-B3-TraceId': TRACE }],
    ['a span id only', { 'X-B3-SpanId': SPAN }],
    ['a sampling decision only', { 'X-B3-Sampled': '0' }],
    ['an all-zero trace id', { 'X-B3-TraceId': '0'.repeat(32), 'X-B3-SpanId': SPAN }],
    ['an all-zero span id', { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': '0'.repeat(16) }],
    ['a 20-digit trace id', { 'X-B3-TraceId': TRACE.slice(0, 20), 'X-B3-SpanId': SPAN }],
    ['a 33-digit trace id', { 'X-B3-TraceId': TRACE + 'a', 'X-B3-SpanId': SPAN }],
    ['a short span id', { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': 'abc' }],
    ['non-hex digits', { 'X-B3-TraceId': TRACE.replace('4', 'g'), 'X-B3-SpanId': SPAN }],
    ['padding spaces', { 'X-B3-TraceId': ` ${TRACE}`, 'X-B3-SpanId': SPAN }],
    ['a bad parent', { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': SPAN, 'X-B3-ParentSpanId': 'nope' }],
    ['an empty parent', { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': SPAN, 'X-B3-ParentSpanId': '' }],
    ['a bad decision', { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': SPAN, 'X-B3-Sampled': 'yes' }],
    ['a bad flag', { 'X-B3-TraceId': TRACE, 'X-B3-SpanId': SPAN, 'X-B3-Flags': '2' }],
    ['an empty array', { 'X-B3-TraceId': [], 'X-B3-SpanId': SPAN }],
  ])('refuses %s', (_, headers) => {
    expect(parseB3(headers as Record<string, string>)).toBeUndefined();
  });

  it('never throws on arbitrary headers, and whatever it accepts is well-formed', () => {
    const name = fc.oneof(
      fc.constantFrom(...Object.values(B3_HEADERS), 'x-b3-traceid', 'X-B3-SPANID'),
      fc.string(),
    );
    const value = fc.oneof(
      fc.string(),
      fc.stringMatching(/^[0-9a-fA-F]{0,33}$/),
      fc.constantFrom('0', '1', 'true', 'd', ''),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(fc.dictionary(name, value, { maxKeys: 8 }), (headers) => {
        const ctx = parseB3(headers);
        if (ctx === undefined) return;
        expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(ctx.spanId).toMatch(/^[0-9a-f]{16}$/);
        if (ctx.parentId !== undefined) expect(ctx.parentId).toMatch(/^[0-9a-f]{16}$/);
        expect([undefined, true, false]).toContain(ctx.sampled);
      }),
      RUNS,
    );
  });

  it('round-trips any valid context', () => {
    const hex = (n: number) =>
      fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`)).filter((s) => !/^0+$/.test(s));
    const ctx = fc.record(
      { traceId: hex(32), spanId: hex(16), parentId: hex(16), sampled: fc.boolean() },
      { requiredKeys: ['traceId', 'spanId'] },
    );
    fc.assert(
      fc.property(ctx, (c) => {
        expect(parseB3(formatB3(c))).toEqual(c);
      }),
      RUNS,
    );
  });
});
