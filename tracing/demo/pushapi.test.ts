import { afterEach, describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import type { BusMessage } from '../../core/ports.ts';
import { createInMemoryExporter } from '../tracer/in-memory-exporter.ts';
import { createTracer } from '../tracer/tracer.ts';
import { type PushApiServer, parseNotification, startPushApi } from './pushapi.ts';

describe('parseNotification', () => {
  it.each([
    [
      { app: '/shop/web', deviceToken: 'dev-1', body: 'hi' },
      { app: '/shop/web', deviceToken: 'dev-1', platform: 1, body: 'hi' },
    ],
    [
      { app: 'a', deviceToken: 'd', body: 'b', platform: 3, title: 'T', extra: 1 },
      { app: 'a', deviceToken: 'd', body: 'b', platform: 3, title: 'T' },
    ],
  ])('takes %j', (body, expected) => {
    expect(parseNotification(body)).toEqual(expected);
  });

  it.each([
    [{ deviceToken: 'd', body: 'b' }, ['app']],
    [{ app: 'a', deviceToken: '', body: 7 }, ['deviceToken', 'body']],
    [{ app: 'a', deviceToken: 'd', body: 'b', platform: 9, title: 1 }, ['platform', 'title']],
  ])('names every bad field of %j', (body, fields) => {
    let error: HubError | undefined;
    try {
      parseNotification(body);
    } catch (e) {
      error = e as HubError;
    }
    expect(error?.code).toBe('INVALID_INPUT');
    expect(error?.details?.map((d) => d.field)).toEqual(fields);
  });

  it.each([null, [], 'text', 3])('refuses a body that is not an object: %j', (body) => {
    expect(() => parseNotification(body)).toThrow(/must be a JSON object/);
  });
});

describe('push API over HTTP', () => {
  let api: PushApiServer | undefined;
  afterEach(() => api?.close());

  async function start(publish: (topic: string, m: BusMessage[]) => Promise<void>) {
    const exporter = createInMemoryExporter();
    const tracer = createTracer({ service: 'pushapi', exporter });
    api = await startPushApi({ bus: { publish }, topic: 'push.t', tracer });
    return { api, spans: () => exporter.finishedSpans() };
  }

  const post = (url: string, body: string, headers: Record<string, string> = {}) =>
    fetch(new URL('push', url), {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it('publishes the notification with the B3 headers of its producer span, in the caller’s trace', async () => {
    const published: BusMessage[] = [];
    const { api, spans } = await start(async (_t, m) => {
      published.push(...m);
    });
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await post(api.url, JSON.stringify({ app: 'a', deviceToken: 'dev-1', body: 'hi' }), {
      'X-B3-TraceId': traceId,
      'X-B3-SpanId': 'b7ad6b7169203331',
      'X-B3-Sampled': '1',
    });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { traceId: string }).traceId).toBe(traceId);
    expect(published).toHaveLength(1);
    const [server, producer] = [
      spans().find((s) => s.kind === 'server')!,
      spans().find((s) => s.kind === 'producer')!,
    ];
    expect(server).toMatchObject({ traceId, parentId: 'b7ad6b7169203331', name: 'POST /push', error: false });
    expect(server.tags['http.status_code']).toBe('202');
    expect(producer).toMatchObject({ traceId, parentId: server.spanId });
    expect(published[0]!.headers).toMatchObject({ 'X-B3-TraceId': traceId, 'X-B3-SpanId': producer.spanId });
    expect(published[0]!.key).toBe('dev-1');
  });

  it('answers 422 with the bad fields, and 503 with a failed span when the bus fails', async () => {
    let fail = false;
    const { api, spans } = await start(async () => {
      if (fail) throw new HubError('UNAVAILABLE', 'bus closed');
    });
    const bad = await post(api.url, JSON.stringify({ app: 'a' }));
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ error: { code: 'INVALID_INPUT' } });
    fail = true;
    const down = await post(api.url, JSON.stringify({ app: 'a', deviceToken: 'd', body: 'b' }));
    expect(down.status).toBe(503);
    const servers = spans().filter((s) => s.kind === 'server');
    expect(servers.map((s) => [s.tags['http.status_code'], s.error])).toEqual([
      ['422', false],
      ['503', true],
    ]);
    expect(api.stats()).toEqual({ accepted: 0, refused: 1, failed: 1 });
  });
});
