/**
 * Tracing clients written by others send to the hub, and their traces assemble: the OpenTelemetry
 * JS SDK with its Zipkin exporter and with its OTLP/HTTP (JSON) exporter, and zipkin-js with its
 * HTTP transport, instrumenting a real HTTP call between two services.
 *
 * Needs (devDependencies): @opentelemetry/api 1.9.1, @opentelemetry/sdk-trace-base 2.12.1,
 * @opentelemetry/resources 2.12.1, @opentelemetry/exporter-zipkin 2.12.1,
 * @opentelemetry/exporter-trace-otlp-http 0.223.1, zipkin 0.22.0, zipkin-transport-http 0.22.0,
 * node-fetch 2.7.0 (zipkin-transport-http's peer).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zipkin from 'zipkin';
import transport from 'zipkin-transport-http';
import { startTracingServer, type TracingServer } from './harness.ts';

type Row = {
  spanId: string;
  parentId?: string;
  service: string;
  name: string;
  kind: string;
  depth: number;
  error: boolean;
  shared?: boolean;
};
type ReadModel = {
  traceId: string;
  services: string[];
  orphanCount: number;
  errorCount: number;
  spans: Row[];
};

let hub: TracingServer;
beforeAll(async () => {
  hub = await startTracingServer();
});
afterAll(async () => {
  await hub?.stop();
});

async function readTrace(traceId: string, spans: number): Promise<ReadModel> {
  const until = Date.now() + 20_000;
  for (;;) {
    const r = await fetch(`${hub.url}/api/traces/${traceId}`);
    if (r.status === 200) {
      const body = (await r.json()) as ReadModel;
      if (body.spans.length >= spans) return body;
    }
    if (Date.now() > until) throw new Error(`trace ${traceId} did not reach ${spans} spans`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

async function dependencies(): Promise<
  { parent: string; child: string; callCount: number; errorCount: number }[]
> {
  const r = await fetch(`${hub.url}/api/v2/dependencies?endTs=${Date.now() + 60_000}&lookback=3600000`);
  return r.json() as Promise<{ parent: string; child: string; callCount: number; errorCount: number }[]>;
}

/** Two OpenTelemetry services: frontend serves GET /, calls backend, which fails. */
async function otelTrace(exporterFor: () => SpanExporter, tag: string): Promise<string> {
  const providers = ['frontend', 'backend'].map(
    (service) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': `${tag}-${service}` }),
        spanProcessors: [new SimpleSpanProcessor(exporterFor())],
      }),
  );
  const [front, back] = providers.map((p) => p.getTracer('obs-test', '1.0.0'));
  const root: Span = front!.startSpan('GET /', {
    kind: SpanKind.SERVER,
    attributes: { 'http.method': 'GET' },
  });
  const call = front!.startSpan(
    'GET /api',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'peer.service': `${tag}-backend`, 'net.peer.ip': '127.0.0.2', 'net.peer.port': 8080 },
    },
    trace.setSpan(context.active(), root),
  );
  // What the backend sees: the caller's span context, as propagation would carry it.
  const remote = trace.setSpanContext(context.active(), { ...call.spanContext(), isRemote: true });
  const served = back!.startSpan('GET /api', { kind: SpanKind.SERVER }, remote);
  served.addEvent('cache miss');
  served.setStatus({ code: SpanStatusCode.ERROR, message: 'db down' });
  served.end();
  call.end();
  root.end();
  for (const p of providers) {
    await p.forceFlush();
    await p.shutdown();
  }
  return root.spanContext().traceId;
}

