import { describe, expect, it } from 'vitest';
import { decodeZipkinSpan, decodeZipkinSpans, toZipkinSpan, type ZipkinSpan } from './zipkin-json.ts';

/** The example span of zipkin2-api.yaml. */
const example: ZipkinSpan = {
  id: '352bff9a74ca9ad2',
  traceId: '5af7183fb1d4cf5f',
  parentId: '6b221d5bc9e6496c',
  name: 'get /api',
  timestamp: 1556604172355737,
  duration: 1431,
  kind: 'SERVER',
  localEndpoint: { serviceName: 'backend', ipv4: '192.168.99.1', port: 3306 },
  remoteEndpoint: { ipv4: '172.19.0.2', port: 58648 },
  tags: { 'http.method': 'GET', 'http.path': '/api' },
};

describe('Zipkin v2 JSON: decode', () => {
  it('maps the example span of zipkin2-api.yaml', () => {
    const r = decodeZipkinSpan(example);
    expect(r).toEqual({
      ok: true,
      span: {
        traceId: '00000000000000005af7183fb1d4cf5f',
        spanId: '352bff9a74ca9ad2',
        parentId: '6b221d5bc9e6496c',
        name: 'get /api',
        kind: 'server',
        service: 'backend',
        start: 1556604172355737,
        duration: 1431,
        localIp: '192.168.99.1',
        localPort: 3306,
        peerIp: '172.19.0.2',
        peerPort: 58648,
        tags: { 'http.method': 'GET', 'http.path': '/api' },
        annotations: [],
        error: false,
      },
    });
  });

  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['no kind is a local span', { kind: undefined }, { kind: 'local' }],
    ['lower-case kind is accepted', { kind: 'client' }, { kind: 'client' }],
    [
      'no timestamp or duration (a late fragment)',
      { timestamp: undefined, duration: undefined },
      { start: 0, duration: 0 },
    ],
    [
      'an ipv6 local endpoint',
      { localEndpoint: { serviceName: 'b', ipv6: '2001:db8::c001' } },
      { localIp: '2001:db8::c001' },
    ],
    ['the remote service name', { remoteEndpoint: { serviceName: 'mysql' } }, { remoteService: 'mysql' }],
    [
      'an error tag marks the span failed',
      { tags: { error: 'timeout' } },
      { error: true, tags: { error: 'timeout' } },
    ],
    [
      'numeric tag values become strings',
      { tags: { 'http.status_code': 200 } },
      { tags: { 'http.status_code': '200' } },
    ],
    ['shared and debug', { shared: true, debug: true }, { shared: true, debug: true }],
    [
      'annotations',
      { annotations: [{ timestamp: 1556604172355800, value: 'ws' }] },
      { annotations: [{ ts: 1556604172355800, value: 'ws' }] },
    ],
    ['a zero port is "unknown"', { remoteEndpoint: { ipv4: '1.2.3.4', port: 0 } }, { peerIp: '1.2.3.4' }],
  ];
  it.each(cases)('%s', (_n, over, expected) => {
    const r = decodeZipkinSpan({ ...example, ...over });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.span).toMatchObject(expected);
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ['a trace id that is not hex', { traceId: 'zz' }, 'traceId'],
    ['a trace id of 33 digits', { traceId: 'a'.repeat(33) }, 'traceId'],
    ['no id', { id: undefined }, 'id'],
    ['a bad parent id', { parentId: 'nope' }, 'parentId'],
    ['an unknown kind', { kind: 'BROKER' }, 'kind'],
    ['a timestamp in ms as a float', { timestamp: 1556604172355.7 }, 'timestamp'],
    ['a negative duration', { duration: -5 }, 'duration'],
    ['no local service', { localEndpoint: { ipv4: '1.2.3.4' } }, 'localEndpoint.serviceName'],
    ['an endpoint that is a string', { remoteEndpoint: 'x' }, 'remoteEndpoint'],
    ['a port too large', { localEndpoint: { serviceName: 'a', port: 70000 } }, 'localEndpoint.port'],
    ['a tag that is an object', { tags: { a: { b: 1 } } }, 'tags.a'],
    ['an annotation without timestamp', { annotations: [{ value: 'x' }] }, 'annotations[0].timestamp'],
    ['shared as a string', { shared: 'true' }, 'shared'],
  ];
  it.each(bad)('refuses %s, naming the field', (_n, over, field) => {
    const r = decodeZipkinSpan({ ...example, ...over });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.field).toBe(field);
  });

  it('keeps the good spans of a batch and reports the bad ones by index', () => {
    const { spans, errors } = decodeZipkinSpans([example, { ...example, id: 'x' }, example, 42]);
    expect(spans).toHaveLength(2);
    expect(errors.map((e) => [e.index, e.field])).toEqual([
      [1, 'id'],
      [3, ''],
    ]);
  });

  it('refuses a body that is not an array', () => {
    expect(decodeZipkinSpans({ spans: [] }).errors[0]).toMatchObject({ index: -1 });
  });
});

describe('Zipkin v2 JSON: encode', () => {
  it('gives back the example span (with the 128-bit trace id)', () => {
    const r = decodeZipkinSpan(example);
    if (!r.ok) throw new Error(r.message);
    expect(toZipkinSpan(r.span)).toEqual({ ...example, traceId: '00000000000000005af7183fb1d4cf5f' });
  });

  it('leaves out a local kind, a zero timestamp, empty tags and annotations', () => {
    const r = decodeZipkinSpan({ traceId: 'a', id: 'b', localEndpoint: { serviceName: 's' } });
    if (!r.ok) throw new Error(r.message);
    expect(toZipkinSpan(r.span)).toEqual({
      traceId: '0000000000000000000000000000000a',
      id: '000000000000000b',
      name: '',
      localEndpoint: { serviceName: 's' },
    });
  });

  it('writes an error without an error tag as tags.error', () => {
    const r = decodeZipkinSpan(example);
    if (!r.ok) throw new Error(r.message);
    expect(toZipkinSpan({ ...r.span, error: true }).tags).toMatchObject({ error: 'true' });
  });
});
