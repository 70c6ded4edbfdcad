/**
 * The consuming half of the Kafka bus: one kafkajs consumer per subscription, in the Kafka
 * consumer group of the same name, so several hubs share a topic's partitions. Offsets are
 * committed by hand after each successful `onBatch` (at-least-once); a failing batch is
 * retried in place with exponential backoff, never skipped.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Clock } from '../../../core/clock.ts';
import type { Logger } from '../../../core/logger.ts';
import {
  type BusRecord,
  commitOffset,
  type SubscribeOptions,
  type Subscription,
} from '../../../core/ports.ts';
import { backoffMs, chunkByBytes, toBusRecord } from './record-mapping.ts';

export type SubscriptionOptions = SubscribeOptions & {
  kafka: Kafka;
  clock: Clock;
  logger: Logger;
  retry: { initialMs: number; maxMs: number };
  /** Default upper bound of one `onBatch`, in bytes of values. */
  defaultMaxBatchBytes: number;
};

type Retrying = { cancel(): void } | undefined;

export async function startSubscription(options: SubscriptionOptions): Promise<Subscription> {
  const { kafka, clock, topic, group, onBatch, retry } = options;
  const logger = options.logger.child({ topic, group });
  const maxBatchBytes = options.maxBatchBytes ?? options.defaultMaxBatchBytes;
  let closing = false;
  let waiting: Retrying;

  const consumer: Consumer = kafka.consumer({
    groupId: group,
    allowAutoTopicCreation: false,
    // A fetch brings at most about one batch per partition; larger fetches are chunked below.
    maxBytesPerPartition: Math.max(maxBatchBytes, 64 * 1024),
    maxWaitTimeInMs: 250,
    sessionTimeout: 30_000,
    rebalanceTimeout: 60_000,
    heartbeatInterval: 3000,
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 10 },
  });

  /** Waits `ms` on the injected clock; `close` cuts the wait short. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const cancelTimer = clock.setTimeout(() => {
        waiting = undefined;
        resolve();
      }, ms);
      waiting = {
        cancel() {
          cancelTimer();
          waiting = undefined;
          resolve();
        },
      };
    });

  /**
   * Calls onBatch until it succeeds and answers the offset to commit; undefined when the partition
   * was taken away or the subscription closes first.
   */
  async function deliver(chunk: BusRecord[], payload: EachBatchPayload): Promise<number | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return commitOffset(chunk.at(-1)!.offset, await onBatch(chunk));
      } catch (e) {
        const retryInMs = backoffMs(attempt, retry.initialMs, retry.maxMs);
        logger.error('a bus batch failed; delivering it again', {
          err: e,
          partition: chunk[0]!.partition,
          offset: chunk[0]!.offset,
          attempt,
          retryInMs,
        });
        await pause(retryInMs);
        if (closing || !payload.isRunning() || payload.isStale()) return undefined;
        // Tells the coordinator this member is alive while it retries a long time.
        await payload.heartbeat();
      }
    }
  }

  /** The offset committed last per partition: a held-back commit never moves it backwards. */
  const committed = new Map<number, number>();

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const records = batch.messages.map((m) => toBusRecord(batch.topic, batch.partition, m));
    for (const chunk of chunkByBytes(records, maxBatchBytes)) {
      if (closing || !payload.isRunning() || payload.isStale()) return;
      const commit = await deliver(chunk, payload);
      if (commit === undefined) return;
      payload.resolveOffset(chunk.at(-1)!.offset.toString());
      if (commit > (committed.get(batch.partition) ?? -1)) {
        await payload.commitOffsetsIfNecessary({
          topics: [
            { topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(commit) }] },
          ],
        });
        committed.set(batch.partition, commit);
      }
      await payload.heartbeat();
    }
  }

  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload as { error: Error; restart: boolean };
    logger[restart ? 'warn' : 'error']('the kafka consumer crashed', { err: error, restart });
  });

  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });

  return {
    async close() {
      if (closing) return;
      closing = true;
      waiting?.cancel();
      // disconnect() waits for the batch in flight (and its commit), then leaves the group, so
      // the coordinator hands this member's partitions to the others at once.
      await consumer.disconnect();
    },
  };
}
