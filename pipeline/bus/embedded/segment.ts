/**
 * One segment file of a topic: frames back to back, named by the offset of its first record.
 * Appends and reads use positional I/O on one file handle, so reads never wait for writes.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HubError } from '../../../core/errors.ts';
import type { BusRecord } from '../../../core/ports.ts';
import {
  decodeFrame,
  FRAME_HEADER_BYTES,
  PEEK_BYTES,
  peekTimestamp,
  segmentFileName,
} from './record-codec.ts';

/**
 * Segment files are opened with O_DSYNC where the platform has it (Linux, macOS): a write returns
 * once its bytes, and the file's new size, are on disk. That is one trip to libuv's thread pool
 * per append instead of a write and then an fdatasync, and each trip also waits for the event
 * loop: under load two trips made a publish wait about twice as long.
 */
const DSYNC = constants.O_DSYNC ?? 0;

/** A sparse index entry is kept every this many bytes. */
const INDEX_INTERVAL_BYTES = 4096;
const SCAN_CHUNK_BYTES = 1024 * 1024;

export type ScanResult = {
  /** Bytes of whole, valid frames with consecutive offsets from the base. */
  validBytes: number;
  /** Offset after the last valid record. */
  nextOffset: number;
  /** Timestamp of the last valid record, if any. */
  lastTs: number | undefined;
  /** Bytes after them: a torn or corrupt tail (cut off when repairing). */
  droppedBytes: number;
  /** Why scanning stopped before the end of the file, if it did. */
  problem: string | undefined;
};

export class Segment {
  readonly baseOffset: number;
  readonly path: string;
  /** Bytes written (and, once `append` resolves, synced). */
  size: number;
  /** Newest record timestamp, once known. */
  maxTs: number | undefined;
  private handle: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  private readers = 0;
  private deleted = false;
  private indexOffsets: number[] = [];
  private indexPositions: number[] = [];
  private lastIndexed = -INDEX_INTERVAL_BYTES;
  private indexing: Promise<void> | undefined;

  constructor(dir: string, baseOffset: number, size: number, indexed: boolean) {
    this.baseOffset = baseOffset;
    this.path = join(dir, segmentFileName(baseOffset));
    this.size = size;
    if (indexed || size === 0) this.indexing = Promise.resolve();
  }

  /** Creates an empty segment file (truncating any leftover of the same name). */
  static async create(dir: string, baseOffset: number): Promise<Segment> {
    const segment = new Segment(dir, baseOffset, 0, true);
    segment.handle = await open(
      segment.path,
      constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | DSYNC,
      0o666,
    );
    return segment;
  }

  private file(): Promise<FileHandle> {
    if (this.handle) return Promise.resolve(this.handle);
    this.opening ??= open(this.path, constants.O_RDWR | DSYNC).then((h) => {
      this.handle = h;
      return h;
    });
    return this.opening;
  }

