/**
 * The fast path of Zipkin bodies (`zipkin-scan.ts`) against the usual one (`JSON.parse`,
 * `decodeZipkinSpan`, `encodeSpanRecord`): the same spans, rows, summaries, indexes, errors and
 * services for any body, byte for byte in the rows. Fixed seed, bounded runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBody } from './decode-body.ts';
import type { DecodedBatch, DecodeRequest } from './decode-pool.ts';
import { decodeSummaries, hasSummaries } from './span-summaries.ts';
import { decodeSpans, recordWriter, type SpanRecordEncoding, spansJson } from './spans-codec.ts';
import { ZipkinScanner } from './zipkin-scan.ts';

const RUNS = { seed: 20261127, numRuns: 400 };

function request(body: string | Buffer, perRecord: number, encoding: SpanRecordEncoding): DecodeRequest {
  return {
    id: 1,
    format: 'zipkin',
    body: new Uint8Array(Buffer.from(body)),
    perRecord,
    encoding,
    withServices: true,
  };
}

/** Both paths over one body; the fast one's answer is undefined when it leaves the body to the other. */
function both(body: string | Buffer, perRecord = 5000, encoding: SpanRecordEncoding = 'binary') {
  const slow = decodeBody(request(body, perRecord, encoding), false).response;
  const scanner = new ZipkinScanner(recordWriter(encoding));
  const fast = scanner.scan(Buffer.from(body), perRecord, true);
  return { slow, fast, slowSpans: scanner.slowSpans };
}

function expectSame(fast: Omit<DecodedBatch, 'id' | 'ok'>, slow: DecodedBatch): void {
  expect(fast.indexes).toEqual(slow.indexes);
  expect(fast.errors).toEqual(slow.errors);
  expect(fast.count).toBe(slow.count);
  expect(fast.services).toEqual(slow.services);
  expect(fast.records.map((r) => r.key)).toEqual(slow.records.map((r) => r.key));
  for (let i = 0; i < slow.records.length; i++) {
    const f = fast.records[i]!.value;
    const s = slow.records[i]!.value;
    expect(hasSummaries(f)).toBe(hasSummaries(s));
    expect(Buffer.from(spansJson(f)).toString()).toBe(Buffer.from(spansJson(s)).toString());
    expect(decodeSpans(f)).toEqual(decodeSpans(s));
    if (hasSummaries(s)) expect(decodeSummaries(f)).toEqual(decodeSummaries(s));
  }
}

