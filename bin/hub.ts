/** The composition root: builds the hub from its config, plugging in the embedded defaults. */
import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Server as SocketServer } from 'socket.io';
import { type RuleEngine, startRuleEngine } from '../alerting/engine/engine.ts';
import { createHubNotifications } from '../alerting/notify/index.ts';
import { startLocalAgent } from '../collector/local-agent.ts';
import { canAccessProject, hasScope, OPEN_PRINCIPAL } from '../core/auth.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { soleLeadership } from '../core/ports.ts';
import { createIngest, type Ingest } from '../pipeline/ingest.ts';
import { createCardinalityLimiter, createRateLimiter } from '../pipeline/limits.ts';
import { createLogs } from '../pipeline/logs/logs.ts';
import { createTelnetServer } from '../pipeline/telnet-server.ts';
import type { Platform } from '../platform/service.ts';
import { createTracing, spanStoreOptions } from '../tracing/tracing.ts';
import { createNotifyRouter } from '../ui/api/notify-routes.ts';
import { OPENTSDB_VERSION } from '../ui/api/opentsdb.ts';
import { createPlatformRouter } from '../ui/api/platform-routes.ts';
import { createRuleRouter } from '../ui/api/rule-routes.ts';
import { openAuditLog } from '../ui/auth/audit-log.ts';
import { createAuth } from '../ui/auth/http-auth.ts';
import { openIdentityStore } from '../ui/auth/identity-store.ts';
import { createLivePush } from '../ui/live/live-push.ts';
import { createProjectPush } from '../ui/live/project-push.ts';
import { createSelfMetrics } from '../ui/self-metrics.ts';
import { createHttpApp, listRoutes, type RouteInfo } from '../ui/server.ts';
import { nodeSamplers } from './agent.ts';
import { type HubMetricStore, openEngines } from './hub-engines.ts';
import { openPlatform } from './hub-platform.ts';

export type Hub = {
  url: string;
  httpPort: number;
  telnetPort: number;
  store: HubMetricStore;
  ingest: Ingest;
  http: HttpServer;
  /** The socket.io server, for the test that walks every socket event's access control. */
  io: SocketServer;
  /** Every HTTP route, for the test that checks each one's access control. */
  routes: RouteInfo[];
  rules: RuleEngine;
  /** Apps, health, capacity advice, scaling decisions. */
  platform: Platform;
  /** Whether callers must authenticate (false: a loopback hub without users, open to this machine). */
  authRequired: () => boolean;
  close(): Promise<void>;
};

export type HubDeps = { logger: Logger; clock?: Clock };