describe('clients written by others', () => {
  it('OpenTelemetry JS SDK with the Zipkin exporter', async () => {
    const traceId = await otelTrace(() => new ZipkinExporter({ url: `${hub.url}/api/v2/spans` }), 'zk');
    const t = await readTrace(traceId, 3);
    expect(t.services).toEqual(['zk-backend', 'zk-frontend']);
    expect(t.orphanCount).toBe(0);
    expect(t.spans.map((s) => [s.service, s.name, s.kind, s.depth])).toEqual([
      ['zk-frontend', 'GET /', 'server', 0],
      ['zk-frontend', 'GET /api', 'client', 1],
      ['zk-backend', 'GET /api', 'server', 2],
    ]);
    expect(t.spans[2]!.error).toBe(true);
    expect(await dependencies()).toEqual(
      expect.arrayContaining([{ parent: 'zk-frontend', child: 'zk-backend', callCount: 1, errorCount: 1 }]),
    );
  });

  it('OpenTelemetry JS SDK with the OTLP/HTTP JSON exporter', async () => {
    const traceId = await otelTrace(() => new OTLPTraceExporter({ url: `${hub.url}/v1/traces` }), 'otlp');
    const t = await readTrace(traceId, 3);
    expect(t.spans.map((s) => [s.service, s.name, s.kind, s.depth])).toEqual([
      ['otlp-frontend', 'GET /', 'server', 0],
      ['otlp-frontend', 'GET /api', 'client', 1],
      ['otlp-backend', 'GET /api', 'server', 2],
    ]);
    const zipkinView = (await (await fetch(`${hub.url}/api/v2/trace/${traceId}`)).json()) as Record<
      string,
      unknown
    >[];
    const client = zipkinView.find((s) => s['kind'] === 'CLIENT')!;
    expect(client['remoteEndpoint']).toEqual({ serviceName: 'otlp-backend', ipv4: '127.0.0.2', port: 8080 });
    const server = zipkinView.find(
      (s) =>
        s['kind'] === 'SERVER' &&
        (s['localEndpoint'] as { serviceName: string }).serviceName === 'otlp-backend',
    )!;
    expect(server['annotations']).toEqual([{ timestamp: expect.any(Number), value: 'cache miss' }]);
    expect(server['tags']).toMatchObject({ error: 'db down' });
    expect(await dependencies()).toEqual(
      expect.arrayContaining([
        { parent: 'otlp-frontend', child: 'otlp-backend', callCount: 1, errorCount: 1 },
      ]),
    );
  });

  describe('zipkin-js with zipkin-transport-http, around a real HTTP call', () => {
    const { Tracer, BatchRecorder, ExplicitContext, jsonEncoder, Instrumentation, option } = zipkin;
    let backend: Server;
    const tracers: { recorder: InstanceType<typeof BatchRecorder> }[] = [];

    function tracerFor(service: string) {
      const recorder = new BatchRecorder({
        logger: new transport.HttpLogger({
          endpoint: `${hub.url}/api/v2/spans`,
          jsonEncoder: jsonEncoder.JSON_V2,
          httpInterval: 50,
        }),
        timeout: 60_000_000,
      });
      tracers.push({ recorder });
      return new Tracer({
        ctxImpl: new ExplicitContext(),
        recorder,
        localServiceName: service,
        traceId128Bit: true,
      });
    }

    beforeAll(async () => {
      const tracer = tracerFor('zjs-backend');
      backend = createServer((req, res) => {
        const port = (backend.address() as AddressInfo).port;
        const http = new Instrumentation.HttpServer({ tracer, port });
        tracer.scoped(() => {
          const id = http.recordRequest(
            req.method ?? 'GET',
            `http://127.0.0.1:${port}${req.url}`,
            (name: string) => {
              const v = req.headers[name.toLowerCase()];
              return (typeof v === 'string' ? new option.Some(v) : option.None) as never;
            },
          );
          res.statusCode = 503;
          res.end('unavailable');
          http.recordResponse(id, '503');
        });
      });
      await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', () => resolve()));
    });
    afterAll(async () => {
      for (const t of tracers) (t.recorder as unknown as { logger: { stop?: () => void } }).logger?.stop?.();
      await new Promise<void>((resolve) => backend?.close(() => resolve()));
    });

    it('frontend calls backend: one shared span id, assembled client over server', async () => {
      const tracer = tracerFor('zjs-frontend');
      const http = new Instrumentation.HttpClient({
        tracer,
        serviceName: 'zjs-frontend',
        remoteServiceName: 'zjs-backend',
      });
      const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/items`;
      let traceId = '';
      await tracer.scoped(async () => {
        const req = http.recordRequest<{ headers: Record<string, string> }>({ headers: {} }, url, 'GET');
        const id = tracer.id;
        traceId = id.traceId;
        const res = await fetch(url, { headers: req.headers });
        await res.text();
        tracer.scoped(() => http.recordResponse(id, String(res.status)));
      });
      const t = await readTrace(traceId.padStart(32, '0'), 2);
      expect(t.spans.map((s) => [s.service, s.kind, s.depth])).toEqual([
        ['zjs-frontend', 'client', 0],
        ['zjs-backend', 'server', 1],
      ]);
      expect(t.spans[0]!.spanId).toBe(t.spans[1]!.spanId);
      expect(t.spans[1]!.shared).toBe(true);
      expect(await dependencies()).toEqual(
        expect.arrayContaining([
          { parent: 'zjs-frontend', child: 'zjs-backend', callCount: 1, errorCount: 1 },
        ]),
      );
    });
  });
});
