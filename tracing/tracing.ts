/**
 * Tracing as one piece for the composition root: the span store (embedded DuckDB, or
 * OpenSearch / Elasticsearch with `spanStore`), the assembler, the tracing ingest on the hub's
 * Bus and the HTTP router, built and started together.
 */
import { join } from 'node:path';
import type { RequestHandler, Router } from 'express';
import type { Scope } from '../core/auth.ts';
import type { Clock } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { MetricPoint } from '../core/model.ts';
import type { Bus } from '../core/ports.ts';
import { createZipkinRouter } from './api/zipkin-routes.ts';
import {
  createTraceAssembler,
  type TraceAssembler,
  type TraceAssemblerOptions,
} from './assembler/assembler.ts';
import { createDecodePool } from './codec/decode-pool.ts';
import type { SpanRecordEncoding } from './codec/spans-codec.ts';
import {
  createEmbeddedSpanStore,
  type EmbeddedSpanStore,
  type EmbeddedSpanStoreOptions,
} from './store/embedded-span-store.ts';
import {
  createExternalTraceStore,
  type ElasticTraceStore,
  type ExternalSpanStoreOptions,
} from './store/external-trace-store.ts';
import { createTracingIngest, type TracingIngest } from './tracing-ingest.ts';

export type TracingOptions = {
  bus: Bus;
  /** The bus consumer group that stores spans; hubs of one deployment share it. */
  group?: string;
  /** The hub's data dir: the span store lives in `<dataDir>/spans/`. */
  dataDir: string;
  clock: Clock;
  logger: Logger;
  auth: { need(scope: Scope): RequestHandler };
  /** The project a service belongs to (config map), for visibility and the RED `project` tag. */
  projectOfService: (service: string) => string | undefined;
  /** RED points of each interval; connect to the metrics ingest (`ingest.publish(points, 'tracing')`). */
  onMetrics?: (points: MetricPoint[]) => void | Promise<void>;
  /** Options of the embedded store (ignored with `spanStore`). */
  store?: Partial<Omit<EmbeddedSpanStoreOptions, 'dataDir' | 'clock' | 'logger'>>;
  /** Keep spans and dependency links in OpenSearch / Elasticsearch instead of the embedded store. */
  spanStore?: ExternalSpanStoreOptions;
  assembler?: Partial<Omit<TraceAssemblerOptions, 'clock' | 'logger' | 'projectOfService' | 'onMetrics'>>;
  maxBodyBytes?: number;
  /** Threads that decode request bodies; 0 = decode on the main thread. Default: cores − 1, 1 to 4. */
  decodeThreads?: number;
  /** Version of the spans bus records: `binary` (default, embedded bus) or `json` (Kafka). */
  recordEncoding?: SpanRecordEncoding;
};

export type Tracing = {
  store: EmbeddedSpanStore | ElasticTraceStore;
  assembler: TraceAssembler;
  ingest: TracingIngest;
  router: Router;
  /** Stops the ingest and the assembler (flushing the last RED interval), closes the store. */
  close(): Promise<void>;
};

/**
 * The `spanStore` option for the hub's `tracing` config section: undefined for `embedded`, else
 * the engine, its URL, index prefix and retention.
 */
export function spanStoreOptions(
  config: Pick<HubConfig['tracing'], 'store' | 'elastic'>,
): ExternalSpanStoreOptions | undefined {
  if (config.store === 'embedded') return undefined;
  const { url, indexPrefix, retentionDays } = config.elastic;
  return { kind: config.store, url, indexPrefix, retentionDays };
}

/** Opens the store, starts the assembler and the ingest, and builds the router. */
export async function createTracing(options: TracingOptions): Promise<Tracing> {
  const { clock, logger } = options;
  const storeLogger = logger.child({ component: 'span-store' });
  const store = options.spanStore
    ? createExternalTraceStore({ ...options.spanStore, clock, logger: storeLogger })
    : await createEmbeddedSpanStore({
        ...options.store,
        dataDir: join(options.dataDir, 'spans'),
        clock,
        logger: storeLogger,
      });
  const assembler = createTraceAssembler({
    ...options.assembler,
    clock,
    logger: logger.child({ component: 'assembler' }),
    projectOfService: options.projectOfService,
    keepLinkDeltas: true,
    ...(options.onMetrics ? { onMetrics: options.onMetrics } : {}),
  });
  assembler.start();
  const ingest = createTracingIngest({
    bus: options.bus,
    store,
    assembler,
    logger: logger.child({ component: 'tracing-ingest' }),
    ...(options.group ? { group: options.group } : {}),
    ...(options.recordEncoding ? { recordEncoding: options.recordEncoding } : {}),
  });
  await ingest.start();
  const decodePool =
    options.decodeThreads === 0
      ? undefined
      : createDecodePool({
          logger: logger.child({ component: 'span-decoding' }),
          ...(options.recordEncoding ? { encoding: options.recordEncoding } : {}),
          ...(options.decodeThreads ? { size: options.decodeThreads } : {}),
        });
  const router = createZipkinRouter({
    store,
    assembler,
    tracingIngest: ingest,
    auth: options.auth,
    projectOfService: options.projectOfService,
    clock,
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(decodePool ? { decodePool } : {}),
  });
  return {
    store,
    assembler,
    ingest,
    router,
    async close() {
      await decodePool?.close();
      await ingest.stop();
      await assembler.stop();
      await store.close();
    },
  };
}
