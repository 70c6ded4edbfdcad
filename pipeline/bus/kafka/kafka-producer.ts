/**
 * The publishing half of the Kafka bus: one idempotent kafkajs producer, one request in flight,
 * and every publish waiting meanwhile sent together in the next request (group commit).
 */
import { type CompressionTypes, type Kafka, Partitioners, type Producer } from 'kafkajs';
import { HubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { KafkaOutMessage } from './record-mapping.ts';

type Owner = { left: number; failed: boolean; resolve(): void; reject(e: unknown): void };
type Piece = { topic: string; messages: KafkaOutMessage[]; bytes: number; owner: Owner };

export type BatchingProducer = {
  /** Resolves once every message is acknowledged by all in-sync replicas (acks=-1). */
  send(topic: string, messages: KafkaOutMessage[]): Promise<void>;
  /** Sends what is queued, then disconnects. */
  close(): Promise<void>;
};

export type BatchingProducerOptions = {
  kafka: Kafka;
  logger: Logger;
  compression: CompressionTypes;
  /** Upper bound of one produce request, in bytes of values. */
  maxBatchBytes: number;
  /** How long one request may keep retrying before its publishes reject. */
  maxRetryTimeMs: number;
};

const size = (m: KafkaOutMessage) => m.value.byteLength + (m.key?.byteLength ?? 0);

export function createBatchingProducer(options: BatchingProducerOptions): BatchingProducer {
  const { kafka, logger, compression, maxBatchBytes } = options;
  const queue: Piece[] = [];
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;
  let flushing: Promise<void> | undefined;
  let closed = false;

  function connect(): Promise<Producer> {
    if (producer) return Promise.resolve(producer);
    connecting ??= (async () => {
      const p = kafka.producer({
        idempotent: true,
        // The idempotent producer keeps order only with one request in flight in kafkajs.
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 8, maxRetryTime: Math.max(1000, options.maxRetryTimeMs / 4) },
      });
      try {
        await p.connect();
      } finally {
        connecting = undefined;
      }
      producer = p;
      return p;
    })();
    return connecting;
  }

  /**
   * After a failed request the producer is replaced: kafkajs keeps the sequence numbers of the
   * failed batch, and reusing them for other records could let the broker drop those records
   * as duplicates. A new producer id starts clean; a retried publish may then appear twice.
   */
  function discardProducer(): void {
    const old = producer;
    producer = undefined;
    old
      ?.disconnect()
      .catch((e) => logger.debug('a failed kafka producer did not disconnect cleanly', { err: e }));
  }

  function takeRequest(): Piece[] {
    const taken: Piece[] = [];
    let bytes = 0;
    while (queue.length > 0 && (taken.length === 0 || bytes + queue[0]!.bytes <= maxBatchBytes)) {
      const piece = queue.shift()!;
      if (piece.owner.failed) continue;
      taken.push(piece);
      bytes += piece.bytes;
    }
    return taken;
  }

  async function sendRequest(pieces: Piece[]): Promise<void> {
    const byTopic = new Map<string, KafkaOutMessage[]>();
    for (const p of pieces) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(...p.messages);
      byTopic.set(p.topic, list);
    }
    try {
      const p = await connect();
      await p.sendBatch({
        acks: -1,
        compression,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (e) {
      discardProducer();
      const error = new HubError(
        'BUS_FAILED',
        `Kafka did not acknowledge a publish: ${(e as Error).message}`,
        {
          cause: e,
          canRetry: true,
        },
      );
      logger.warn('a kafka publish failed', { err: e, topics: [...byTopic.keys()] });
      for (const piece of pieces) fail(piece.owner, error);
      return;
    }
    for (const piece of pieces) {
      piece.owner.left--;
      if (piece.owner.left === 0 && !piece.owner.failed) piece.owner.resolve();
    }
  }

  function fail(owner: Owner, error: unknown): void {
    if (owner.failed) return;
    owner.failed = true;
    owner.reject(error);
  }

  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const pieces = takeRequest();
      if (pieces.length > 0) await sendRequest(pieces);
    }
  }

  function kick(): void {
    flushing ??= flush().finally(() => {
      flushing = undefined;
      if (queue.length > 0) kick();
    });
  }

  return {
    send(topic, messages) {
      if (closed) return Promise.reject(new HubError('UNAVAILABLE', 'The Kafka bus is closed'));
      if (messages.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const owner: Owner = { left: 0, failed: false, resolve, reject };
        // A publish larger than one request is split; its pieces keep their order in the queue.
        let current: KafkaOutMessage[] = [];
        let bytes = 0;
        const push = () => {
          queue.push({ topic, messages: current, bytes, owner });
          owner.left++;
          current = [];
          bytes = 0;
        };
        for (const m of messages) {
          if (current.length > 0 && bytes + size(m) > maxBatchBytes) push();
          current.push(m);
          bytes += size(m);
        }
        push();
        kick();
      });
    },
    async close() {
      closed = true;
      while (flushing) await flushing;
      if (connecting) await connecting.catch(() => undefined);
      const p = producer;
      producer = undefined;
      await p?.disconnect();
    },
  };
}
