/**
 * The Kafka adapter of the `Bus` port (kafkajs). Topics are created on first use with the
 * configured partitions and retention; the message key keeps a series or a trace on one
 * partition; publishes are batched, compressed and acknowledged by all in-sync replicas; Kafka
 * consumer groups let several hubs share the partitions. Wire format: README.md beside this file.
 */
import { type Admin, CompressionTypes, Kafka, type logCreator, logLevel } from 'kafkajs';
import { type Clock, systemClock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type {
  Bus,
  BusMessage,
  BusRecord,
  Leadership,
  Subscription,
  TopicStats,
} from '../../../core/ports.ts';
import { electKafkaLeader } from './kafka-leader.ts';
import { createBatchingProducer } from './kafka-producer.ts';
import { startSubscription } from './kafka-subscription.ts';
import { checkTopic, deadLetterMessage, groupLag, toKafkaMessage } from './record-mapping.ts';

export type KafkaBusOptions = {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  clientId: string;
  logger: Logger;
  clock?: Clock;
  /** How topics this bus creates are made; existing topics are left as they are. */
  topics?: { partitions?: number; retentionMs?: number; replicationFactor?: number };
  /** Where `deadLetter` sends records; default `obs.dead-letter`. */
  deadLetterTopic?: string;
  /** Default `gzip`. */
  compression?: 'gzip' | 'none';
  /** Upper bound of one produce request and, unless a subscription says otherwise, of one `onBatch`; default 512 KiB. */
  maxBatchBytes?: number;
  /** Backoff between redeliveries of a failed batch, and how long a publish keeps retrying. */
  retry?: { initialMs?: number; maxMs?: number; publishTimeoutMs?: number };
  /** Groups whose lag `stats()` reports besides those this bus subscribed. */
  statsGroups?: string[];
  /** The leader election of `lead`: its one-partition topic (default `obs.leader`) and session timeout. */
  leader?: { topic?: string; sessionTimeoutMs?: number };
};

export type KafkaBus = Bus & {
  /**
   * Sends `record` unchanged (key, value, headers) to the dead-letter topic, with the headers
   * `obs-dlq-reason`, `obs-dlq-topic`, `obs-dlq-partition` and `obs-dlq-offset`. A consumer calls
   * it for a record it can never handle (one it cannot decode), then goes on with the rest.
   */
  deadLetter(record: BusRecord, reason: string): Promise<void>;
  lead(group: string): Promise<Leadership>;
};

const KAFKA_LEVELS: Record<number, 'error' | 'warn' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'debug',
  [logLevel.DEBUG]: 'debug',
};

/** Routes kafkajs's own log lines into the hub's logger; its INFO lines are debug here. */
function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, timestamp: _ts, logger: _name, ...fields } = log as Record<string, unknown>;
      // The producer's retries are bounded on purpose (see kafka-producer.ts): not worth a warning.
      const expected = String(message).startsWith('Limiting retries for the idempotent producer');
      logger[expected ? 'debug' : (KAFKA_LEVELS[level] ?? 'debug')](`kafkajs: ${String(message)}`, fields);
    };
}

