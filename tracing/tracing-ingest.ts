/**
 * The tracing ingest, as `pipeline/ingest.ts` does it for points: accepted spans go to the Bus
 * topic `spans` (the acknowledgement point), and a consumer moves them into the span store and
 * the assembler. The store records the bus offset, and the assembler's link changes, in the same
 * transaction as the spans, so a replay after a crash stores nothing twice and loses nothing.
 */
import type { Logger } from '../core/logger.ts';
import type { Bus, BusMessage, BusRecord, Subscription, WriteCheckpoint } from '../core/ports.ts';
import type { LinkDelta, SpanBatch, TraceAssembler } from './assembler/assembler.ts';
import {
  decodeSpans,
  decodeSpansLight,
  encodeSpanRecord,
  type SpanRecordEncoding,
} from './codec/spans-codec.ts';
import type { TraceSpan } from './model.ts';

export const SPANS_TOPIC = 'spans';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What the ingest needs of a span store: a write that records a checkpoint and link deltas. */
export type CheckpointedSpanStore = {
  write(
    spans: readonly TraceSpan[],
    checkpoint?: WriteCheckpoint,
    links?: readonly LinkDelta[],
  ): Promise<void>;
  /**
   * Optional: the same write from the bus records (their JSON, as bytes or text), which the
   * store parses while the ingest is still decoding and assembling them (`batch`); resolves with
   * the batch.
   */
  writeRecords?(
    records: readonly (string | Uint8Array)[],
    batch: Promise<SpanBatch>,
    checkpoint: WriteCheckpoint,
  ): Promise<SpanBatch>;
  checkpoint(stream: string): Promise<number>;
};

export type TracingIngestOptions = {
  bus: Bus;
  store: CheckpointedSpanStore;
  assembler: TraceAssembler;
  logger: Logger;
  topic?: string;
  group?: string;
  /** Spans per bus record at most. Default 5,000. */
  maxSpansPerRecord?: number;
  /**
   * Bytes of records per batch the consumer takes (one store transaction) at most. Default 32 MiB:
   * a batch only grows that large while a backlog waits, and then each commit writes the rows
   * that do not fill a whole row group through the store's WAL, so fewer, larger commits do less
   * of that (8 MiB: 3.3 s of commits per million spans; 32 MiB: 1.5–1.6 s, `bench/README.md`).
   */
  maxBatchBytes?: number;
  /**
   * The version of the records `publish` writes (`spans-codec.ts`): `binary` (default) for the
   * embedded bus, `json` where other programs read the topic (Kafka).
   */
  recordEncoding?: SpanRecordEncoding;
};

export type SpansListener = (spans: readonly TraceSpan[]) => void;

export type TracingIngest = {
  /** Resolves once the spans are durable on the Bus: the moment to answer 202. */
  publish(spans: readonly TraceSpan[]): Promise<void>;
  /** Publishes records already encoded (by `encodeSpans`, e.g. on a decoding thread); same promise. */
  publishRecords(records: readonly BusMessage[]): Promise<void>;
  /** Starts moving spans from the Bus into the store and the assembler. */
  start(): Promise<void>;
  /** Called with each batch after it is stored (live pages), every field of every span decoded. */
  onStored(listener: SpansListener): () => void;
  /** Spans stored since start, records skipped as undecodable, records skipped as already stored. */
  stats(): { stored: number; skippedRecords: number; replayedRecords: number };
  stop(): Promise<void>;
};