const plain = fc.stringMatching(/^[a-z0-9 ./_-]{0,24}$/);
const word = fc.stringMatching(/^[a-z][a-z0-9._-]{0,15}$/);
const hexId = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{1,${n}}$`));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const endpoint = (service: fc.Arbitrary<string | undefined>) =>
  fc.record({
    serviceName: service,
    ipv4: maybe(fc.ipV4()),
    ipv6: maybe(fc.ipV6()),
    port: maybe(fc.integer({ min: 0, max: 65_535 })),
  });
/** A span as Zipkin's clients write it, every field right. */
const good = fc.record({
  traceId: fc.oneof(hexId(32), hexId(16)),
  id: hexId(16),
  parentId: maybe(fc.oneof(hexId(16), fc.constant('0'))),
  name: maybe(plain),
  kind: maybe(fc.constantFrom('CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER')),
  timestamp: maybe(fc.maxSafeNat()),
  duration: maybe(fc.nat()),
  debug: maybe(fc.boolean()),
  shared: maybe(fc.boolean()),
  localEndpoint: endpoint(word),
  remoteEndpoint: maybe(endpoint(maybe(word))),
  tags: maybe(fc.dictionary(fc.oneof(word, fc.constant('error')), plain, { maxKeys: 5 })),
  annotations: maybe(fc.array(fc.record({ timestamp: fc.maxSafeNat(), value: word }), { maxLength: 3 })),
});
/** Where a span can be given something else, and what. */
const place = fc.constantFrom(
  'traceId',
  'id',
  'parentId',
  'name',
  'kind',
  'timestamp',
  'duration',
  'debug',
  'shared',
  'localEndpoint',
  'remoteEndpoint',
  'tags',
  'annotations',
  'unknownField',
  'localEndpoint.serviceName',
  'localEndpoint.port',
  'remoteEndpoint.port',
  'localEndpoint.ipv4',
  'localEndpoint.other',
  'remoteEndpoint.ipv6',
  'tags.k',
  'tags.1',
  'tags.__proto__',
  'tags.error',
  'annotations.0.value',
  'annotations.0.timestamp',
  'annotations.0.other',
);
const other = fc.oneof(
  fc.jsonValue(),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom(
    null,
    '',
    0,
    -1,
    1.5,
    2 ** 53,
    1e21,
    65_536,
    'client',
    '0000000000000000',
    'ABCDEF',
    'x'.repeat(300),
  ),
);

function put(span: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  let at: Record<string, unknown> = span;
  for (const k of keys.slice(0, -1)) {
    if (at[k] === null || typeof at[k] !== 'object')
      Object.defineProperty(at, k, {
        value: k === 'annotations' ? [{}] : {},
        enumerable: true,
        writable: true,
      });
    at = at[k] as Record<string, unknown>;
  }
  Object.defineProperty(at, keys.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return span;
}

/** Mostly right spans (so most go the fast way), some with something else somewhere, some not spans. */
const span = fc.oneof(
  { weight: 6, arbitrary: good },
  { weight: 3, arbitrary: fc.tuple(good, place, other).map(([s, p, v]) => put(s, p, v)) },
  { weight: 1, arbitrary: fc.jsonValue() },
);
const body = fc.tuple(fc.array(span, { maxLength: 12 }), fc.constantFrom(undefined, 1, '\t'));

describe('the fast path of Zipkin bodies', () => {
  it('answers exactly as the usual path for any array of spans', () => {
    fc.assert(
      fc.property(
        body,
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('binary', 'json'),
        ([spans, indent], perRecord, encoding) => {
          const { slow, fast } = both(
            JSON.stringify(spans, null, indent),
            perRecord,
            encoding as SpanRecordEncoding,
          );
          // A JSON array is always read; the usual path answers the same for it.
          expect(fast).toBeDefined();
          expect(slow.ok).toBe(true);
          if (fast && slow.ok) expectSame(fast, slow);
        },
      ),
      RUNS,
    );
  });

  it('takes the plain spans of a usual client without the usual path, byte for byte', () => {
    const spans = Array.from({ length: 30 }, (_, i) => ({
      traceId: `5AF7183FB1D4CF5F${(i >> 2).toString(16).padStart(4, '0')}`,
      id: (i + 1).toString(16),
      ...(i % 4 ? { parentId: (i & ~3).toString(16).padStart(16, '0') } : {}),
      kind: i % 2 ? 'CLIENT' : 'SERVER',
      name: `get /api/${i % 3}`,
      timestamp: 1_700_000_000_000_000 + i,
      duration: 1000 + i,
      localEndpoint: { serviceName: `svc-${i % 5}`, ipv4: '10.0.0.1', port: 8080 },
      remoteEndpoint: i % 2 ? { serviceName: 'db', ipv6: '::1', port: 5432 } : undefined,
      tags: { 'http.path': `/api/${i}`, ...(i % 7 === 0 ? { error: 'boom' } : {}) },
      annotations: i % 3 ? [] : [{ timestamp: 1_700_000_000_000_100, value: 'ws' }],
      shared: i % 2 === 0 && i % 4 !== 0 ? true : undefined,
      debug: false,
    }));
    for (const text of [JSON.stringify(spans), JSON.stringify(spans, null, 2)]) {
      const { slow, fast, slowSpans } = both(text, 8);
      expect(slowSpans).toBe(0);
      expect(fast!.records).toHaveLength(4);
      if (!slow.ok) throw new Error('refused');
      expectSame(fast!, slow);
      // Without escapes the whole record is the same, string table included.
      expect(fast!.records.map((r) => Buffer.from(r.value))).toEqual(
        slow.records.map((r) => Buffer.from(r.value)),
      );
    }
  });

  it('decodes the usual way a span given a field twice or tags JSON.parse reorders', () => {
    const text =
      '[{"traceId":"a","id":"1","traceId":"b","localEndpoint":{"serviceName":"x","serviceName":"y"}},' +
      '{"traceId":"c","id":"2","localEndpoint":{"serviceName":"z"},"tags":{"k":"1","k":"2","j":"3"}},' +
      // JSON.parse puts keys that are integers first.
      '{"traceId":"d","id":"3","localEndpoint":{"serviceName":"z"},"tags":{"b":"1","10":"2","9":"3"}}]';
    const { slow, fast, slowSpans } = both(text);
    expect(slowSpans).toBe(3);
    if (!slow.ok) throw new Error('refused');
    expectSame(fast!, slow);
    expect(decodeSpans(fast!.records[0]!.value).map((s) => [s.traceId.slice(-1), s.service, s.tags])).toEqual(
      [
        ['b', 'y', {}],
        ['c', 'z', { k: '2', j: '3' }],
        ['d', 'z', { 9: '3', 10: '2', b: '1' }],
      ],
    );
    expect(Buffer.from(spansJson(fast!.records[0]!.value)).toString()).toContain(
      '{"9":"3","10":"2","b":"1"}',
    );
  });

  it('leaves to the usual path a body that is not a JSON array', () => {
    for (const text of ['{"traceId":"a"}', '[{"traceId":"a"', '[{}]x', '[1,]', '[{"a":tru}]', '"[]"']) {
      const { slow, fast } = both(text);
      expect(fast, text).toBeUndefined();
      expect(!slow.ok || slow.errors.some((e) => e.index === -1), text).toBe(true);
    }
    // A blank body is an empty list to the usual path.
    expect(both(' ').fast).toBeUndefined();
    const { fast } = both(' [ ] ');
    expect(fast).toEqual({ records: [], count: 0, indexes: [], errors: [], services: [] });
  });
});
