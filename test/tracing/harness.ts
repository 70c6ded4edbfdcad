/**
 * A hub-like HTTP server made of the tracing pieces, for integration tests and the span bench:
 * embedded Bus, span store, assembler, tracing ingest and the Zipkin router, on loopback.
 *
 * The stand-in auth allows everything; a request may narrow its principal to some projects with
 * `X-Test-Projects: a,b` (and drop scopes with `X-Test-Scopes: read`), to test visibility.
 */
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import { OPEN_PRINCIPAL, type Principal, type Scope } from '../../core/auth.ts';
import { type Clock, systemClock } from '../../core/clock.ts';
import { HubError, toHubError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import { createEmbeddedBus } from '../../pipeline/bus/embedded/embedded-bus.ts';
import { createTracing, type Tracing, type TracingOptions } from '../../tracing/tracing.ts';
import { tempDir } from '../harness.ts';

export type TracingServer = Tracing & {
  url: string;
  dir: string;
  metrics: MetricPoint[];
  /** Resolves once the tracing ingest stored at least `n` spans since start. */
  stored(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
};

export const standInAuth = {
  need: (scope: Scope) => (req: express.Request, res: express.Response, next: express.NextFunction) => {
    const projects = req.headers['x-test-projects'];
    const scopes = req.headers['x-test-scopes'];
    let p: Principal = OPEN_PRINCIPAL;
    if (typeof projects === 'string')
      p = {
        ...p,
        kind: 'token',
        name: 'test',
        allProjects: false,
        projects: new Map(
          projects
            .split(',')
            .filter(Boolean)
            .map((x) => [x, 'editor' as const]),
        ),
      };
    if (typeof scopes === 'string') p = { ...p, scopes: new Set(scopes.split(',') as Scope[]) };
    res.locals['principal'] = p;
    if (!p.scopes.has(scope) && !p.scopes.has('admin'))
      return next(new HubError('FORBIDDEN', `This needs the "${scope}" scope`));
    next();
  },
};

/** The hub's error body, as ui/server.ts writes it. */
export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  const e =
    (err as { type?: string }).type === 'entity.too.large'
      ? new HubError('PAYLOAD_TOO_LARGE', 'Request body over the limit', { where: 'body' })
      : toHubError(err);
  res.status(e.status).json({
    error: { code: e.status, message: e.message, type: e.code, ...(e.where ? { where: e.where } : {}) },
  });
};

export async function startTracingServer(
  over: Partial<Pick<TracingOptions, 'projectOfService' | 'store' | 'assembler'>> & {
    clock?: Clock;
    dataDir?: string;
  } = {},
): Promise<TracingServer> {
  const tmp = over.dataDir ? undefined : await tempDir('obs-tracing-');
  const dir = over.dataDir ?? tmp!.dir;
  const clock = over.clock ?? systemClock;
  const bus = await createEmbeddedBus({ dir: `${dir}/bus`, clock, pollMs: 20 });
  const metrics: MetricPoint[] = [];
  const tracing = await createTracing({
    bus,
    dataDir: dir,
    clock,
    logger: silentLogger,
    auth: standInAuth,
    projectOfService: over.projectOfService ?? (() => undefined),
    onMetrics: (points) => {
      metrics.push(...points);
    },
    ...(over.store ? { store: over.store } : {}),
    ...(over.assembler ? { assembler: over.assembler } : {}),
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(tracing.router);
  app.use(errorHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(tracing, {
    url,
    dir,
    metrics,
    async stored(n: number, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (tracing.ingest.stats().stored < n) {
        if (Date.now() > until) throw new Error(`only ${tracing.ingest.stats().stored} of ${n} spans stored`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tracing.close();
      await bus.close();
      await tmp?.cleanup();
    },
  });
}
