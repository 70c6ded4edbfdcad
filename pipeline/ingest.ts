/**
 * The ingest: publishes accepted points to the Bus (the acknowledgement point) and moves them
 * from the Bus into the MetricStore. The store records the bus offset with every write, so a
 * replay after a crash skips what was already stored: nothing lost, nothing written twice.
 */
import type { Logger } from '../core/logger.ts';
import type { HubInstruments } from '../core/metrics.ts';
import { type MetricPoint, type PointColumns, seriesKey } from '../core/model.ts';
import type { BatchCommit, Bus, BusMessage, BusRecord, MetricStore, Subscription } from '../core/ports.ts';
import { columnsOf, concatColumns, pointsOf } from './codec/point-columns.ts';
import {
  decodePoints,
  encodeBinaryColumns,
  encodeBinaryPoints,
  encodePoints,
  SeriesCache,
  safeSeriesKey,
} from './codec/points-codec.ts';
import { isRefRecord, RefRecordReader, RefRecordWriter } from './codec/series-refs.ts';
import { type PublishedBatch, PublishedPoints } from './published-points.ts';

export const METRICS_TOPIC = 'metrics';

export type IngestOptions = {
  bus: Bus;
  store: MetricStore;
  logger: Logger;
  instruments: HubInstruments;
  topic?: string;
  group?: string;
  /**
   * Spread each published batch over this many message keys by series, so that a partitioned bus
   * (Kafka) keeps every series on one partition and in order. 1 (the default) = one message.
   */
  keyBuckets?: number;
  /**
   * How point records are written: `binary` (v2, `points-codec.ts`, the default), `json` (v1, the
   * schema the Kafka bus documents for other consumers) or `refs` (v3, `series-refs.ts`: a series
   * key once an epoch, then a number; only for a bus this hub alone writes and reads, the embedded
   * one). All three are read whichever is written.
   */
  recordEncoding?: RecordEncoding;
  /** With `refs`: the least points of an epoch (default `EPOCH_POINTS`). */
  epochPoints?: number;
};

export type RecordEncoding = 'binary' | 'json' | 'refs';

/**
 * Called with each stored batch as columns: a listener makes point objects only for the points it
 * keeps (most keep few: the live pages want host metrics, or nothing while no page is open).
 */
export type PointsListener = (batch: PointColumns) => void;

export type Ingest = {
  /**
   * Resolves once the points are durable on the Bus: the moment to answer 2xx. `keys`, when
   * given, are the points' series keys (as `admitPoints` builds them from validated names).
   */
  publish(points: MetricPoint[], protocol: string, keys?: readonly string[]): Promise<void>;
  /**
   * `publish` for points as columns, with their series keys (as `admitColumns` gives them). The
   * consumer then hands the same columns to the store, with no object a point on the way.
   */
  publishColumns(columns: PointColumns, protocol: string, keys: readonly string[]): Promise<void>;
  /** Starts moving points from the Bus into the store. */
  start(): Promise<void>;
  /** Called with each batch after it is stored (live pages, alerting). */
  onStored(listener: PointsListener): () => void;
  stop(): Promise<void>;
};

