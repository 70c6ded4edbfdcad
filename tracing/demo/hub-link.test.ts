import { describe, expect, it } from 'vitest';
import type { Span } from '../../core/model.ts';
import { toZipkinSpan } from '../codec/zipkin-json.ts';
import { createInMemoryExporter } from '../tracer/in-memory-exporter.ts';
import { hubBase, hubPages, hubRefusal, withBroker } from './hub-link.ts';

describe('hub URLs', () => {
  it.each([
    ['http://127.0.0.1:7070', 'http://127.0.0.1:7070/'],
    ['http://hub:7070/obs', 'http://hub:7070/obs/'],
    ['https://hub/obs/?x=1#top', 'https://hub/obs/'],
  ])('%s → %s', (url, base) => {
    expect(hubBase(url)).toBe(base);
  });

  it('points at the pages under a hub behind a path', () => {
    expect(hubPages('http://hub/obs')).toEqual({
      traces: 'http://hub/obs/traces.html?service=pushapi',
      serviceMap: 'http://hub/obs/service-map.html',
      spans: 'http://hub/obs/api/v2/spans',
      dependencies: 'http://hub/obs/api/v2/dependencies',
    });
  });

  it.each([
    [401, 'UNAUTHORIZED', /obs tokens create demo --scope ingest/],
    [403, 'FORBIDDEN', /needs the ingest scope/],
    [500, 'UPSTREAM_FAILED', /answered 500: boom/],
  ])('explains a %s', (status, code, message) => {
    const e = hubRefusal('http://hub/', status, 'boom');
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });
});

const span = (kind: Span['kind']): Span => ({
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  name: 'x',
  kind,
  service: 'pushapi',
  start: 1,
  duration: 1,
  tags: {},
  annotations: [],
  error: false,
});

describe('withBroker', () => {
  it('names the broker as remote service of messaging spans only', async () => {
    const inner = createInMemoryExporter();
    await withBroker(inner, 'obs-bus').export(
      ['producer', 'consumer', 'server', 'client'].map((k) => span(k as Span['kind'])),
    );
    const remote = inner.finishedSpans().map((s) => toZipkinSpan(s).remoteEndpoint?.serviceName);
    expect(remote).toEqual(['obs-bus', 'obs-bus', undefined, undefined]);
  });
});