export async function createKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  const logger = options.logger.child({ component: 'kafka-bus' });
  const clock = options.clock ?? systemClock;
  const partitions = options.topics?.partitions ?? 6;
  const replicationFactor = options.topics?.replicationFactor ?? 1;
  const deadLetterTopic = options.deadLetterTopic ?? 'obs.dead-letter';
  const maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
  const retry = { initialMs: options.retry?.initialMs ?? 100, maxMs: options.retry?.maxMs ?? 30_000 };
  checkTopic(deadLetterTopic);

  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 8 },
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(logger),
  });
  const admin: Admin = kafka.admin();
  try {
    await admin.connect();
  } catch (e) {
    throw new HubError('UNAVAILABLE', `No Kafka broker answers at ${options.brokers.join(', ')}`, {
      cause: e,
      canRetry: true,
    });
  }
  const producer = createBatchingProducer({
    kafka,
    logger,
    compression: options.compression === 'none' ? CompressionTypes.None : CompressionTypes.GZIP,
    maxBatchBytes,
    maxRetryTimeMs: options.retry?.publishTimeoutMs ?? 30_000,
  });

  const topicSettings = { partitions, replicationFactor, retentionMs: options.topics?.retentionMs };
  const ready = new Map<string, Promise<void>>();
  /** topic → groups subscribed through this bus (or named in `statsGroups`), for `stats()`. */
  const known = new Map<string, Set<string>>();
  const subscriptions = new Set<Subscription>();
  const leaderships = new Set<Leadership>();
  let closed = false;

  const remember = (topic: string, group?: string) => {
    const groups = known.get(topic) ?? new Set(options.statsGroups);
    if (group) groups.add(group);
    known.set(topic, groups);
  };

  function ensureTopic(topic: string): Promise<void> {
    let done = ready.get(topic);
    if (!done) {
      done = createTopic(admin, logger, topic, topicSettings).catch((e) => {
        ready.delete(topic);
        throw e;
      });
      ready.set(topic, done);
    }
    return done;
  }

  const assertOpen = () => {
    if (closed) throw new HubError('UNAVAILABLE', 'The Kafka bus is closed');
  };

  async function publish(topic: string, messages: BusMessage[]): Promise<void> {
    assertOpen();
    checkTopic(topic);
    const out = messages.map((m, i) => toKafkaMessage(m, `${topic}[${i}]`));
    if (out.length === 0) return;
    remember(topic);
    await ensureTopic(topic);
    await producer.send(topic, out);
  }

  return {
    publish,

    async subscribe(sub) {
      assertOpen();
      checkTopic(sub.topic);
      if (typeof sub.group !== 'string' || sub.group === '')
        throw new HubError('BAD_REQUEST', 'A subscription needs a non-empty group', { where: 'group' });
      remember(sub.topic, sub.group);
      await ensureTopic(sub.topic);
      const subscription = await startSubscription({
        ...sub,
        kafka,
        clock,
        logger,
        retry,
        defaultMaxBatchBytes: maxBatchBytes,
      });
      const tracked: Subscription = {
        async close() {
          subscriptions.delete(tracked);
          await subscription.close();
        },
      };
      subscriptions.add(tracked);
      return tracked;
    },

    async deadLetter(record, reason) {
      await publish(deadLetterTopic, [deadLetterMessage(record, reason)]);
      logger.warn('sent a bus record to the dead-letter topic', {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        reason,
        deadLetterTopic,
      });
    },

    async lead(group) {
      assertOpen();
      const leadership = await electKafkaLeader({
        kafka,
        group,
        topic: options.leader?.topic ?? 'obs.leader',
        logger,
        ...(options.leader?.sessionTimeoutMs ? { sessionTimeoutMs: options.leader.sessionTimeoutMs } : {}),
      });
      const tracked: Leadership = {
        ...leadership,
        async close() {
          leaderships.delete(tracked);
          await leadership.close();
        },
      };
      leaderships.add(tracked);
      return tracked;
    },

    async stats() {
      assertOpen();
      return collectStats(admin, known);
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const l of [...leaderships]) await l.close();
      for (const s of [...subscriptions]) await s.close();
      await producer.close();
      await admin.disconnect();
    },
  };
}

type TopicSettings = { partitions: number; replicationFactor: number; retentionMs: number | undefined };

/** Creates `topic` unless it exists; its records carry the broker's append time. */
async function createTopic(
  admin: Admin,
  logger: Logger,
  topic: string,
  settings: TopicSettings,
): Promise<void> {
  const { partitions, replicationFactor, retentionMs } = settings;
  const configEntries = [{ name: 'message.timestamp.type', value: 'LogAppendTime' }];
  if (retentionMs !== undefined) configEntries.push({ name: 'retention.ms', value: String(retentionMs) });
  let lastError: unknown;
  // Hubs starting together race to create the same topics: the loser may see "already exists" or,
  // while the winner's partitions get their leaders, "does not host this topic-partition".
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries }],
      });
      if (created) logger.info('created kafka topic', { topic, partitions, replicationFactor });
      return;
    } catch (e) {
      if ((e as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return;
      lastError = e;
      if (!(e as { retriable?: boolean }).retriable && !/does not host this topic-partition/.test(String(e)))
        break;
      await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
    }
  }
  throw new HubError('BUS_FAILED', `Could not create Kafka topic ${topic}: ${(lastError as Error).message}`, {
    cause: lastError,
    canRetry: true,
  });
}

/** End offsets per partition of each known topic, and the committed offset and lag of each known group. */
async function collectStats(admin: Admin, known: Map<string, Set<string>>): Promise<TopicStats[]> {
  const out: TopicStats[] = [];
  for (const [topic, groups] of known) {
    const ends = await admin.fetchTopicOffsets(topic);
    const committed = new Map<string, Map<number, number>>();
    for (const group of groups) {
      const [answer] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      committed.set(group, new Map(answer?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []));
    }
    for (const p of [...ends].sort((a, b) => a.partition - b.partition)) {
      const high = Number(p.high);
      const low = Number(p.low);
      out.push({
        topic,
        partition: p.partition,
        endOffset: high,
        // kafkajs has no DescribeLogDirs request, so the bytes a partition holds are unknown here.
        bytes: 0,
        groups: [...groups].map((group) => ({
          group,
          ...groupLag(committed.get(group)?.get(p.partition) ?? -1, low, high),
        })),
      });
    }
  }
  return out;
}
