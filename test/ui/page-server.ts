/**
 * A stand-in for the hub's HTTP server, enough to run the pages without it: the static files,
 * the vendored browser libraries, `/api/query` answered by the hub's real query engine over points
 * held in memory, and socket.io with the live push, with a clock the test drives. Used by the browser tests and the demo server.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { Server } from 'socket.io';
import type { Clock } from '../../core/clock.ts';
import { type MetricPoint, type PointColumns, seriesKey } from '../../core/model.ts';
import type { GrowingSeries, RawSeries } from '../../core/query.ts';
import { evaluateQuery } from '../../pipeline/query/evaluate.ts';
import { parseQueryParams } from '../../pipeline/query/parse.ts';
import { toOpenTsdbResponse } from '../../pipeline/query/response.ts';
import { createLivePush, type LivePush } from '../../ui/live/live-push.ts';
import { pagesRouter } from '../../ui/pages.ts';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** Raw series of one metric, from the canned points, for the real query engine. */
function rawSeries(points: readonly MetricPoint[], metric: string): RawSeries[] {
  const byKey = new Map<string, GrowingSeries>();
  for (const p of [...points].sort((a, b) => a.ts - b.ts)) {
    if (p.metric !== metric) continue;
    const key = seriesKey(p.metric, p.tags);
    const s = byKey.get(key) ?? { metric, tags: p.tags, ts: [], values: [] };
    byKey.set(key, s);
    s.ts.push(p.ts);
    s.values.push(p.value);
  }
  return [...byKey.values()];
}

export type PageServerOptions = {
  /** The points `/api/query` answers from; read at each request. */
  history: () => readonly MetricPoint[];
  /** Where the live push gets its points. */
  subscribe: (listener: (batch: PointColumns) => void) => () => void;
  clock: Clock;
  intervalMs?: number;
  port?: number;
  host?: string;
};

export type PageServer = {
  url: string;
  io: Server;
  /** Every request that reached express, in order, as method and URL. */
  requests: string[];
  close(): Promise<void>;
};

export async function startPageServer(options: PageServerOptions): Promise<PageServer> {
  const requests: string[] = [];
  const app = express();
  app.use((req, _res, next) => {
    requests.push(`${req.method} ${req.originalUrl}`);
    next();
  });
  app.get('/api/session', (_req, res) => {
    res.json({ authRequired: false, principal: null, csrf: null });
  });
  app.get('/api/query', (req, res) => {
    const url = new URL(req.originalUrl, 'http://x');
    try {
      const query = parseQueryParams(url.searchParams, options.clock.now());
      const points = options.history();
      res.json(
        toOpenTsdbResponse(
          evaluateQuery(query, (sub) => rawSeries(points, sub.metric)),
          query,
        ),
      );
    } catch (e) {
      res.status(400).json({ error: { code: 400, message: (e as Error).message } });
    }
  });
  app.use('/vendor/d3', express.static(root('node_modules/d3/dist')));
  app.use('/vendor/socket.io', express.static(root('node_modules/socket.io-client/dist')));
  app.use(pagesRouter(root('ui/public')), express.static(root('ui/public')));

  const http: HttpServer = createServer(app);
  const io = new Server(http, { serveClient: false });
  const push: LivePush = createLivePush({
    io,
    subscribe: options.subscribe,
    clock: options.clock,
    intervalMs: options.intervalMs,
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    io,
    requests,
    async close() {
      push.close();
      await io.close();
    },
  };
}