export function createTracingIngest(options: TracingIngestOptions): TracingIngest {
  const { bus, store, assembler, logger } = options;
  const topic = options.topic ?? SPANS_TOPIC;
  const group = options.group ?? 'span-store';
  const perRecord = options.maxSpansPerRecord ?? 5000;
  const encoding = options.recordEncoding ?? 'binary';
  const listeners = new Set<SpansListener>();
  const stored = new Map<number, number>();
  let subscription: Subscription | undefined;
  let storedSpans = 0;
  let skippedRecords = 0;
  let replayedRecords = 0;
  /** Link changes of a write whose outcome is unknown, per partition, with its last offset. */
  const unsure = new Map<number, { offset: number; links: LinkDelta[] }>();

  async function storedUpTo(partition: number): Promise<number> {
    let offset = stored.get(partition);
    if (offset === undefined) {
      offset = await store.checkpoint(`${topic}/${partition}`);
      stored.set(partition, offset);
    }
    return offset;
  }

  /**
   * Decodes records into the assembler; undecodable ones are skipped (and logged). When the store
   * takes the records themselves and nobody listens, the summaries of version-2 records are
   * enough (the assembler and the store's index need no tags).
   */
  async function decodeAll(fresh: readonly BusRecord[]): Promise<SpanBatch> {
    const spans: TraceSpan[] = [];
    const summaries = store.writeRecords !== undefined && listeners.size === 0;
    const decode = summaries ? decodeSpansLight : decodeSpans;
    for (let i = 0; i < fresh.length; i++) {
      try {
        const decoded = decode(fresh[i]!.value);
        for (const s of decoded) spans.push(s);
        assembler.add(decoded);
      } catch (e) {
        skippedRecords++;
        logger.error('skipped an undecodable spans record', { topic, offset: fresh[i]!.offset, err: e });
      }
      // Let requests in between records: a batch can hold many thousand spans.
      await yieldToEventLoop();
    }
    while (assembler.settle(500) > 0) await yieldToEventLoop();
    return { spans, links: assembler.takeLinkDeltas(), ...(summaries ? { summaries } : {}) };
  }

  async function writeBatch(fresh: BusRecord[]): Promise<void> {
    if (fresh.length === 0) return;
    const records = fresh.map((r) => r.value);
    const last = fresh[fresh.length - 1]!;
    const checkpoint = { stream: `${topic}/${last.partition}`, offset: last.offset };
    // The store parses the records while this thread decodes and assembles them.
    const decoding = decodeAll(fresh);
    let batch: SpanBatch | undefined;
    try {
      if (store.writeRecords) batch = await store.writeRecords(records, decoding, checkpoint);
      else {
        batch = await decoding;
        await store.write(batch.spans, checkpoint, batch.links);
      }
    } catch (e) {
      // Whether the write committed is unknown: the store's checkpoint tells on redelivery.
      const links = (await decoding).links ?? [];
      stored.delete(last.partition);
      unsure.set(last.partition, { offset: last.offset, links: [...links] });
      throw e;
    }
    const spans = batch.spans as TraceSpan[];
    stored.set(last.partition, last.offset);
    storedSpans += spans.length;
    for (const l of listeners) {
      try {
        l(spans);
      } catch (e) {
        logger.error('a spans listener failed', { err: e });
      }
    }
  }

  async function onBatch(records: BusRecord[]): Promise<void> {
    const partitions = new Set(records.map((r) => r.partition));
    for (const partition of partitions) {
      const upTo = await storedUpTo(partition);
      const doubt = unsure.get(partition);
      if (doubt) {
        unsure.delete(partition);
        if (doubt.offset > upTo) assembler.returnLinkDeltas(doubt.links);
      }
      const mine = records.filter((r) => r.partition === partition);
      const fresh = mine.filter((r) => r.offset > upTo);
      replayedRecords += mine.length - fresh.length;
      await writeBatch(fresh);
    }
  }

  return {
    async publish(spans) {
      if (spans.length === 0) return;
      const messages = [];
      for (let i = 0; i < spans.length; i += perRecord) {
        const part = spans.slice(i, i + perRecord);
        messages.push({ key: part[0]!.traceId, value: encodeSpanRecord(part, encoding) });
      }
      await bus.publish(topic, messages);
    },
    async publishRecords(records) {
      if (records.length > 0) await bus.publish(topic, [...records]);
    },
    async start() {
      subscription = await bus.subscribe({
        topic,
        group,
        onBatch,
        maxBatchBytes: options.maxBatchBytes ?? 32 * 1024 * 1024,
      });
      logger.info('tracing ingest started', { topic, group });
    },
    onStored(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => ({ stored: storedSpans, skippedRecords, replayedRecords }),
    async stop() {
      await subscription?.close();
      subscription = undefined;
    },
  };
}
