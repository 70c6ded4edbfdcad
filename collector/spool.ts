/**
 * The agent's disk spool: batches that could not be shipped wait here, in order, bounded in
 * bytes. Segment files of JSON lines; a cursor file says how far the oldest segment was sent.
 * When the spool is full the oldest segment goes, and its points are counted as dropped.
 */
import { mkdir, open, readdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HubError } from '../core/errors.ts';
import type { MetricPoint } from '../core/model.ts';

export type SpoolOptions = {
  dir: string;
  maxBytes: number;
  /** A segment is closed at this size (default: a tenth of maxBytes, at least 64 KiB). */
  segmentBytes?: number;
};

export type Spool = {
  /** Appends one batch, synced to disk. */
  append(points: MetricPoint[]): Promise<void>;
  /** The oldest batch not yet sent, or undefined when empty. */
  peek(): Promise<MetricPoint[] | undefined>;
  /** Marks the batch `peek` gave as sent. */
  ack(): Promise<void>;
  /** Batches waiting, bytes used, and points dropped because the spool was full. */
  stats(): { batches: number; bytes: number; droppedPoints: number };
};

type Segment = { name: string; bytes: number; batches: number; points: number };

const SEGMENT_RE = /^(\d{16})\.spool$/;

export async function openSpool(options: SpoolOptions): Promise<Spool> {
  const { dir, maxBytes } = options;
  const segmentBytes = options.segmentBytes ?? Math.max(65_536, Math.floor(maxBytes / 10));
  await mkdir(dir, { recursive: true });
  const cursorPath = join(dir, 'cursor');
  const segments: Segment[] = [];
  for (const name of (await readdir(dir)).filter((n) => SEGMENT_RE.test(n)).sort()) {
    let text = await readFile(join(dir, name), 'utf8');
    if (text !== '' && !text.endsWith('\n')) {
      // A batch torn by a crash mid-write was never acknowledged: cut it, so the next append starts clean.
      text = text.slice(0, text.lastIndexOf('\n') + 1);
      await truncate(join(dir, name), Buffer.byteLength(text));
    }
    const lines = text.split('\n').filter((l) => l !== '');
    const points = lines.reduce((n, l) => n + countPoints(l), 0);
    segments.push({ name, bytes: Buffer.byteLength(text), batches: lines.length, points });
  }
  let cursor = Number((await readFile(cursorPath, 'utf8').catch(() => '0')).trim()) || 0;
  let dropped = 0;
  let next = segments.length > 0 ? Number(SEGMENT_RE.exec(segments[segments.length - 1]!.name)![1]) + 1 : 1;
  let pending: { lines: string[] } | undefined;

  const totalBytes = () => segments.reduce((n, s) => n + s.bytes, 0);
  const saveCursor = async () => {
    await writeFile(cursorPath + '.tmp', String(cursor));
    await rename(cursorPath + '.tmp', cursorPath);
  };
  const dropOldest = async () => {
    const oldest = segments.shift()!;
    dropped += oldest.points;
    await rm(join(dir, oldest.name), { force: true });
    cursor = 0;
    pending = undefined;
    await saveCursor();
  };

  return {
    async append(points) {
      const line = JSON.stringify(points.map((p) => [p.metric, p.tags, p.ts, p.value])) + '\n';
      const size = Buffer.byteLength(line);
      if (size > maxBytes)
        throw new HubError(
          'PAYLOAD_TOO_LARGE',
          `A batch of ${size} bytes does not fit a spool of ${maxBytes}`,
        );
      while (segments.length > 0 && totalBytes() + size > maxBytes) await dropOldest();
      let last = segments[segments.length - 1];
      if (!last || last.bytes + size > segmentBytes) {
        last = { name: `${String(next++).padStart(16, '0')}.spool`, bytes: 0, batches: 0, points: 0 };
        segments.push(last);
      }
      const fh = await open(join(dir, last.name), 'a');
      try {
        await fh.write(line);
        await fh.sync();
      } finally {
        await fh.close();
      }
      last.bytes += size;
      last.batches += 1;
      last.points += points.length;
      if (segments.length === 1) pending = undefined;
    },
    async peek() {
      const oldest = segments[0];
      if (!oldest) return undefined;
      if (!pending) {
        const text = await readFile(join(dir, oldest.name), 'utf8');
        pending = { lines: text.split('\n').filter((l) => l !== '') };
      }
      const line = pending.lines[cursor];
      if (line === undefined) return undefined;
      return (JSON.parse(line) as [string, Record<string, string>, number, number][]).map(
        ([metric, tags, ts, value]) => ({
          metric,
          tags,
          ts,
          value,
        }),
      );
    },
    async ack() {
      const oldest = segments[0];
      if (!oldest) return;
      cursor += 1;
      if (cursor >= oldest.batches) {
        segments.shift();
        await rm(join(dir, oldest.name), { force: true });
        cursor = 0;
        pending = undefined;
      }
      await saveCursor();
    },
    stats: () => ({
      batches: segments.reduce((n, s) => n + s.batches, 0) - cursor,
      bytes: totalBytes(),
      droppedPoints: dropped,
    }),
  };
}

function countPoints(line: string): number {
  try {
    return (JSON.parse(line) as unknown[]).length;
  } catch {
    return 0;
  }
}