/** The series the store holds, for the cardinality limit; a store that cannot list them starts from none. */
async function knownSeries(store: HubMetricStore, logger: Logger) {
  try {
    return await store.lookup('*', {}, Number.MAX_SAFE_INTEGER);
  } catch (e) {
    logger.warn('the metric store cannot list its series; series limits count from now', { err: e });
    return [];
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

export function identitiesPath(dataDir: string): string {
  return join(dataDir, 'auth', 'identities.json');
}

export function auditPath(dataDir: string): string {
  return join(dataDir, 'audit', 'audit.log');
}

export async function startHub(config: HubConfig, deps: HubDeps): Promise<Hub> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const identities = await openIdentityStore({ path: identitiesPath(config.dataDir), clock });
  const audit = await openAuditLog({ path: auditPath(config.dataDir), clock });
  if (!isLoopback(config.host) && !identities.configured())
    throw new HubError(
      'INVALID_CONFIG',
      `Refusing to listen on ${config.host} without authentication: anyone who reaches it could read and change everything. ` +
        `Create an admin first (obs users add NAME --admin --data-dir ${config.dataDir}), or bind to 127.0.0.1.`,
      { where: 'host' },
    );
  const auth = createAuth({ identities, clock, audit, alwaysRequired: config.auth.required });
  if (!auth.required())
    logger.warn(
      'no users configured: anyone who reaches this loopback hub may read and write (create one with obs users add)',
    );
  const selfMetrics = createSelfMetrics();
  const { instruments } = selfMetrics;
  const { bus, store, keyBuckets, groups, recordEncoding, pointsEncoding } = await openEngines(
    config,
    clock,
    logger,
  );
  selfMetrics.watch(bus, store);
  // Hubs sharing a Kafka broker elect one to run the alert rules' notifications and the platform's
  // scaling; a hub on the embedded bus is alone and always leads.
  const leadership = bus.lead ? await bus.lead(`${groups.metrics}-leader`) : soleLeadership;
  selfMetrics.watchLeadership(leadership);
  const cardinality = createCardinalityLimiter({
    maxSeriesPerProject: config.limits.maxSeriesPerProject,
    known: await knownSeries(store, logger),
  });
  const rateLimiter = createRateLimiter({
    perSecond: config.limits.ingestPointsPerSecond,
    burst: config.limits.ingestBurst,
    clock,
  });
  const ingest = createIngest({
    bus,
    store,
    logger: logger.child({ component: 'ingest' }),
    instruments,
    keyBuckets,
    recordEncoding: pointsEncoding,
    group: groups.metrics,
  });
  await ingest.start();

  const spanStore = spanStoreOptions(config.tracing);
  const tracing = await createTracing({
    ...(spanStore ? { spanStore } : {}),
    ...(groups.spans ? { group: groups.spans } : {}),
    bus,
    dataDir: config.dataDir,
    clock,
    logger: logger.child({ component: 'tracing' }),
    auth,
    projectOfService: (service) => config.tracing.serviceProjects[service],
    store: { recentBytes: config.tracing.recentCacheBytes },
    recordEncoding,
    onMetrics: (points) => ingest.publish(points, 'tracing'),
    maxBodyBytes: config.maxBodyBytes,
  });

  const logs = await createLogs({
    ...(groups.logs ? { group: groups.logs } : {}),
    bus,
    dataDir: config.dataDir,
    clock,
    logger: logger.child({ component: 'logs' }),
    auth,
    config: config.tracing,
    maxBodyBytes: config.maxBodyBytes,
  });

  let url = '';
  const notifications = await createHubNotifications({
    notify: config.notify,
    hubDataDir: config.dataDir,
    // Links in notifications point at this hub unless `global.external_url` says otherwise; with
    // --port 0 the port is known only later, and the links fall back to the default.
    ...(config.port === 0 ? {} : { externalURL: hubUrl(config, config.port) }),
    clock,
    logger: logger.child({ component: 'notify' }),
  });
  const rules = await startRuleEngine({
    source: store,
    // Every hub evaluates the rules, so one that takes over the leadership knows which alerts fire;
    // only the leader notifies. A takeover sends the alerts still firing once more.
    sink: {
      update: (alerts, now) => (leadership.leads() ? notifications.update(alerts, now) : Promise.resolve()),
    },
    clock,
    logger: logger.child({ component: 'rules' }),
    dataDir: join(config.dataDir, 'alerting'),
    ...(config.rules ? { rulesDir: config.rules } : {}),
    externalUrl: () => url,
  });

  const platform = await openPlatform(config, {
    store,
    clock,
    logger,
    leads: leadership.leads,
    publish: (points) => {
      ingest.publish(points, 'platform').catch((e: unknown) => {
        logger.warn('could not publish the platform health points', { err: e });
      });
    },
  });

  const app = createHttpApp({
    ingest,
    store,
    clock,
    logger,
    selfMetrics,
    maxTags: config.maxTags,
    maxBodyBytes: config.maxBodyBytes,
    auth,
    identities,
    audit,
    rateLimiter,
    cardinality,
    secureCookies: config.tls !== undefined,
    routers: [
      createRuleRouter({ engine: rules, auth, audit }),
      createNotifyRouter({ pipeline: notifications, auth, audit }),
      tracing.router,
      logs.router,
      createPlatformRouter({ platform, auth, audit }),
    ],
    health: async () => {
      const checks: Record<string, string> = {};
      let ok = true;
      try {
        const lag = (await bus.stats()).flatMap((t) => t.groups).reduce((n, g) => n + g.lag, 0);
        checks['bus'] = `ok, ${lag} records waiting for the store`;
      } catch (e) {
        ok = false;
        checks['bus'] = `failing: ${(e as Error).message}`;
      }
      try {
        await store.diskBytes();
        const series = store.stats?.()['series'];
        checks['store'] = series === undefined ? 'ok' : `ok, ${series} series`;
      } catch (e) {
        ok = false;
        checks['store'] = `failing: ${(e as Error).message}`;
      }
      checks['leader'] = !bus.lead
        ? 'leads (a hub alone)'
        : leadership.leads()
          ? 'leads its group: notifies and scales'
          : 'follows: another hub of the group notifies and scales';
      return { ok, checks };
    },
  });
  // Slow clients are cut off: headers and whole requests have deadlines, checked every second.
  const timeouts = {
    headersTimeout: config.limits.headersTimeout,
    requestTimeout: config.limits.requestTimeout,
    connectionsCheckingInterval: Math.min(1000, config.limits.headersTimeout),
    keepAliveTimeout: 65_000,
  };
  const http = config.tls
    ? createHttpsServer(
        { ...timeouts, cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) },
        app,
      )
    : createServer(timeouts, app);
  const io = new SocketServer(http, { serveClient: true });
  io.use((socket, next) => auth.socketMiddleware(socket, next));
  const live = createLivePush({
    io,
    subscribe: (l) => ingest.onStored(l),
    clock,
    authorize: (socket) => hasScope(socket.data['principal'], 'admin'),
  });
  const projectLive = createProjectPush({
    io,
    subscribe: (l) => ingest.onStored(l),
    clock,
    canSee: (socket, project) => canAccessProject(socket.data['principal'], project, 'read'),
    isAdmin: (socket) => hasScope(socket.data['principal'], 'admin'),
  });

  const telnet = createTelnetServer({
    ingest,
    logger: logger.child({ component: 'telnet' }),
    instruments,
    maxTags: config.maxTags,
    version: OPENTSDB_VERSION,
    cardinality,
    idleSeconds: config.limits.telnetIdle / 1000,
    anonymous: () => (auth.required() && !config.auth.telnetAnonymous ? undefined : OPEN_PRINCIPAL),
    authenticate: (token) => {
      const check = identities.checkToken(token);
      return check.ok
        ? { principal: check.principal }
        : { error: `the token is ${check.reason === 'unknown' ? 'not valid' : check.reason}` };
    },
  });
  const httpPort = await new Promise<number>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      const addr = http.address();
      resolve(typeof addr === 'object' && addr ? addr.port : config.port);
    });
  });
  const telnetPort = await telnet.listen(config.telnetPort, config.host);

  const node = config.agent.enabled
    ? await nodeSamplers(config.agent, config.dataDir, clock, logger.child({ component: 'agent' }))
    : undefined;
  const agent = node
    ? startLocalAgent({
        samplers: node.samplers,
        publish: (points) => ingest.publish(points, 'agent'),
        clock,
        logger: logger.child({ component: 'agent' }),
        intervalMs: config.agent.interval,
      })
    : undefined;

  platform.start();
  url = hubUrl(config, httpPort);
  return {
    url,
    httpPort,
    telnetPort,
    store,
    ingest,
    http,
    io,
    routes: listRoutes(app),
    rules,
    authRequired: auth.required,
    platform,
    async close() {
      agent?.stop();
      node?.stop();
      live.close();
      projectLive.close();
      await telnet.close();
      io.close();
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
      await leadership.close();
      await ingest.stop();
      await rules.stop();
      await platform.close();
      await notifications.close();
      await tracing.close();
      await logs.close();
      await bus.close();
      await store.close();
    },
  };
}

/** The URL the hub answers at, as it prints it. */
function hubUrl(config: HubConfig, port: number): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `${config.tls ? 'https' : 'http'}://${host}:${port}/`;
}
