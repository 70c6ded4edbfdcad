/**
 * The log ingest, as `tracing/tracing-ingest.ts` does it for spans: accepted records go to the
 * Bus topic `logs` keyed by source (the acknowledgement point), and a consumer moves them into
 * the log store. The store records the bus offset in the same transaction as the records, so a
 * batch delivered again after a crash is skipped. Stores that keep no checkpoint (the engines)
 * get an id per record from its bus position (`LOG_ID`), so a replay overwrites instead of
 * adding. A bus record that cannot be decoded is dead-lettered and the batch goes on.
 */
import type { Logger } from '../../core/logger.ts';
import type { LogRecord } from '../../core/model.ts';
import type { Bus, BusMessage, BusRecord, Subscription } from '../../core/ports.ts';
import type { CheckpointedLogStore } from './embedded-log-store.ts';
import { decodeLogRecords, encodeLogRecords } from './log-text.ts';

export const LOGS_TOPIC = 'logs';

/**
 * A record's stable id, `<topic>-<partition>-<offset>-<index>`, set by the consumer on the
 * records it writes. A symbol: it travels with the object (and its spreads) but never into JSON.
 */
export const LOG_ID: unique symbol = Symbol('obs.log-id');
export type IdentifiedLogRecord = LogRecord & { [LOG_ID]?: string };

export type LogIngestOptions = {
  bus: Bus;
  store: CheckpointedLogStore;
  logger: Logger;
  topic?: string;
  group?: string;
  /** Records per bus message at most. Default 1,000. */
  maxRecordsPerMessage?: number;
  /** Bytes of records per batch the consumer takes. Default 2 MiB. */
  maxBatchBytes?: number;
};

export type LogIngestStats = {
  /** Records stored since start. */
  stored: number;
  /** Bus records moved aside (or only logged) as undecodable. */
  deadLettered: number;
  /** Bus records skipped because the store already had them. */
  replayed: number;
};

export type LogIngest = {
  /** Resolves once the records are durable on the Bus: the moment to answer 202. */
  publish(records: readonly LogRecord[]): Promise<void>;
  /** Starts moving records from the Bus into the store. */
  start(): Promise<void>;
  stats(): LogIngestStats;
  stop(): Promise<void>;
};

/** Bus messages of records: grouped by source (the key), at most `max` records each. */
export function logMessages(records: readonly LogRecord[], max: number): BusMessage[] {
  const bySource = new Map<string, LogRecord[]>();
  for (const r of records) {
    const list = bySource.get(r.source);
    if (list) list.push(r);
    else bySource.set(r.source, [r]);
  }
  const out: BusMessage[] = [];
  for (const [source, list] of bySource)
    for (let i = 0; i < list.length; i += max)
      out.push({ key: source, value: encodeLogRecords(list.slice(i, i + max)) });
  return out;
}

export function createLogIngest(options: LogIngestOptions): LogIngest {
  const { bus, store, logger } = options;
  const topic = options.topic ?? LOGS_TOPIC;
  const group = options.group ?? 'log-store';
  const perMessage = options.maxRecordsPerMessage ?? 1000;
  /** The last offset stored per partition, as far as this process knows. */
  const storedUpTo = new Map<number, number>();
  const stats: LogIngestStats = { stored: 0, deadLettered: 0, replayed: 0 };
  let subscription: Subscription | undefined;

  async function upTo(partition: number): Promise<number> {
    let offset = storedUpTo.get(partition);
    if (offset === undefined) {
      offset = await store.checkpoint(`${topic}/${partition}`);
      storedUpTo.set(partition, offset);
    }
    return offset;
  }

  async function deadLetter(r: BusRecord, reason: string): Promise<void> {
    stats.deadLettered++;
    logger.error('an undecodable logs record was moved aside', {
      topic,
      partition: r.partition,
      offset: r.offset,
      reason,
    });
    await bus.deadLetter?.(r, reason);
  }

  async function writeBatch(fresh: BusRecord[]): Promise<void> {
    if (fresh.length === 0) return;
    const records: IdentifiedLogRecord[] = [];
    for (const r of fresh) {
      let decoded: LogRecord[];
      try {
        decoded = decodeLogRecords(r.value);
      } catch (e) {
        await deadLetter(r, (e as Error).message);
        continue;
      }
      decoded.forEach((d, i) => {
        records.push({ ...d, [LOG_ID]: `${topic}-${r.partition}-${r.offset}-${i}` });
      });
    }
    const last = fresh[fresh.length - 1]!;
    try {
      await store.write(records, { stream: `${topic}/${last.partition}`, offset: last.offset });
    } catch (e) {
      // Whether it committed is unknown: the store's checkpoint tells on redelivery.
      storedUpTo.delete(last.partition);
      throw e;
    }
    storedUpTo.set(last.partition, last.offset);
    stats.stored += records.length;
  }

  async function onBatch(batch: BusRecord[]): Promise<void> {
    for (const partition of new Set(batch.map((r) => r.partition))) {
      const done = await upTo(partition);
      const mine = batch.filter((r) => r.partition === partition);
      const fresh = mine.filter((r) => r.offset > done);
      stats.replayed += mine.length - fresh.length;
      await writeBatch(fresh);
    }
  }

  return {
    async publish(records) {
      if (records.length > 0) await bus.publish(topic, logMessages(records, perMessage));
    },
    async start() {
      subscription = await bus.subscribe({
        topic,
        group,
        onBatch,
        maxBatchBytes: options.maxBatchBytes ?? 2 * 1024 * 1024,
      });
      logger.info('log ingest started', { topic, group });
    },
    stats: () => ({ ...stats }),
    async stop() {
      await subscription?.close();
      subscription = undefined;
    },
  };
}
