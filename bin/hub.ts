/** The composition root: builds the hub from its config, plugging in the embedded defaults. */
import { createServer, type Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { Server as SocketServer } from 'socket.io';
import { createHostSource } from '../collector/host/host-source.ts';
import { startLocalAgent } from '../collector/local-agent.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { createEmbeddedBus } from '../pipeline/bus/embedded/embedded-bus.ts';
import { createIngest, type Ingest } from '../pipeline/ingest.ts';
import {
  createEmbeddedMetricStore,
  type EmbeddedMetricStore,
} from '../pipeline/store/embedded/embedded-metric-store.ts';
import { createTelnetServer } from '../pipeline/telnet-server.ts';
import { OPENTSDB_VERSION } from '../ui/api/opentsdb.ts';
import { createLivePush } from '../ui/live/live-push.ts';
import { createSelfMetrics } from '../ui/self-metrics.ts';
import { createHttpApp } from '../ui/server.ts';

export type Hub = {
  url: string;
  httpPort: number;
  telnetPort: number;
  store: EmbeddedMetricStore;
  ingest: Ingest;
  http: HttpServer;
  close(): Promise<void>;
};

export type HubDeps = { logger: Logger; clock?: Clock };

export async function startHub(config: HubConfig, deps: HubDeps): Promise<Hub> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const selfMetrics = createSelfMetrics();
  const { instruments } = selfMetrics;
  const bus = await createEmbeddedBus({
    dir: join(config.dataDir, 'bus'),
    segmentBytes: config.bus.segmentBytes,
    retentionBytes: config.bus.retentionBytes,
    retentionAgeMs: config.bus.retentionAge,
    clock,
    logger: logger.child({ component: 'bus' }),
  });
  const store = await createEmbeddedMetricStore({
    dataDir: join(config.dataDir, 'metrics'),
    clock,
    logger: logger.child({ component: 'metric-store' }),
    hotWindowMs: config.store.hotWindow,
    rawRetentionMs: config.store.rawRetention,
    rollup1mRetentionMs: config.store.rollup1mRetention,
    rollup1hRetentionMs: config.store.rollup1hRetention,
    maintenanceIntervalMs: config.store.maintenanceInterval,
  });
  selfMetrics.watch(bus, store);
  const ingest = createIngest({ bus, store, logger: logger.child({ component: 'ingest' }), instruments });
  await ingest.start();

  const app = createHttpApp({
    ingest,
    store,
    clock,
    logger,
    selfMetrics,
    maxTags: config.maxTags,
    maxBodyBytes: config.maxBodyBytes,
    health: async () => ({ ok: true, checks: { bus: 'ok', store: 'ok', ingest: 'running' } }),
  });
  const http = createServer(app);
  http.keepAliveTimeout = 65_000;
  http.requestTimeout = 120_000;
  const io = new SocketServer(http, { serveClient: true });
  const live = createLivePush({ io, subscribe: (l) => ingest.onStored(l), clock });

  const telnet = createTelnetServer({
    ingest,
    logger: logger.child({ component: 'telnet' }),
    instruments,
    maxTags: config.maxTags,
    version: OPENTSDB_VERSION,
  });
  const httpPort = await new Promise<number>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      const addr = http.address();
      resolve(typeof addr === 'object' && addr ? addr.port : config.port);
    });
  });
  const telnetPort = await telnet.listen(config.telnetPort, config.host);

  const agent = config.agent.enabled
    ? startLocalAgent({
        samplers: [createHostSource({ tags: config.agent.tags })],
        publish: (points) => ingest.publish(points, 'agent'),
        clock,
        logger: logger.child({ component: 'agent' }),
        intervalMs: config.agent.interval,
      })
    : undefined;

  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${httpPort}/`;
  return {
    url,
    httpPort,
    telnetPort,
    store,
    ingest,
    http,
    async close() {
      agent?.stop();
      live.close();
      await telnet.close();
      io.close();
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
      await ingest.stop();
      await bus.close();
      await store.close();
    },
  };
}
