/**
 * The engines behind the hub's ports, chosen by the config: the embedded defaults, or Kafka,
 * OpenTSDB (and VictoriaMetrics) for running several hubs at scale.
 */
import { join } from 'node:path';
import { type Clock, systemClock } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { MetricPoint } from '../core/model.ts';
import type { Bus, MetricStore } from '../core/ports.ts';
import { createEmbeddedBus } from '../pipeline/bus/embedded/embedded-bus.ts';
import { createKafkaBus } from '../pipeline/bus/kafka/kafka-bus.ts';
import { encodePoints } from '../pipeline/codec/points-codec.ts';
import { METRICS_TOPIC, type RecordEncoding } from '../pipeline/ingest.ts';
import { createEmbeddedMetricStore } from '../pipeline/store/embedded/embedded-metric-store.ts';
import { createThreadedMetricStore } from '../pipeline/store/embedded/store-thread.ts';
import { parseTelnetAddress } from '../pipeline/store/opentsdb/codec.ts';
import { createOpenTsdbMetricStore } from '../pipeline/store/opentsdb/opentsdb-metric-store.ts';

/** A store as the hub uses it: the port, plus the embedded store's figures when it has them. */
export type HubMetricStore = MetricStore & { stats?: () => Record<string, number> };

/** Consumer groups that store each stream; on Kafka they carry the deployment's group name. */
export type IngestGroups = { metrics: string; spans?: string; logs?: string };

export type Engines = {
  bus: Bus;
  store: HubMetricStore;
  keyBuckets: number;
  groups: IngestGroups;
  /**
   * Span records: Kafka keeps the JSON its README documents for other consumers; the embedded bus
   * carries the binary version.
   */
  recordEncoding: 'binary' | 'json';
  /**
   * Point records: JSON on Kafka as well; on the embedded bus, which this hub alone writes and
   * reads, v3 (series refs).
   */
  pointsEncoding: RecordEncoding;
};

export async function openEngines(config: HubConfig, clock: Clock, logger: Logger): Promise<Engines> {
  const bus = await openBus(config, clock, logger);
  try {
    const store = await openMetricStore(config, clock, logger, bus);
    const kafka = config.bus.kind === 'kafka';
    return {
      bus,
      store,
      // Kafka: a series keeps to one partition; hubs of one group share the partitions.
      keyBuckets: kafka ? config.bus.kafka.partitions * 4 : 1,
      recordEncoding: kafka ? 'json' : 'binary',
      pointsEncoding: kafka ? 'json' : 'refs',
      groups: kafka
        ? {
            metrics: config.bus.kafka.group,
            spans: `${config.bus.kafka.group}-spans`,
            logs: `${config.bus.kafka.group}-logs`,
          }
        : { metrics: 'metric-store' },
    };
  } catch (e) {
    await bus.close();
    throw e;
  }
}

async function openBus(config: HubConfig, clock: Clock, logger: Logger): Promise<Bus> {
  if (config.bus.kind === 'kafka') {
    const k = config.bus.kafka;
    return createKafkaBus({
      brokers: k.brokers,
      clientId: k.clientId,
      logger: logger.child({ component: 'bus' }),
      clock,
      topics: { partitions: k.partitions, retentionMs: k.retention },
      deadLetterTopic: k.deadLetterTopic,
      statsGroups: [k.group],
    });
  }
  return createEmbeddedBus({
    dir: join(config.dataDir, 'bus'),
    segmentBytes: config.bus.segmentBytes,
    retentionBytes: config.bus.retentionBytes,
    retentionAgeMs: config.bus.retentionAge,
    recentBytes: config.bus.recentBytes,
    clock,
    logger: logger.child({ component: 'bus' }),
  });
}

async function openMetricStore(
  config: HubConfig,
  clock: Clock,
  logger: Logger,
  bus: Bus,
): Promise<HubMetricStore> {
  const storeLogger = logger.child({ component: 'metric-store' });
  if (config.store.kind === 'opentsdb') {
    const o = config.store.opentsdb;
    return createOpenTsdbMetricStore({
      url: o.url,
      ...(o.queryUrl ? { queryUrl: o.queryUrl } : {}),
      ...(o.statsUrl ? { statsUrl: o.statsUrl } : {}),
      ...(o.promReadUrl ? { promReadUrl: o.promReadUrl } : {}),
      ...(o.telnet ? { telnet: parseTelnetAddress(o.telnet) } : {}),
      batchSize: o.batchSize,
      concurrency: o.concurrency,
      maxTags: config.maxTags,
      onRejected: (point, reason) => deadLetterPoint(bus, point, reason, storeLogger),
      logger: storeLogger,
      clock,
    });
  }
  const options = {
    dataDir: join(config.dataDir, 'metrics'),
    hotWindowMs: config.store.hotWindow,
    rawRetentionMs: config.store.rawRetention,
    rollup1mRetentionMs: config.store.rollup1mRetention,
    rollup1hRetentionMs: config.store.rollup1hRetention,
    maintenanceIntervalMs: config.store.maintenanceInterval,
  };
  // A thread has its own clock: the store goes to one only when the hub runs on the system's.
  if (config.store.thread && clock === systemClock)
    return createThreadedMetricStore({ ...options, logger: storeLogger });
  return createEmbeddedMetricStore({ ...options, clock, logger: storeLogger });
}

/** A point the store refused goes to the dead-letter topic (where the bus has one) with the reason. */
function deadLetterPoint(bus: Bus, point: MetricPoint, reason: string, logger: Logger): void {
  logger.warn('the metric store refused a point', { metric: point.metric, tags: point.tags, reason });
  if (!bus.deadLetter) return;
  const record = {
    topic: METRICS_TOPIC,
    partition: -1,
    offset: -1,
    ts: point.ts,
    value: encodePoints([point]),
  };
  bus.deadLetter(record, `refused by the metric store: ${reason}`).catch((e: unknown) => {
    logger.error('could not dead-letter a refused point', { err: e });
  });
}
