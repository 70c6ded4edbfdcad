/** Spans for the span store's tests: trace `t`, span `s`, starting `s` µs after 2026-01-01. */
import type { TraceSpan } from '../model.ts';

export const US = Date.UTC(2026, 0, 1) * 1000;
export const T = (n: number) => n.toString(16).padStart(32, '0');
export const S = (n: number) => n.toString(16).padStart(16, '0');

export function span(t: number, s: number, over: Partial<TraceSpan> = {}): TraceSpan {
  return {
    traceId: T(t),
    spanId: S(s),
    name: 'get',
    kind: 'server',
    service: 'api',
    start: US + s,
    duration: 100,
    tags: {},
    annotations: [],
    error: false,
    ...over,
  };
}

/** A client span with every optional field set (tags and annotations come with `over`). */
export function fullSpan(t: number, s: number, over: Partial<TraceSpan> = {}): TraceSpan {
  return span(t, s, {
    parentId: S(9),
    kind: 'client',
    localIp: '10.0.0.1',
    localPort: 8080,
    peerIp: '::1',
    peerPort: 5432,
    remoteService: 'db',
    error: true,
    shared: true,
    debug: true,
    ...over,
  });
}