export function createIngest(options: IngestOptions): Ingest {
  const { bus, store, logger, instruments } = options;
  const topic = options.topic ?? METRICS_TOPIC;
  const group = options.group ?? 'metric-store';
  const listeners = new Set<PointsListener>();
  const encoding = options.recordEncoding ?? 'binary';
  const cache = new SeriesCache();
  const published = new PublishedPoints();
  const refsWriter =
    encoding === 'refs' && (options.keyBuckets ?? 1) <= 1
      ? new RefRecordWriter(options.epochPoints)
      : undefined;
  const refsReaders = new Map<number, RefRecordReader>();
  let subscription: Subscription | undefined;
  /** The last offset stored, per partition, as the store's checkpoints say. */
  const stored = new Map<number, number>();

  async function storedUpTo(partition: number): Promise<number> {
    let offset = stored.get(partition);
    if (offset === undefined) {
      offset = await store.checkpoint(`${topic}/${partition}`);
      stored.set(partition, offset);
    }
    return offset;
  }

  async function onBatch(records: BusRecord[]): Promise<BatchCommit | undefined> {
    const partitions = new Set(records.map((r) => r.partition));
    let commitUpTo = Number.POSITIVE_INFINITY;
    for (const partition of partitions) {
      const upTo = await storedUpTo(partition);
      const ofPartition = records.filter((r) => r.partition === partition);
      await writeBatch(ofPartition, upTo);
      // A store holding points in memory (on the bus only) keeps the bus from committing them.
      // (`upTo` cannot stand in: it is the last offset written, not the last one durable.)
      let durable = store.durableUpTo?.(`${topic}/${partition}`);
      // And a replay must begin where an epoch of v3 records does.
      const reader = refsReaders.get(partition);
      if (reader) durable = reader.commitBound(durable ?? ofPartition.at(-1)!.offset);
      if (durable !== undefined) commitUpTo = Math.min(commitUpTo, durable);
    }
    return commitUpTo === Number.POSITIVE_INFINITY ? undefined : { commitUpTo };
  }

  /** Stores the points of the records after `upTo` (records up to it were stored before). */
  async function writeBatch(records: BusRecord[], upTo: number): Promise<void> {
    const parts: PublishedBatch[] = [];
    let last: BusRecord | undefined;
    for (const r of records) {
      const storedBefore = r.offset <= upTo;
      if (!storedBefore) last = r;
      try {
        // Every v3 record is read for the series it defines, stored or not.
        const reader = isRefRecord(r.value) ? readerOf(r.partition) : undefined;
        reader?.observe(r.value, r.offset);
        if (storedBefore) continue;
        parts.push(published.take(r.value) ?? reader?.decode(r.value) ?? decodePoints(r.value, cache));
      } catch (e) {
        // A record stored before was dead-lettered then, if it had to be.
        if (storedBefore) continue;
        instruments.recordsSkipped.inc({ topic });
        logger.error('skipped an undecodable bus record', { topic, offset: r.offset, err: e });
        await bus.deadLetter?.(r, `undecodable points record: ${(e as Error).message}`);
      }
    }
    if (last !== undefined) await writeParts(parts, last);
  }

  function readerOf(partition: number): RefRecordReader {
    let reader = refsReaders.get(partition);
    if (reader === undefined) {
      reader = new RefRecordReader();
      refsReaders.set(partition, reader);
    }
    return reader;
  }

  /** Stores the points of the records up to `last`, then hands them to the listeners. */
  async function writeParts(parts: PublishedBatch[], last: BusRecord): Promise<void> {
    const checkpoint = { stream: `${topic}/${last.partition}`, offset: last.offset };
    const started = performance.now();
    const columns = concatColumns(parts.map((p) => (isPoints(p) ? columnsOf(p) : p)));
    if (store.writeColumns) await store.writeColumns(columns, checkpoint);
    else await store.write(pointsOf(columns), checkpoint);
    instruments.storeWriteSeconds.observe({}, (performance.now() - started) / 1000);
    instruments.pointsStored.inc({}, columns.series.length);
    stored.set(last.partition, last.offset);
    for (const l of listeners) {
      try {
        l(columns);
      } catch (e) {
        logger.error('a points listener failed', { err: e });
      }
    }
  }

  async function publish(points: MetricPoint[], protocol: string, keys?: readonly string[]): Promise<void> {
    if (points.length === 0) return;
    const refKeys = refsWriter && (keys ?? safeKeysOf(points));
    if (refKeys) return publishRefs(points, columnsOf(points), refKeys, protocol);
    await publishRecords(toRecords(points, options.keyBuckets ?? 1, encoding, keys));
    instruments.pointsAccepted.inc({ protocol }, points.length);
  }

  /** One v3 record of `batch`, as `columns` with their series `keys`. */
  async function publishRefs(
    batch: PublishedBatch,
    columns: PointColumns,
    keys: readonly string[],
    protocol: string,
  ): Promise<void> {
    const record = refsWriter!.encode(columns, keys);
    await publishRecords([{ message: { value: record.bytes }, points: batch }]);
    refsWriter!.confirm(record);
    instruments.pointsAccepted.inc({ protocol }, keys.length);
  }

  /** Publishes records in one append, remembering their points for the consumer of this process. */
  async function publishRecords(records: PublishedRecord[]): Promise<void> {
    for (const r of records) published.add(r.message.value, r.points);
    try {
      await bus.publish(
        topic,
        records.map((r) => r.message),
      );
    } catch (e) {
      for (const r of records) published.forget(r.message.value);
      throw e;
    }
  }

  return {
    publish,
    async publishColumns(columns, protocol, keys) {
      if (columns.series.length === 0) return;
      if (refsWriter) return publishRefs(columns, columns, keys, protocol);
      if (encoding === 'json' || (options.keyBuckets ?? 1) > 1)
        return publish(pointsOf(columns), protocol, keys);
      await publishRecords([{ message: { value: encodeBinaryColumns(columns, keys) }, points: columns }]);
      instruments.pointsAccepted.inc({ protocol }, columns.series.length);
    },
    async start() {
      subscription = await bus.subscribe({ topic, group, onBatch });
      logger.info('ingest started', { topic, group });
    },
    onStored(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      await subscription?.close();
    },
  };
}

