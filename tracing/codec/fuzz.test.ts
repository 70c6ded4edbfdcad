/**
 * Properties of every span decoder: any JSON is accepted or refused span by span, with a message,
 * and never throws. Fixed seed, bounded runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeOtlpTraces } from './otlp-json.ts';
import { parseSpanLog } from './span-log.ts';
import { decodeSpans, encodeSpans } from './spans-codec.ts';
import { decodeZipkinSpans } from './zipkin-json.ts';

const RUNS = { seed: 20261126, numRuns: 300 };

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{1,${n}}$`));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Spans that are nearly right, so the fuzzing reaches the deep checks. */
const zipkinish = fc.record(
  {
    traceId: fc.oneof(hex(32), fc.jsonValue()),
    id: fc.oneof(hex(16), fc.jsonValue()),
    parentId: maybe(fc.oneof(hex(16), fc.jsonValue())),
    kind: maybe(fc.constantFrom('CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER', 'x', 3)),
    name: maybe(fc.oneof(fc.string(), fc.jsonValue())),
    timestamp: maybe(fc.oneof(fc.maxSafeNat(), fc.double(), fc.jsonValue())),
    duration: maybe(fc.oneof(fc.maxSafeNat(), fc.integer(), fc.jsonValue())),
    localEndpoint: maybe(
      fc.oneof(fc.record({ serviceName: fc.string(), port: fc.integer() }), fc.jsonValue()),
    ),
    remoteEndpoint: maybe(fc.jsonValue()),
    tags: maybe(fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue())),
    annotations: maybe(
      fc.oneof(fc.array(fc.record({ timestamp: fc.integer(), value: fc.string() })), fc.jsonValue()),
    ),
    shared: maybe(fc.jsonValue()),
  },
  { requiredKeys: [] },
);

const otlpish = fc.record({
  resourceSpans: fc.oneof(
    fc.array(
      fc.record({
        resource: maybe(fc.oneof(fc.record({ attributes: fc.jsonValue() }), fc.jsonValue())),
        scopeSpans: fc.oneof(
          fc.array(
            fc.record({
              spans: fc.oneof(
                fc.array(
                  fc.record(
                    {
                      traceId: fc.oneof(hex(32), fc.jsonValue()),
                      spanId: fc.oneof(hex(16), fc.jsonValue()),
                      kind: fc.oneof(fc.integer({ min: -1, max: 7 }), fc.jsonValue()),
                      startTimeUnixNano: fc.oneof(
                        fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
                        fc.jsonValue(),
                      ),
                      endTimeUnixNano: fc.oneof(
                        fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
                        fc.jsonValue(),
                      ),
                      attributes: fc.oneof(
                        fc.array(fc.record({ key: fc.string(), value: fc.jsonValue() })),
                        fc.jsonValue(),
                      ),
                      events: maybe(fc.jsonValue()),
                      status: maybe(fc.jsonValue()),
                    },
                    { requiredKeys: [] },
                  ),
                ),
                fc.jsonValue(),
              ),
            }),
          ),
          fc.jsonValue(),
        ),
      }),
    ),
    fc.jsonValue(),
  ),
});

function countOtlp(body: unknown): number | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const rs = (body as { resourceSpans?: unknown }).resourceSpans;
  if (!Array.isArray(rs)) return undefined;
  let n = 0;
  for (const r of rs) {
    const scopes = (r as { scopeSpans?: unknown })?.scopeSpans;
    if (!Array.isArray(scopes)) return undefined;
    for (const s of scopes) {
      const spans = (s as { spans?: unknown })?.spans;
      if (!Array.isArray(spans)) return undefined;
      n += spans.length;
    }
  }
  return n;
}

describe('span decoders never throw', () => {
  it('Zipkin: every element is a span or an error with a message', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(fc.oneof(zipkinish, fc.jsonValue())), fc.jsonValue()), (body) => {
        const { spans, errors } = decodeZipkinSpans(body);
        for (const e of errors) expect(e.message.length).toBeGreaterThan(0);
        if (Array.isArray(body)) expect(spans.length + errors.length).toBe(body.length);
        for (const s of spans) expect(decodeSpans(encodeSpans([s]))).toEqual([s]);
      }),
      RUNS,
    );
  });

  it('OTLP: every span is a span or an error with a message', () => {
    fc.assert(
      fc.property(fc.oneof(otlpish, fc.jsonValue()), (body) => {
        const { spans, errors } = decodeOtlpTraces(body);
        for (const e of errors) expect(e.message.length).toBeGreaterThan(0);
        const n = countOtlp(body);
        if (n !== undefined && errors.every((e) => e.index >= 0))
          expect(spans.length + errors.length).toBe(n);
      }),
      RUNS,
    );
  });

  it('span log: any text gives spans and errors, never a throw', () => {
    const lines = fc.array(
      fc.oneof(
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
        zipkinish.map((z) => JSON.stringify(z)),
      ),
    );
    fc.assert(
      fc.property(lines, (ls) => {
        const { spans, errors } = parseSpanLog(ls.join('\n'));
        const nonBlank = ls
          .flatMap((l) => l.split('\n'))
          .filter((l) => l.replace(/\r$/, '').trim() !== '').length;
        expect(spans.length + errors.length).toBe(nonBlank);
        for (const e of errors) expect(e.message.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  it('the bus codec refuses garbage with an error, never a crash', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          decodeSpans(Buffer.from(JSON.stringify(v) ?? 'null'));
        } catch (e) {
          expect((e as Error).name).toBe('HubError');
        }
      }),
      RUNS,
    );
  });
});
