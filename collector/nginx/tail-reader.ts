/**
 * Reads a tracked file from its offset to its end and hands the whole lines to the consumer: one
 * read per chunk, cut at its last newline (a partial last line waits for its newline, and no UTF-8
 * sequence is split), decoded once. A chunk with no newline makes the read grow up to
 * `maxLineBytes`; a line longer than that is skipped up to its newline. The offset moves only once
 * the consumer has taken the lines, so one that rejects gets them again on the next read.
 */
import { readSync } from 'node:fs';
import type { Logger } from '../../core/logger.ts';
import { decode, splitLines } from './line-reader.ts';
import type { TailCheckpoint } from './tail-checkpoint.ts';
import { fingerprint, type TrackedFile } from './tracked-file.ts';

/** Where the lines go: exactly one of `onLines` and `onText` (see `TailerOptions`). */
export type LineConsumer = {
  onLines?: (lines: string[]) => Promise<void> | void;
  onText?: (text: string) => unknown;
  onOversized?: (bytes: number, head: string) => void;
};

/** The tailer's stats that reading adds to. */
export type ReadCounters = { lines: number; bytes: number; oversized: number };

export type TailReaderOptions = {
  /** Its hooks are read at each call. */
  consumer: LineConsumer;
  counters: ReadCounters;
  checkpoint: TailCheckpoint;
  log: Logger;
  chunkBytes: number;
  /** At least `chunkBytes`. */
  maxLineBytes: number;
};

/** How much of a skipped line `onOversized` is shown. */
const HEAD_BYTES = 200;

export class TailReader {
  /** One buffer for every file; it grows for long lines and stays grown. */
  private buf: Buffer;

  constructor(private readonly options: TailReaderOptions) {
    this.buf = Buffer.allocUnsafe(options.chunkBytes);
  }

  /** Reads whole lines from `t.offset` to the end of the file, handing them to the consumer. */
  async readAvailable(t: TrackedFile): Promise<number> {
    const { chunkBytes, maxLineBytes, counters, checkpoint } = this.options;
    let total = 0;
    let size = chunkBytes;
    for (;;) {
      if (this.buf.length < size) this.buf = Buffer.allocUnsafe(size);
      const buf = this.buf;
      const bytesRead = readSync(t.fh.fd, buf, 0, size, t.offset);
      if (bytesRead === 0) break;
      if (t.skipping) {
        total += this.skipToNewline(t, bytesRead);
        continue;
      }
      const last = buf.lastIndexOf(10, bytesRead - 1);
      if (last < 0) {
        if (bytesRead < size) break;
        if (size < maxLineBytes) size = Math.min(size * 2, maxLineBytes);
        else total += this.skipOversized(t, bytesRead);
        continue;
      }
      const end = last + 1;
      const count = await this.handOver(decode(buf, 0, end));
      t.tail = fingerprint(t.offset === 0 ? Buffer.alloc(0) : t.tail, buf, end);
      t.offset += end;
      total += end;
      counters.lines += count;
      counters.bytes += end;
      checkpoint.handedOver(end);
      size = chunkBytes;
      if (bytesRead < size) break;
    }
    checkpoint.saveIfDue();
    return total;
  }

  /** Gives whole lines to the consumer; resolves with how many there were. */
  private async handOver(text: string): Promise<number> {
    const { consumer } = this.options;
    if (consumer.onText) {
      const counted = await consumer.onText(text);
      if (typeof counted === 'number') return counted;
      let count = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', nl + 1)) count++;
      return count;
    }
    const lines = splitLines(text);
    await consumer.onLines?.(lines);
    return lines.length;
  }

  /** Inside an oversized line: discards the `bytesRead` just read up to their first newline. */
  private skipToNewline(t: TrackedFile, bytesRead: number): number {
    const nl = this.buf.subarray(0, bytesRead).indexOf(10);
    const skipped = nl < 0 ? bytesRead : nl + 1;
    t.offset += skipped;
    t.skipping = nl < 0;
    return skipped;
  }

  private skipOversized(t: TrackedFile, bytes: number): number {
    this.options.counters.oversized++;
    // The head ends on a character boundary: a character cut in two would read as U+FFFD.
    let end = Math.min(HEAD_BYTES, bytes);
    while (end > 0 && end < bytes && (this.buf[end]! & 0xc0) === 0x80) end--;
    this.options.consumer.onOversized?.(bytes, this.buf.toString('utf8', 0, end));
    this.options.log.warn('skipping a line longer than maxLineBytes', {
      offset: t.offset,
      maxLineBytes: this.options.maxLineBytes,
    });
    t.offset += bytes;
    t.skipping = true;
    return bytes;
  }
}
