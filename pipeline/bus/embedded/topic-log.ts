/**
 * The log of one topic (one partition): a directory of segments, appended to with group commit,
 * read by offset, trimmed by retention.
 */
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../../core/clock.ts';
import { HubError, toHubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { BusMessage, BusRecord } from '../../../core/ports.ts';
import { syncDir } from './offset-store.ts';
import { RecentRecords } from './recent-records.ts';
import { encodeFrame, frameSize, parseSegmentFileName, segmentFileName } from './record-codec.ts';
import { Segment } from './segment.ts';

export type TopicLogOptions = {
  /** The topic's directory. */
  dir: string;
  topic: string;
  segmentBytes: number;
  retentionBytes: number;
  retentionAgeMs: number;
  /** Frame bytes of the newest records kept in memory for readers (`RecentRecords`); 0 for none. */
  recentBytes?: number;
  clock: Clock;
  logger: Logger;
};

type Pending = { messages: BusMessage[]; resolve: () => void; reject: (e: HubError) => void };

export class TopicLog {
  readonly topic: string;
  private readonly options: TopicLogOptions;
  private readonly logger: Logger;
  private segments: Segment[];
  /** Offsets below this are on disk and synced, and only those are visible to readers. */
  private end: number;
  private lastTs: number;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private readonly listeners = new Set<() => void>();
  private broken: HubError | undefined;
  private closed = false;
  private retention: Promise<void> = Promise.resolve();
  private readonly recent: RecentRecords;

  private constructor(options: TopicLogOptions, segments: Segment[], end: number, lastTs: number) {
    this.options = options;
    this.recent = new RecentRecords(options.recentBytes ?? 0);
    this.topic = options.topic;
    this.logger = options.logger;
    this.segments = segments;
    this.end = end;
    this.lastTs = lastTs;
  }

  /** Opens (or creates) the topic directory, cutting off a torn tail of the last segment. */
  static async open(options: TopicLogOptions): Promise<TopicLog> {
    const { dir, logger } = options;
    await mkdir(dir, { recursive: true });
    const bases = (await readdir(dir))
      .map(parseSegmentFileName)
      .filter((b): b is number => b !== undefined)
      .sort((a, b) => a - b);
    if (bases.length === 0) {
      const first = await Segment.create(dir, 0);
      await syncDir(dir);
      return new TopicLog(options, [first], 0, 0);
    }
    const segments: Segment[] = [];
    for (const base of bases) {
      const { size } = await stat(join(dir, segmentFileName(base)));
      segments.push(new Segment(dir, base, size, false));
    }
    const last = segments.at(-1)!;
    const scan = await last.scan(true);
    if (scan.problem !== undefined)
      logger.warn('bus: dropped a torn or corrupt tail of the log', {
        topic: options.topic,
        segment: last.path,
        droppedBytes: scan.droppedBytes,
        keptBytes: scan.validBytes,
        reason: scan.problem,
      });
    for (let i = 0; i < segments.length - 1; i++)
      segments[i]!.maxTs = (await segments[i + 1]!.firstTs()) ?? segments[i]!.maxTs;
    const lastTs = scan.lastTs ?? segments.at(-2)?.maxTs ?? 0;
    return new TopicLog(options, segments, scan.nextOffset, lastTs);
  }

  /** The earliest offset still on disk. */
  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** The offset the next record will get; every record below it is durable. */
  get endOffset(): number {
    return this.end;
  }

  get bytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Calls `listener` after each durable append; returns a function that stops it. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Appends and syncs messages. Appends that arrive while a sync runs are written and synced
   * together by the next round (group commit).
   */
  append(messages: BusMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new HubError('UNAVAILABLE', `Topic ${this.topic} is closed`));
    if (this.broken) return Promise.reject(this.broken);
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    // Lets publishes made in the same tick join the first round.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const round = this.queue.splice(0);
      try {
        if (this.broken) throw this.broken;
        await this.write(round.length === 1 ? round[0]!.messages : round.flatMap((p) => p.messages));
        for (const p of round) p.resolve();
      } catch (e) {
        const error = toHubError(e, 'BUS_FAILED');
        if (!error.canRetry) this.broken ??= error;
        this.logger.error('bus: append failed', { topic: this.topic, error });
        for (const p of round) p.reject(error);
      }
    }
    this.flushing = undefined;
  }

  private async write(messages: BusMessage[]): Promise<void> {
    const { segmentBytes } = this.options;
    const ts = Math.max(this.options.clock.now(), this.lastTs);
    const sizes = messages.map(frameSize);
    let i = 0;
    while (i < messages.length) {
      let segment = this.segments.at(-1)!;
      if (segment.size > 0 && segment.size + sizes[i]! > segmentBytes) segment = await this.roll();
      let bytes = sizes[i]!;
      let j = i + 1;
      while (j < messages.length && segment.size + bytes + sizes[j]! <= segmentBytes) bytes += sizes[j++]!;
      const data = Buffer.allocUnsafe(bytes);
      const valueEnds: number[] = [];
      let pos = 0;
      for (let k = i; k < j; k++) {
        pos = encodeFrame(data, pos, this.end + k - i, ts, messages[k]!);
        valueEnds.push(pos);
      }
      await segment.append(data, this.end, sizes.slice(i, j), ts);
      for (let k = i; k < j; k++) {
        const m = messages[k]!;
        const valueEnd = valueEnds[k - i]!;
        const record: BusRecord = {
          topic: this.topic,
          partition: 0,
          offset: this.end + k - i,
          ts,
          // The publisher's own bytes where they are a Buffer, as those read from disk are: equal
          // to the segment's, and a publisher can tell its record back by identity.
          value: Buffer.isBuffer(m.value) ? m.value : data.subarray(valueEnd - m.value.length, valueEnd),
        };
        if (m.key !== undefined) record.key = m.key;
        if (m.headers !== undefined) record.headers = { ...m.headers };
        this.recent.add(record, sizes[k]!);
      }
      this.end += j - i;
      this.lastTs = ts;
      i = j;
      for (const listener of [...this.listeners]) listener();
    }
  }

  private async roll(): Promise<Segment> {
    const { dir } = this.options;
    let segment: Segment | undefined;
    try {
      segment = await Segment.create(dir, this.end);
      await syncDir(dir);
    } catch (e) {
      // A stray empty segment would later claim offsets the previous one holds.
      await segment?.closeHandle().catch(() => undefined);
      await unlink(join(dir, segmentFileName(this.end))).catch(() => undefined);
      throw toHubError(e, 'BUS_FAILED');
    }
    this.segments.push(segment);
    this.logger.debug('bus: rolled to a new segment', { topic: this.topic, baseOffset: this.end });
    void this.enforceRetention();
    return segment;
  }

  /**
   * Durable records from `from` on: at least one, then up to `maxValueBytes` of values; from
   * memory when they are among the newest (`recentBytes`), else from disk, never crossing a
   * segment. `from` must be at or above `startOffset`.
   */
  async read(from: number, maxValueBytes: number): Promise<BusRecord[]> {
    const until = this.end;
    if (from >= until) return [];
    if (from < this.startOffset)
      throw new HubError('BUS_FAILED', `Offset ${from} of ${this.topic} was deleted by retention`);
    const recent = this.recent.read(from, maxValueBytes);
    if (recent) return recent;
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= from) lo = mid;
      else hi = mid - 1;
    }
    return this.segments[lo]!.read(this.topic, from, until, maxValueBytes);
  }

  /** Deletes old segments (never the one written to) while the topic is too big or they are too old. */
  enforceRetention(): Promise<void> {
    this.retention = this.retention
      .then(() => this.retain())
      .catch((error) => this.logger.error('bus: retention failed', { topic: this.topic, error }));
    return this.retention;
  }

  private async retain(): Promise<void> {
    const { retentionBytes, retentionAgeMs, clock } = this.options;
    while (this.segments.length > 1 && !this.closed) {
      const oldest = this.segments[0]!;
      let reason: string | undefined;
      if (this.bytes > retentionBytes) reason = 'size';
      else if (oldest.size === 0) reason = 'empty';
      else {
        const newest = await oldest.newestTs();
        if (newest !== undefined && newest < clock.now() - retentionAgeMs) reason = 'age';
      }
      if (reason === undefined || this.segments[0] !== oldest) break;
      this.segments.shift();
      await oldest.delete();
      this.logger.info('bus: deleted an old segment', {
        topic: this.topic,
        segment: oldest.path,
        reason,
        bytes: oldest.size,
        records: this.segments[0]!.baseOffset - oldest.baseOffset,
      });
    }
  }

  /** Waits for queued appends, then closes the files. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.closed = true;
    await this.retention;
    for (const listener of [...this.listeners]) listener();
    for (const segment of this.segments) await segment.closeHandle();
  }
}
