/**
 * The public push API of the demo: `POST /push` with a notification as JSON, on a free loopback
 * port. Each request gets a server span (child of the caller's B3 headers, if any); the
 * notification goes onto the Bus with a producer span whose B3 headers ride on the message.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HubError, toHubError } from '../../core/errors.ts';
import type { Bus } from '../../core/ports.ts';
import { type Notification, Platform } from '../thrift/push-idl.ts';
import { publishTraced } from '../tracer/bus-propagation.ts';
import type { Tracer, TracerSpan } from '../tracer/tracer.ts';

export type PushApiOptions = {
  bus: Pick<Bus, 'publish'>;
  topic: string;
  tracer: Tracer;
  /** Largest body accepted. Default 64 KiB. */
  maxBodyBytes?: number;
};

export type PushApiServer = {
  readonly url: string;
  stats(): { accepted: number; refused: number; failed: number };
  close(): Promise<void>;
};

const PLATFORMS = new Set<number>(Object.values(Platform));

function stringField(
  body: Record<string, unknown>,
  field: string,
  errors: { field: string; message: string }[],
) {
  const v = body[field];
  if (typeof v !== 'string' || v === '')
    errors.push({ field, message: `${field} must be a non-empty string` });
}

/** The notification in a request body, or an `INVALID_INPUT` error naming every bad field. */
export function parseNotification(body: unknown): Notification {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HubError('BAD_REQUEST', 'The body must be a JSON object (a notification)', { where: 'body' });
  const b = body as Record<string, unknown>;
  const errors: { field: string; message: string }[] = [];
  stringField(b, 'app', errors);
  stringField(b, 'deviceToken', errors);
  stringField(b, 'body', errors);
  const platform = b['platform'] ?? Platform.IOS;
  if (typeof platform !== 'number' || !PLATFORMS.has(platform))
    errors.push({ field: 'platform', message: 'platform must be 1 (iOS), 2 (Android) or 3 (web)' });
  if (b['title'] !== undefined && typeof b['title'] !== 'string')
    errors.push({ field: 'title', message: 'title must be a string' });
  if (errors.length > 0)
    throw new HubError('INVALID_INPUT', `Bad notification: ${errors.map((e) => e.message).join('; ')}`, {
      details: errors,
    });
  const n: Notification = {
    app: b['app'] as string,
    deviceToken: b['deviceToken'] as string,
    platform: platform as Platform,
    body: b['body'] as string,
  };
  if (typeof b['title'] === 'string') n.title = b['title'];
  return n;
}

async function readBody(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new HubError('PAYLOAD_TOO_LARGE', `Body over ${max} bytes`, { where: 'body' });
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new HubError('BAD_REQUEST', 'The body is not JSON', { where: 'body', cause: e });
  }
}

function reply(res: ServerResponse, span: TracerSpan, status: number, body: unknown): void {
  span.setTag('http.status_code', status);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Starts the push API on a free port of 127.0.0.1. */
export async function startPushApi(options: PushApiOptions): Promise<PushApiServer> {
  const { tracer, bus, topic } = options;
  const counts = { accepted: 0, refused: 0, failed: 0 };
  const maxBody = options.maxBodyBytes ?? 64 * 1024;

  async function serve(req: IncomingMessage, res: ServerResponse, span: TracerSpan): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/push') {
      counts.refused++;
      return reply(res, span, 404, { error: { message: `No endpoint ${req.method} ${req.url}` } });
    }
    try {
      const n = parseNotification(await readBody(req, maxBody));
      const id = randomUUID();
      span.setTag('push.app', n.app);
      const value = new TextEncoder().encode(JSON.stringify({ id, ...n }));
      await publishTraced(bus, tracer, topic, [{ key: n.deviceToken, value }]);
      counts.accepted++;
      reply(res, span, 202, { id, traceId: span.context.traceId });
    } catch (e) {
      const error = toHubError(e);
      // A refused request is the caller's mistake; only our own failures mark the span failed.
      if (error.status >= 500) {
        counts.failed++;
        span.setError(error);
      } else counts.refused++;
      reply(res, span, error.status, { error: error.toJSON() });
    }
  }

  const server: Server = createServer((req, res) => {
    const span = tracer.startSpan(`${req.method} ${req.url?.split('?')[0]}`, {
      kind: 'server',
      parent: tracer.extract(req.headers) ?? null,
      tags: { 'http.method': req.method ?? '', 'http.path': req.url ?? '' },
      peer: {
        ...(req.socket.remoteAddress ? { ip: req.socket.remoteAddress.replace(/^::ffff:/, '') } : {}),
        ...(req.socket.remotePort ? { port: req.socket.remotePort } : {}),
      },
    });
    void tracer.withSpan(span, () => serve(req, res, span)).finally(() => span.finish());
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    stats: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
