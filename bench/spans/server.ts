/**
 * The hub's tracing pieces as a server of their own, for `npm run bench:spans`: embedded Bus,
 * span store, assembler, tracing ingest and the Zipkin router, open to loopback callers.
 * Prints `listening <url>` once it accepts requests; stops on SIGTERM.
 *
 *   tsx bench/spans/server.ts --data-dir DIR [--port 0]
 */
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import express, { type ErrorRequestHandler } from 'express';
import { OPEN_PRINCIPAL } from '../../core/auth.ts';
import { systemClock } from '../../core/clock.ts';
import { toHubError } from '../../core/errors.ts';
import { createLogger } from '../../core/logger.ts';
import { createEmbeddedBus } from '../../pipeline/bus/embedded/embedded-bus.ts';
import { createTracing } from '../../tracing/tracing.ts';

const { values } = parseArgs({
  options: { 'data-dir': { type: 'string' }, port: { type: 'string', default: '0' } },
  strict: true,
});
const dataDir = values['data-dir'];
if (!dataDir) {
  process.stderr.write('usage: tsx bench/spans/server.ts --data-dir DIR [--port N]\n');
  process.exit(2);
}

const logger = createLogger({ level: 'warn' });
const bus = await createEmbeddedBus({ dir: `${dataDir}/bus`, clock: systemClock, logger });
const tracing = await createTracing({
  bus,
  dataDir,
  clock: systemClock,
  logger,
  auth: {
    need: () => (_req, res, next) => {
      res.locals['principal'] = OPEN_PRINCIPAL;
      next();
    },
  },
  projectOfService: () => undefined,
});
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(tracing.router);
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
app.get('/bench/stats', (_req, res) => {
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  res.json({
    ...tracing.ingest.stats(),
    ...tracing.assembler.stats(),
    eventLoopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
  });
  loop.reset();
});
const onError: ErrorRequestHandler = (err, _req, res, _next) => {
  const e = toHubError(err);
  res.status(e.status).json({ error: { code: e.status, message: e.message, type: e.code } });
};
app.use(onError);
const server = app.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
server.keepAliveTimeout = 65_000;

process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(async () => {
    await tracing.close();
    await bus.close();
    process.exit(0);
  });
});