  /**
   * Reads the whole file, checking every frame, and builds the sparse index. If `repair`, a bad
   * tail is cut off the file; otherwise reading stops there.
   */
  async scan(repair: boolean): Promise<ScanResult> {
    const h = await this.file();
    const fileSize = (await h.stat()).size;
    this.resetIndex();
    let pos = 0;
    let expected = this.baseOffset;
    let lastTs: number | undefined;
    let problem: string | undefined;
    let need = 0;
    while (pos < fileSize && problem === undefined) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(SCAN_CHUNK_BYTES, need), fileSize - pos));
      const { bytesRead } = await h.read(buf, 0, buf.length, pos);
      let p = 0;
      while (p < bytesRead) {
        const r = decodeFrame(buf, p, bytesRead);
        if (r.kind === 'corrupt') problem = r.reason;
        else if (r.kind === 'partial') {
          need = r.frameBytes ?? 0;
          if (pos + p + (r.frameBytes ?? FRAME_HEADER_BYTES) > fileSize) problem = 'torn frame at the end';
        } else if (r.record.offset !== expected)
          problem = `offset ${r.record.offset} where ${expected} was expected`;
        if (r.kind !== 'ok' || problem !== undefined) break;
        this.noteFrame(expected, pos + p);
        lastTs = r.record.ts;
        expected++;
        p = r.next;
      }
      if (bytesRead === 0) problem ??= 'file shrank while scanning';
      pos += p;
    }
    if (problem !== undefined && repair) {
      await h.truncate(pos);
      await h.datasync();
    }
    this.size = pos;
    this.maxTs = lastTs;
    if (repair) this.indexing = Promise.resolve();
    return { validBytes: pos, nextOffset: expected, lastTs, droppedBytes: fileSize - pos, problem };
  }

  private resetIndex(): void {
    this.indexOffsets = [];
    this.indexPositions = [];
    this.lastIndexed = -INDEX_INTERVAL_BYTES;
  }

  private noteFrame(offset: number, position: number): void {
    if (position - this.lastIndexed < INDEX_INTERVAL_BYTES) return;
    this.indexOffsets.push(offset);
    this.indexPositions.push(position);
    this.lastIndexed = position;
  }

  /**
   * Writes frames at the end of the file, durably (O_DSYNC, else fdatasync). `frameSizes` gives the
   * size of each frame in `data`, whose offsets count up from `firstOffset`, for the sparse index.
   * On failure the file is cut back to its old size; the error can be retried if that worked.
   */
  async append(data: Buffer, firstOffset: number, frameSizes: number[], maxTs: number): Promise<void> {
    const h = await this.file();
    const at = this.size;
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await h.write(data, done, data.length - done, at + done);
        done += bytesWritten;
      }
      if (DSYNC === 0) await h.datasync();
    } catch (e) {
      const rolledBack = await this.rollback(at).then(
        () => true,
        () => false,
      );
      const reason = e instanceof Error ? e.message : String(e);
      throw new HubError('BUS_FAILED', `Cannot append to ${this.path}: ${reason}`, {
        cause: e,
        canRetry: rolledBack,
        where: this.path,
      });
    }
    let pos = at;
    for (let i = 0; i < frameSizes.length; i++) {
      this.noteFrame(firstOffset + i, pos);
      pos += frameSizes[i]!;
    }
    this.size = at + data.length;
    this.maxTs = Math.max(this.maxTs ?? maxTs, maxTs);
  }

  private async rollback(size: number): Promise<void> {
    const h = await this.file();
    await h.truncate(size);
    await h.datasync();
  }

  private async ensureIndex(): Promise<void> {
    this.indexing ??= this.scan(false).then((r) => {
      if (r.problem !== undefined)
        throw new HubError(
          'BUS_FAILED',
          `Segment ${this.path} is damaged at byte ${r.validBytes}: ${r.problem}`,
          {
            where: `${this.path}:${r.validBytes}`,
          },
        );
    });
    return this.indexing;
  }

  /** The newest record timestamp, reading the file if it is not known yet. */
  async newestTs(): Promise<number | undefined> {
    if (this.maxTs === undefined && this.size > 0) await this.ensureIndex().catch(() => undefined);
    return this.maxTs;
  }

  /** The timestamp of the first record, read from the file. */
  async firstTs(): Promise<number | undefined> {
    if (this.size < PEEK_BYTES) return undefined;
    const h = await this.file();
    const buf = Buffer.alloc(PEEK_BYTES);
    await h.read(buf, 0, PEEK_BYTES, 0);
    return peekTimestamp(buf);
  }

  private positionOf(offset: number): number {
    let lo = 0;
    let hi = this.indexOffsets.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.indexOffsets[mid]! <= offset) {
        found = this.indexPositions[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /**
   * Records of `topic` from `from` (inclusive) to `until` (exclusive), at least one, then up to
   * `maxValueBytes` of values in total, within this segment.
   */
  async read(topic: string, from: number, until: number, maxValueBytes: number): Promise<BusRecord[]> {
    this.readers++;
    try {
      await this.ensureIndex();
      return await this.readFrom(topic, from, until, maxValueBytes);
    } finally {
      this.readers--;
      if (this.deleted && this.readers === 0) await this.closeHandle();
    }
  }

  private async readFrom(
    topic: string,
    from: number,
    until: number,
    maxValueBytes: number,
  ): Promise<BusRecord[]> {
    const h = await this.file();
    const limit = this.size;
    const out: BusRecord[] = [];
    let valueBytes = 0;
    let pos = this.positionOf(from);
    let need = 0;
    while (pos < limit) {
      const want = Math.min(limit - pos, Math.max(maxValueBytes + 64 * 1024, need));
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await h.read(buf, 0, want, pos);
      let p = 0;
      while (p < bytesRead) {
        const r = decodeFrame(buf, p, bytesRead, topic);
        if (r.kind === 'partial') {
          need = r.frameBytes ?? 64;
          break;
        }
        if (r.kind === 'corrupt')
          throw new HubError('BUS_FAILED', `Bad frame in ${this.path} at byte ${pos + p}: ${r.reason}`, {
            where: `${this.path}:${pos + p}`,
          });
        const record = r.record;
        if (record.offset >= until) return out;
        p = r.next;
        if (record.offset < from) continue;
        if (out.length > 0 && valueBytes + record.value.length > maxValueBytes) return out;
        out.push(record);
        valueBytes += record.value.length;
      }
      if (p === 0 && (bytesRead === 0 || need > limit - pos))
        throw new HubError('BUS_FAILED', `Truncated frame in ${this.path} at byte ${pos}`, {
          where: `${this.path}:${pos}`,
        });
      pos += p;
    }
    return out;
  }

  /** Removes the file; an ongoing read finishes on the open handle first. */
  async delete(): Promise<void> {
    this.deleted = true;
    await unlink(this.path);
    if (this.readers === 0) await this.closeHandle();
  }

  async closeHandle(): Promise<void> {
    const h = this.handle ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    this.handle = undefined;
    this.opening = undefined;
    await h?.close();
  }
}
