/** The hub's HTTP face: OpenTSDB API, self-monitoring, pages. Routes are added here only. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import type { Clock } from '../core/clock.ts';
import { HubError, toHubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { MetricStore } from '../core/ports.ts';
import type { Ingest } from '../pipeline/ingest.ts';
import type { CardinalityLimiter, RateLimiter } from '../pipeline/limits.ts';
import { createAuthRouter } from './api/auth-routes.ts';
import { createOpenTsdbRouter } from './api/opentsdb.ts';
import type { AuditLog } from './auth/audit-log.ts';
import type { Auth } from './auth/http-auth.ts';
import type { IdentityStore } from './auth/identity-store.ts';
import { pagesRouter } from './pages.ts';
import type { SelfMetrics } from './self-metrics.ts';

export type HttpAppOptions = {
  ingest: Ingest;
  store: MetricStore;
  clock: Clock;
  logger: Logger;
  selfMetrics: SelfMetrics;
  maxTags: number;
  maxBodyBytes: number;
  auth: Auth;
  identities: IdentityStore;
  audit: AuditLog;
  rateLimiter: RateLimiter;
  cardinality: CardinalityLimiter;
  secureCookies: boolean;
  /** The routers of other modules (alert rules, notifications, tracing), mounted behind authentication. */
  routers?: Router[];
  /** Says whether the hub is ready: stores open, ingest running. */
  health: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
};

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** A folder inside an installed package (some packages do not export their package.json). */
function packageDir(name: string, sub: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || !dir.endsWith(name)) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`Cannot find the folder of package ${name}`);
    dir = up;
  }
  return join(dir, sub);
}

export function createHttpApp(options: HttpAppOptions): Express {
  const { selfMetrics, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const route =
        (req.route?.path as string | undefined) ?? (res.statusCode === 404 ? 'unmatched' : req.path);
      selfMetrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      selfMetrics.httpSeconds.observe({ method: req.method, route }, (performance.now() - started) / 1000);
    });
    next();
  });

  app.use(options.auth.authenticate, options.auth.gate);
  app.use(createAuthRouter(options));
  app.use(createOpenTsdbRouter({ ...options, instruments: selfMetrics.instruments }));
  for (const router of options.routers ?? []) app.use(router);
  app.get('/metrics', options.auth.need('read'), async (_req, res) => {
    res.type(selfMetrics.registry.contentType).send(await selfMetrics.registry.metrics());
  });
  app.get('/healthz', async (_req, res) => {
    const h = await options.health();
    res.status(h.ok ? 200 : 503).json({ status: h.ok ? 'ok' : 'unavailable', checks: h.checks });
  });

  app.use('/vendor/d3', express.static(packageDir('d3', 'dist')));
  app.use('/vendor/socket.io', express.static(packageDir('socket.io-client', 'dist')));
  app.use(pagesRouter(join(here, 'public')), express.static(join(here, 'public')));

  app.use('/api', (req, _res, next) => {
    next(new HubError('NOT_FOUND', `No endpoint ${req.method} ${req.originalUrl}`, { where: req.path }));
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const e =
      (err as { type?: string }).type === 'entity.too.large'
        ? new HubError('PAYLOAD_TOO_LARGE', `Request body over the limit of ${options.maxBodyBytes} bytes`, {
            where: 'body',
          })
        : toHubError(err);
    if (e.status >= 500) logger.error('request failed', { method: req.method, path: req.path, err: e });
    // A failure that may pass later (the bus or a store is down) is a 503 with Retry-After, so
    // agents and OpenTSDB clients send again instead of giving up.
    const status = e.status === 500 && e.canRetry ? 503 : e.status;
    if (status === 503) res.set('retry-after', '1');
    res.status(status).json({
      error: { code: status, message: e.message, type: e.code, ...(e.where ? { where: e.where } : {}) },
    });
  };
  app.use(onError);
  return app;
}

export type RouteInfo = { method: string; path: string };

type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };

/** Every route registered on the app (nested routers included), for the access test that walks them all. */
export function listRoutes(app: Express): RouteInfo[] {
  const out: RouteInfo[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods))
          if (on && method !== '_all') out.push({ method: method.toUpperCase(), path: layer.route.path });
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}
