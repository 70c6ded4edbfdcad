import { describe, expect, it } from 'vitest';
import { decodeSpans, encodeSpans, rowRanges } from '../codec/spans-codec.ts';
import type { TraceSpan } from '../model.ts';
import { RecordCache } from './record-cache.ts';
import { S, span, T } from './span-fixtures.ts';

const bytes = (spans: readonly TraceSpan[]) => Buffer.from(encodeSpans(spans));
const always = () => true;

describe('record cache', () => {
  it('finds every row of a record, whatever its strings hold', () => {
    // Strings that end in "],[" or hold `],["` followed by hex, escaped quotes, brackets, non-ASCII.
    const tricky = [
      span(1, 1, { name: 'a],[', tags: { q: '],["abc', 'x"],["f': 'ü],[' } }),
      span(1, 2, { name: '["0"],["1"]', annotations: [{ ts: 5, value: '],["deadbeef' }] }),
      span(2, 1, { service: 'wörker],[' }),
    ];
    const record = bytes(tricky);
    const ranges = rowRanges(record)!;
    expect(ranges.starts).toHaveLength(3);
    const rows = ranges.starts.map((start, i) => record.toString('utf8', start, ranges.ends[i]));
    expect(decodeSpans(`[${rows.join(',')}]`)).toEqual(decodeSpans(record));
    expect(rowRanges(Buffer.from('[]'))).toEqual({ starts: [], ends: [] });
    expect(rowRanges(Buffer.from('{"a":1}'))).toBeUndefined();
  });

  it('gives back the spans of each trace, across records', () => {
    const cache = new RecordCache(1 << 20);
    const first = [span(1, 1), span(1, 2), span(2, 1)];
    const second = [span(3, 1), span(1, 3, { parentId: S(1) })];
    expect(cache.add([bytes(first), bytes(second)], [...first, ...second], always)).toBe(true);
    expect(cache.get(T(1), decodeSpans)).toEqual([first[0], first[1], second[1]]);
    expect(cache.get(T(2), decodeSpans)).toEqual([first[2]]);
    expect(cache.get(T(9), decodeSpans)).toBeUndefined();
    expect(cache.size).toBe(3);
  });

  it('caches nothing when the rows and the spans do not line up', () => {
    const cache = new RecordCache(1 << 20);
    expect(cache.add([bytes([span(1, 1), span(1, 2)])], [span(1, 1)], always)).toBe(false);
    expect(cache.add([Buffer.from('not json')], [span(1, 1)], always)).toBe(false);
    expect(cache.size).toBe(0);
  });

  it('starts caching a trace only at its first span, and drops it with its oldest record', () => {
    const one = bytes([span(1, 1), span(2, 1)]);
    const cache = new RecordCache(one.length + 10);
    // Trace 2 had spans stored before: caching the rest of it would give an incomplete trace.
    cache.add([one], [span(1, 1), span(2, 1)], (id) => id !== T(2));
    expect(cache.has(T(1))).toBe(true);
    expect(cache.has(T(2))).toBe(false);
    // The next record pushes the first out, and trace 1 (partly in it) with it.
    cache.add([bytes([span(1, 2), span(3, 1)])], [span(1, 2), span(3, 1)], (id) => id !== T(1));
    expect(cache.has(T(1))).toBe(false);
    expect(cache.get(T(3), decodeSpans)).toEqual([span(3, 1)]);
    expect(cache.bytes).toBeLessThanOrEqual(one.length + 10);
  });
});