function isPoints(batch: PublishedBatch): batch is readonly MetricPoint[] {
  return Array.isArray(batch);
}

/**
 * One message per key bucket: a series always lands in the same bucket, hence the same partition.
 * `keys` (the points' series keys, from validated names) spare building them again.
 */
export function toMessages(
  points: readonly MetricPoint[],
  keyBuckets: number,
  encoding: RecordEncoding = 'binary',
  keys?: readonly string[],
): BusMessage[] {
  return toRecords(points, keyBuckets, encoding, keys).map((r) => r.message);
}

/** A message to publish, with the points it holds. */
type PublishedRecord = { message: BusMessage; points: PublishedBatch };

/** `toMessages`, each message with the points it holds. */
function toRecords(
  points: readonly MetricPoint[],
  keyBuckets: number,
  encoding: RecordEncoding,
  keys: readonly string[] | undefined,
): PublishedRecord[] {
  // Binary needs every key; a JSON record is written when a name cannot stand in one. (`refs`
  // records are one writer's; records spread over keys are v2.)
  const binary = encoding !== 'json' ? (keys ?? safeKeysOf(points)) : undefined;
  const encode = (list: readonly MetricPoint[], listKeys: readonly string[] | undefined) =>
    listKeys ? encodeBinaryPoints(list, listKeys) : encodePoints(list);
  if (keyBuckets <= 1) return [{ message: { value: encode(points, binary) }, points }];
  const buckets = new Map<number, { points: MetricPoint[]; keys: string[] }>();
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const key = keys?.[i] ?? binary?.[i] ?? seriesKey(p.metric, p.tags);
    const b = fnv1a(key) % keyBuckets;
    let bucket = buckets.get(b);
    if (!bucket) {
      bucket = { points: [], keys: [] };
      buckets.set(b, bucket);
    }
    bucket.points.push(p);
    bucket.keys.push(key);
  }
  return [...buckets].map(([b, bucket]) => ({
    message: { key: `series-${b}`, value: encode(bucket.points, binary && bucket.keys) },
    points: bucket.points,
  }));
}

/** The points' series keys, or undefined if a name of one of them cannot stand in a v2 record. */
function safeKeysOf(points: readonly MetricPoint[]): string[] | undefined {
  const keys = new Array<string>(points.length);
  for (let i = 0; i < points.length; i++) {
    const key = safeSeriesKey(points[i]!);
    if (key === undefined) return undefined;
    keys[i] = key;
  }
  return keys;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
