/**
 * Logs as one piece for the composition root: the log store (embedded DuckDB in
 * `<dataDir>/logs/`, or the OpenSearch / Elasticsearch the spans go to), the ingest from the
 * Bus topic `logs` into it, and the HTTP router, built and started together.
 */
import { join } from 'node:path';
import type { RequestHandler, Router } from 'express';
import type { Scope } from '../../core/auth.ts';
import type { Clock } from '../../core/clock.ts';
import type { HubConfig } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import type { Bus } from '../../core/ports.ts';
import {
  createEmbeddedLogStore,
  type EmbeddedLogStore,
  type EmbeddedLogStoreOptions,
} from './embedded-log-store.ts';
import { createExternalLogStore, type ExternalLogStore } from './external-log-store.ts';
import { createLogIngest, type LogIngest } from './log-ingest.ts';
import { createLogRouter } from './log-routes.ts';

export type LogsOptions = {
  bus: Bus;
  /** The bus consumer group that stores logs; hubs of one deployment share it. */
  group?: string;
  /** The hub's data dir: the embedded store lives in `<dataDir>/logs/`. */
  dataDir: string;
  clock: Clock;
  logger: Logger;
  auth: { need(scope: Scope): RequestHandler };
  /** The hub's `tracing` section: logs go to the same engine as spans. */
  config: Pick<HubConfig['tracing'], 'store' | 'elastic'>;
  /** Options of the embedded store (ignored on an engine). */
  store?: Partial<Omit<EmbeddedLogStoreOptions, 'dataDir' | 'clock' | 'logger'>>;
  /** Options of an engine's store: `wait_for` refresh, replicas. */
  engine?: { refresh?: boolean | 'wait_for'; replicas?: number };
  maxBodyBytes?: number;
};

export type Logs = {
  store: EmbeddedLogStore | ExternalLogStore;
  ingest: LogIngest;
  router: Router;
  /** Records refused at the door since start (bad or not allowed). */
  rejected(): number;
  /** Stops the ingest (its batch in flight is committed first), then closes the store. */
  close(): Promise<void>;
};

/** Opens the store, starts the ingest and builds the router. */
export async function createLogs(options: LogsOptions): Promise<Logs> {
  const { clock, logger, config } = options;
  const storeLogger = logger.child({ component: 'log-store' });
  const store =
    config.store === 'embedded'
      ? await createEmbeddedLogStore({
          ...options.store,
          dataDir: join(options.dataDir, 'logs'),
          clock,
          logger: storeLogger,
        })
      : createExternalLogStore({
          kind: config.store,
          url: config.elastic.url,
          indexPrefix: config.elastic.indexPrefix,
          retentionDays: config.elastic.retentionDays,
          ...(options.engine?.refresh !== undefined ? { refresh: options.engine.refresh } : {}),
          ...(options.engine?.replicas !== undefined ? { replicas: options.engine.replicas } : {}),
          onRejected: (item, reason) =>
            storeLogger.warn('the engine refused a log record', {
              source: item.kind === 'log' ? item.item.source : undefined,
              reason,
            }),
          clock,
          logger: storeLogger,
        });
  const ingest = createLogIngest({
    bus: options.bus,
    store,
    logger: logger.child({ component: 'log-ingest' }),
    ...(options.group ? { group: options.group } : {}),
  });
  await ingest.start();
  let rejected = 0;
  const router = createLogRouter({
    store,
    ingest,
    auth: options.auth,
    clock,
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
    onRejected: (n) => {
      rejected += n;
    },
  });
  return {
    store,
    ingest,
    router,
    rejected: () => rejected,
    async close() {
      await ingest.stop();
      await store.close();
    },
  };
}
