import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { HubError } from '../../core/errors.ts';
import type { Span } from '../../core/model.ts';
import { decodeZipkinSpans } from '../codec/zipkin-json.ts';
import {
  createZipkinHttpExporter,
  type ZipkinHttpExporterOptions,
  zipkinEndpoint,
} from './zipkin-http-exporter.ts';

const T0 = Date.UTC(2026, 0, 1) * 1000;

const span = (i: number): Span => ({
  traceId: 'a'.repeat(31) + (i % 10),
  spanId: i.toString(16).padStart(16, '0'),
  name: `op-${i}`,
  kind: 'server',
  service: 'svc',
  start: T0 + i,
  duration: 10 + i,
  localIp: '10.0.0.1',
  peerIp: '10.0.0.2',
  peerPort: 9000,
  tags: { k: String(i) },
  annotations: [],
  error: false,
});

type Collector = {
  url: string;
  posts: { path: string; body: unknown; type: string | undefined }[];
  respond: (req: IncomingMessage, res: ServerResponse) => void;
};

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function collector(): Promise<Collector> {
  const c: Collector = {
    url: '',
    posts: [],
    respond: (_req, res) => {
      res.writeHead(202).end();
    },
  };
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      c.posts.push({ path: req.url ?? '', body: JSON.parse(text), type: req.headers['content-type'] });
      c.respond(req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  c.url = `http://127.0.0.1:${address.port}`;
  return c;
}

function exporter(c: Collector, options: Partial<ZipkinHttpExporterOptions> = {}) {
  const clock = new FakeClock();
  const errors: HubError[] = [];
  const e = createZipkinHttpExporter({ url: c.url, clock, onError: (err) => errors.push(err), ...options });
  return { clock, errors, e };
}

describe('Zipkin HTTP exporter', () => {
  it('posts Zipkin v2 JSON to /api/v2/spans in batches', async () => {
    const c = await collector();
    const { clock, e } = exporter(c, { maxBatchSize: 3, flushIntervalMs: 500 });
    for (let i = 0; i < 7; i++) expect(await e.export([span(i)])).toEqual({ code: 'success' });
    await vi.waitFor(() => expect(c.posts).toHaveLength(2));
    expect(c.posts.map((p) => (p.body as unknown[]).length)).toEqual([3, 3]);
    clock.advance(499);
    await new Promise((r) => setTimeout(r, 20));
    expect(c.posts).toHaveLength(2);
    clock.advance(1);
    await vi.waitFor(() => expect(c.posts).toHaveLength(3));
    expect(c.posts.every((p) => p.path === '/api/v2/spans' && p.type === 'application/json')).toBe(true);

    const decoded = decodeZipkinSpans(c.posts.flatMap((p) => p.body as unknown[]));
    expect(decoded.errors).toEqual([]);
    expect(
      decoded.spans.map(({ traceId, spanId, name, kind, start, duration, peerPort, tags }) => ({
        traceId,
        spanId,
        name,
        kind,
        start,
        duration,
        peerPort,
        tags,
      })),
    ).toEqual(
      Array.from({ length: 7 }, (_, i) => {
        const { traceId, spanId, name, kind, start, duration, peerPort, tags } = span(i);
        return { traceId, spanId, name, kind, start, duration, peerPort, tags };
      }),
    );
    expect(e.stats()).toEqual({ queued: 0, sent: 7, dropped: 0, failed: 0 });
  });

  it('drops and counts spans beyond the queue bound', async () => {
    const c = await collector();
    const { e } = exporter(c, { maxQueueSize: 5, maxBatchSize: 100 });
    const result = await e.export(Array.from({ length: 8 }, (_, i) => span(i)));
    expect(result).toMatchObject({ code: 'failed', error: { code: 'RATE_LIMITED' } });
    expect(e.stats()).toMatchObject({ queued: 5, dropped: 3 });
    expect(await e.flush()).toEqual({ code: 'success' });
    expect((c.posts[0]!.body as unknown[]).length).toBe(5);
    expect(e.stats()).toEqual({ queued: 0, sent: 5, dropped: 3, failed: 0 });
  });

  it('reports a refused post to the error handler and counts the spans lost', async () => {
    const c = await collector();
    c.respond = (_req, res) => res.writeHead(503).end('overloaded');
    const { e, errors } = exporter(c);
    expect(await e.export([span(1), span(2)])).toEqual({ code: 'success' });
    const result = await e.flush();
    expect(result).toMatchObject({ code: 'failed', error: { code: 'UNAVAILABLE', canRetry: true } });
    expect(errors.map((x) => x.message)).toEqual([`POST ${c.url}/api/v2/spans answered 503: overloaded`]);
    expect(e.stats()).toMatchObject({ sent: 0, failed: 2 });
  });

  it('reports an unreachable collector and a post that times out', async () => {
    const c = await collector();
    const gone = exporter({ ...c, url: 'http://127.0.0.1:1' });
    await gone.e.export([span(1)]);
    expect(await gone.e.flush()).toMatchObject({ code: 'failed', error: { code: 'UNAVAILABLE' } });
    expect(gone.errors).toHaveLength(1);

    c.respond = () => {};
    const slow = exporter(c, { timeoutMs: 2000 });
    await slow.e.export([span(1)]);
    const flushed = slow.e.flush();
    await vi.waitFor(() => expect(c.posts).toHaveLength(1));
    slow.clock.advance(2000);
    expect(await flushed).toMatchObject({ code: 'failed', error: { code: 'TIMEOUT' } });
  });

  it('flushes on shutdown and refuses spans afterwards', async () => {
    const c = await collector();
    const { e } = exporter(c);
    await e.export([span(1)]);
    await e.shutdown();
    expect(c.posts).toHaveLength(1);
    expect(await e.export([span(2)])).toMatchObject({ code: 'failed', error: { code: 'UNAVAILABLE' } });
  });

  it('keeps a collector path that is given', () => {
    expect(zipkinEndpoint('http://hub:9411')).toBe('http://hub:9411/api/v2/spans');
    expect(zipkinEndpoint('http://hub/zipkin/api/v2/spans')).toBe('http://hub/zipkin/api/v2/spans');
  });
});
