import { describe, expect, it } from 'vitest';
import type { TraceSpan } from '../model.ts';
import { fullSpan, S, span } from '../store/span-fixtures.ts';
import { packSpans, unpackSpans } from './packed-spans.ts';

describe('packed spans', () => {
  it('unpacks to the spans it packed, every field, ids that are not 16 hex digits included', () => {
    const spans: TraceSpan[] = [
      fullSpan(1, 1, { tags: { a: 'b' }, annotations: [{ ts: 5, value: 'ws' }], spanId: 'ffffffffffffffff' }),
      span(1, 2, { parentId: S(1), kind: 'producer', start: 0, duration: 0, name: '' }),
      span(1, 3, { spanId: 'not-hex', parentId: 'ABCDEF0123456789', kind: 'local', shared: true }),
      span(1, 4, { spanId: '00000000000000000', kind: 'consumer', debug: true, error: true, localPort: 0 }),
    ];
    expect(unpackSpans(packSpans(spans), spans[0]!.traceId)).toEqual(spans);
    expect(unpackSpans(packSpans([]), 'x')).toEqual([]);
  });
});
