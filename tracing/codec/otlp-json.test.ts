import { describe, expect, it } from 'vitest';
import { decodeOtlpTraces, otlpResponse } from './otlp-json.ts';

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

function span(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: TRACE,
    spanId: SPAN,
    parentSpanId: '',
    name: 'GET /users',
    kind: 2,
    startTimeUnixNano: '1544712660000000000',
    endTimeUnixNano: '1544712661000000999',
    attributes: [{ key: 'http.method', value: { stringValue: 'GET' } }],
    status: {},
    ...over,
  };
}

function body(
  spans: unknown[],
  resourceAttrs: unknown[] = [{ key: 'service.name', value: { stringValue: 'users' } }],
) {
  return {
    resourceSpans: [
      { resource: { attributes: resourceAttrs }, scopeSpans: [{ scope: { name: 'lib' }, spans }] },
    ],
  };
}

describe('OTLP/HTTP JSON: decode', () => {
  it('maps a server span', () => {
    const { spans, errors } = decodeOtlpTraces(body([span()]));
    expect(errors).toEqual([]);
    expect(spans[0]).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      name: 'GET /users',
      kind: 'server',
      service: 'users',
      start: 1544712660000000,
      duration: 1000000,
      tags: { 'http.method': 'GET', 'otel.scope.name': 'lib' },
      annotations: [],
      error: false,
    });
  });

  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['kind 1 (internal) is local', { kind: 1 }, { kind: 'local' }],
    ['kind 3 is client', { kind: 3 }, { kind: 'client' }],
    ['kind as an enum name', { kind: 'SPAN_KIND_PRODUCER' }, { kind: 'producer' }],
    ['kind 5 is consumer', { kind: 5 }, { kind: 'consumer' }],
    ['no kind is local', { kind: undefined }, { kind: 'local' }],
    ['upper-case hex ids', { traceId: TRACE.toUpperCase() }, { traceId: TRACE }],
    ['a parent', { parentSpanId: '0102030405060708' }, { parentId: '0102030405060708' }],
    [
      'times as numbers',
      { startTimeUnixNano: 1_000_000, endTimeUnixNano: 3_000_000 },
      { start: 1000, duration: 2000 },
    ],
    [
      'a sub-µs duration rounds up to 1',
      { startTimeUnixNano: '1544712660000000100', endTimeUnixNano: '1544712660000000900' },
      { duration: 1 },
    ],
    [
      'status ERROR with a message',
      { status: { code: 2, message: 'boom' } },
      { error: true, tags: { 'http.method': 'GET', 'otel.scope.name': 'lib', error: 'boom' } },
    ],
    ['status OK', { status: { code: 1 } }, { error: false }],
    [
      'int, bool, double and array attributes',
      {
        attributes: [
          { key: 'http.status_code', value: { intValue: '503' } },
          { key: 'retry', value: { boolValue: true } },
          { key: 'ratio', value: { doubleValue: 0.5 } },
          { key: 'ids', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } } },
        ],
      },
      {
        tags: {
          'http.status_code': '503',
          retry: 'true',
          ratio: '0.5',
          ids: '["a","2"]',
          'otel.scope.name': 'lib',
        },
      },
    ],
    [
      'old peer attributes',
      {
        attributes: [
          { key: 'net.peer.ip', value: { stringValue: '10.1.2.3' } },
          { key: 'net.peer.port', value: { intValue: '5432' } },
          { key: 'peer.service', value: { stringValue: 'postgres' } },
        ],
      },
      { peerIp: '10.1.2.3', peerPort: 5432, remoteService: 'postgres' },
    ],
    [
      'new peer attributes',
      {
        attributes: [
          { key: 'network.peer.address', value: { stringValue: '2001:db8::1' } },
          { key: 'network.peer.port', value: { intValue: 443 } },
        ],
      },
      { peerIp: '2001:db8::1', peerPort: 443 },
    ],
    [
      'server.address that is a host name is only a tag',
      { attributes: [{ key: 'server.address', value: { stringValue: 'db.local' } }] },
      { tags: { 'server.address': 'db.local', 'otel.scope.name': 'lib' } },
    ],
    [
      'events become annotations',
      {
        events: [
          { timeUnixNano: '1544712660500000000', name: 'retry' },
          {
            timeUnixNano: '1544712660600000000',
            name: 'exception',
            attributes: [{ key: 'exception.type', value: { stringValue: 'E' } }],
          },
        ],
      },
      {
        annotations: [
          { ts: 1544712660500000, value: 'retry' },
          { ts: 1544712660600000, value: 'exception {"exception.type":"E"}' },
        ],
      },
    ],
  ];
  it.each(cases)('%s', (_n, over, expected) => {
    const { spans, errors } = decodeOtlpTraces(body([span(over)]));
    expect(errors).toEqual([]);
    expect(spans[0]).toMatchObject(expected);
  });

  it('uses unknown_service without service.name and keeps other resource attributes as tags', () => {
    const { spans } = decodeOtlpTraces(body([span()], [{ key: 'host.name', value: { stringValue: 'n1' } }]));
    expect(spans[0]).toMatchObject({ service: 'unknown_service', tags: { 'host.name': 'n1' } });
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ['a trace id of 8 bytes', { traceId: 'eee19b7ec3c1b174' }, 'traceId'],
    ['an all-zero trace id', { traceId: '0'.repeat(32) }, 'traceId'],
    ['a span id that is base64', { spanId: '7uGbfsPBsXQ=' }, 'spanId'],
    ['a parent id of 4 bytes', { parentSpanId: '01020304' }, 'parentSpanId'],
    ['kind 9', { kind: 9 }, 'kind'],
    ['a start that is not digits', { startTimeUnixNano: '2018-12-13' }, 'startTimeUnixNano'],
    ['an end before the start', { endTimeUnixNano: '1' }, 'endTimeUnixNano'],
    ['an attribute without a key', { attributes: [{ value: { stringValue: 'x' } }] }, 'attributes[0]'],
    [
      'an intValue with letters',
      { attributes: [{ key: 'a', value: { intValue: '12x' } }] },
      'attributes[0].value',
    ],
    ['a status code 7', { status: { code: 7 } }, 'status.code'],
    ['an event without time', { events: [{ name: 'x' }] }, 'events[0].timeUnixNano'],
  ];
  it.each(bad)('refuses %s, naming the field and the path', (_n, over, field) => {
    const { spans, errors } = decodeOtlpTraces(body([span(), span(over)]));
    expect(spans).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ index: 1, field, path: 'resourceSpans[0].scopeSpans[0].spans[1]' });
  });

  it('numbers spans across resources and scopes', () => {
    const b = {
      resourceSpans: [
        { resource: {}, scopeSpans: [{ spans: [span()] }, { spans: [span({ kind: 42 })] }] },
        { resource: {}, scopeSpans: [{ spans: [span(), span({ spanId: 'x' })] }] },
      ],
    };
    const { spans, errors } = decodeOtlpTraces(b);
    expect(spans).toHaveLength(2);
    expect(errors.map((e) => [e.index, e.path])).toEqual([
      [1, 'resourceSpans[0].scopeSpans[1].spans[0]'],
      [3, 'resourceSpans[1].scopeSpans[0].spans[1]'],
    ]);
  });

  it('refuses a body that is not a request', () => {
    expect(decodeOtlpTraces([]).errors[0]).toMatchObject({ index: -1 });
    expect(decodeOtlpTraces({ resourceSpans: 3 }).errors[0]).toMatchObject({ field: 'resourceSpans' });
  });

  it('answers partial success in OTLP shape', () => {
    expect(otlpResponse([])).toEqual({ partialSuccess: {} });
    expect(otlpResponse([{ index: 2, field: 'kind', message: 'bad' }])).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: 'span 2 (kind): bad' },
    });
  });
});
