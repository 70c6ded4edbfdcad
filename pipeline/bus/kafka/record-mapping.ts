/**
 * Pure conversions between the Bus model and Kafka's: messages, records, headers, dead-letter
 * headers, batch splitting, backoff and lag. No sockets here; kafka-bus.ts does the I/O.
 */
import { HubError } from '../../../core/errors.ts';
import type { BusMessage, BusRecord } from '../../../core/ports.ts';

/** Headers a dead-lettered record carries besides its own. */
export const DLQ_HEADERS = {
  reason: 'obs-dlq-reason',
  topic: 'obs-dlq-topic',
  partition: 'obs-dlq-partition',
  offset: 'obs-dlq-offset',
} as const;

/** A message as kafkajs sends it. */
export type KafkaOutMessage = { key: Buffer | null; value: Buffer; headers: Record<string, Buffer> };

/** A message as kafkajs delivers it (the fields this adapter reads). */
export type KafkaInMessage = {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  offset: string;
  timestamp: string;
};

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Refuses a topic name Kafka would refuse, before any request is made. */
export function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic) || topic === '.' || topic === '..')
    throw new HubError(
      'BAD_REQUEST',
      `Topic "${String(topic)}" is not a Kafka topic name: use 1 to 249 of a-z A-Z 0-9 . _ -`,
      { where: 'topic' },
    );
}

/** Checks one message's shape and converts it; `where` names it in the error (`topic[i]`). */
export function toKafkaMessage(message: BusMessage, where: string): KafkaOutMessage {
  if (!(message?.value instanceof Uint8Array))
    throw new HubError('BAD_REQUEST', `Message ${where} has no byte value (Uint8Array)`, { where });
  if (message.key !== undefined && typeof message.key !== 'string')
    throw new HubError('BAD_REQUEST', `Message ${where} has a key that is not a string`, { where });
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (typeof value !== 'string')
      throw new HubError('BAD_REQUEST', `Header "${name}" of message ${where} is not a string`, {
        where: `${where}.headers.${name}`,
      });
    headers[name] = Buffer.from(value, 'utf8');
  }
  return {
    key: message.key === undefined ? null : Buffer.from(message.key, 'utf8'),
    value: Buffer.from(message.value.buffer, message.value.byteOffset, message.value.byteLength),
    headers,
  };
}

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Kafka allows a header name twice; the Bus model keeps one value per name: the last wins.
  const one = Array.isArray(value) ? value.at(-1) : value;
  return one === undefined ? undefined : one.toString();
}

/** Converts a delivered Kafka message into a BusRecord. */
export function toBusRecord(topic: string, partition: number, m: KafkaInMessage): BusRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  const value = m.value ?? Buffer.alloc(0);
  const record: BusRecord = {
    topic,
    partition,
    offset: Number(m.offset),
    ts: Number(m.timestamp),
    value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    headers,
  };
  if (m.key !== null) record.key = m.key.toString('utf8');
  return record;
}

/** The message that carries `record` to the dead-letter topic: its own key, value and headers, plus why and where. */
export function deadLetterMessage(record: BusRecord, reason: string): BusMessage {
  const message: BusMessage = {
    value: record.value,
    headers: {
      ...record.headers,
      [DLQ_HEADERS.reason]: reason,
      [DLQ_HEADERS.topic]: record.topic,
      [DLQ_HEADERS.partition]: String(record.partition),
      [DLQ_HEADERS.offset]: String(record.offset),
    },
  };
  if (record.key !== undefined) message.key = record.key;
  return message;
}

/**
 * Splits records into consecutive chunks of at most `maxBytes` of values each; a record larger
 * than `maxBytes` travels alone. Order is kept.
 */
export function chunkByBytes<T extends { value: Uint8Array }>(
  records: readonly T[],
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const r of records) {
    if (current.length > 0 && bytes + r.value.byteLength > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += r.value.byteLength;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Delay before redelivery attempt `attempt` (1-based): doubles from `initialMs`, capped at `maxMs`. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * A group's position and lag on one partition. Kafka answers -1 for a group that committed
 * nothing; such a group will start at the earliest record kept, so its lag counts from there.
 */
export function groupLag(committed: number, low: number, high: number): { committed: number; lag: number } {
  const position = committed < 0 ? low : Math.max(committed, low);
  return { committed: Math.max(committed, 0), lag: Math.max(0, high - position) };
}
