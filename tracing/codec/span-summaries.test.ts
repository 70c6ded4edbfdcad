import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import type { TraceSpan } from '../model.ts';
import { fullSpan, S, span, US } from '../store/span-fixtures.ts';
import { hasSummaries, summaryRowRanges } from './span-summaries.ts';
import {
  decodeSpans,
  decodeSpansLight,
  encodeSpanRecord,
  encodeSpans,
  rowRanges,
  spansJson,
} from './spans-codec.ts';

/** Every optional field, non-ASCII text, escapes, extremes of the numbers, ids repeated and not. */
const SPANS: TraceSpan[] = [
  fullSpan(1, 1, {
    tags: { 'sql.query': 'select "x" from \\t', ü: 'ü 😀 \u2028 \n' },
    annotations: [{ ts: US + 5, value: 'ws],["ab' }],
  }),
  span(1, 2, { parentId: S(1), kind: 'local', start: 0, duration: 0, name: '' }),
  span(2, 3, {
    kind: 'producer',
    start: Number.MAX_SAFE_INTEGER,
    name: 'send\u0000\u001f',
    service: 'wörker',
  }),
  span(1, 4, { kind: 'consumer', localIp: '10.0.0.1', remoteService: 'kafka', error: true, shared: true }),
];

/** What a summary keeps of a span. */
function summaryOf(s: TraceSpan): TraceSpan {
  const { tags: _t, annotations: _a, peerIp: _p, peerPort: _pp, localPort: _lp, ...rest } = s;
  return { ...rest, tags: {}, annotations: [] };
}

describe('spans bus record, version 2', () => {
  const record = encodeSpanRecord(SPANS, 'binary');

  it('holds the version-1 JSON unchanged, so DuckDB and any JSON reader take it as before', () => {
    expect(hasSummaries(record)).toBe(true);
    expect(Buffer.from(spansJson(record))).toEqual(Buffer.from(encodeSpans(SPANS)));
    expect(decodeSpans(record)).toEqual(SPANS);
    expect(hasSummaries(encodeSpanRecord(SPANS, 'json'))).toBe(false);
  });

  it('gives the consumer every field the assembler and the index use, without the JSON', () => {
    const light = decodeSpansLight(record);
    expect(light).toEqual(SPANS.map(summaryOf));
    // A version-1 record still decodes whole.
    expect(decodeSpansLight(encodeSpans(SPANS))).toEqual(SPANS);
    // Tags and annotations of summaries are shared and frozen: nothing can write into them.
    expect(Object.isFrozen(light[0]!.tags)).toBe(true);
    expect(Object.isFrozen(light[0]!.annotations)).toBe(true);
  });

  it('says where each row is, in bytes, non-ASCII text included', () => {
    const json = spansJson(record);
    expect(summaryRowRanges(record)).toEqual(rowRanges(json));
    const { starts, ends } = summaryRowRanges(record);
    const rows = starts.map((start, i) => Buffer.from(json).toString('utf8', start, ends[i]));
    expect(decodeSpans(`[${rows.join(',')}]`)).toEqual(SPANS);
  });

  it('writes records of any size, non-ASCII text included', () => {
    // Thousands of spans of non-ASCII text: each record far past the encoder's scratch space so
    // far, in either version.
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        fullSpan(1 + (i % 7), i + 1, { tags: { note: `ü😀 ${'x'.repeat(i % 300)}` } }),
      );
    for (const [encoding, n] of [
      ['json', 1500],
      ['binary', 3000],
      ['json', 6000],
    ] as const) {
      const spans = many(n);
      const record = encodeSpanRecord(spans, encoding);
      expect(spansJson(record).length).toBeGreaterThan(n * 300);
      expect(decodeSpans(record)).toEqual(spans);
    }
    expect(decodeSpansLight(encodeSpanRecord(many(3000), 'binary'))).toEqual(many(3000).map(summaryOf));
    // A small record after a large one is not left with the large one's bytes.
    expect(decodeSpans(encodeSpanRecord(SPANS, 'binary'))).toEqual(SPANS);
    expect(decodeSpans(encodeSpans(SPANS))).toEqual(SPANS);
  });

  it('encodes an empty batch', () => {
    const empty = encodeSpanRecord([], 'binary');
    expect(decodeSpansLight(empty)).toEqual([]);
    expect(decodeSpans(empty)).toEqual([]);
  });

  it('refuses a damaged record with an error that says so', () => {
    const bytes = Buffer.from(record);
    const cut = bytes.subarray(0, bytes.length - 3);
    expect(() => decodeSpansLight(cut)).toThrow(HubError);
    expect(() => decodeSpansLight(cut)).toThrow(/version-2 spans record is damaged: 4 summaries/);
    expect(() => decodeSpans(cut)).toThrow(/damaged/);
    // A string number past the end of the table.
    const badIndex = Buffer.from(bytes);
    const json = spansJson(record).length;
    const tableBytes = badIndex.readUInt32LE(5 + json + 4);
    badIndex.writeInt32LE(9999, 5 + json + 8 + tableBytes + 4);
    expect(() => decodeSpansLight(badIndex)).toThrow(/string 9999 is missing/);
  });
});
