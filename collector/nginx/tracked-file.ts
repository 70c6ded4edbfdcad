/**
 * A file the tailer has open, and how it is recognised: by its identity (dev + inode), and by the
 * last bytes before the offset, which tell a copytruncate (same identity, other bytes) and find
 * the copy it left. Reads and stats are synchronous, for the reason given in `tailer.ts`.
 */
import { fstatSync, readSync, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Clock } from '../../core/clock.ts';
import type { SavedFile } from './tail-state.ts';

/** Bytes before the offset kept to recognise the file (after a copytruncate or in a copy). */
export const FINGERPRINT_BYTES = 64;

export type TrackedFile = {
  fh: FileHandle;
  /** Where it was opened (it may have been renamed since). */
  path: string;
  id: string;
  offset: number;
  /** The FINGERPRINT_BYTES bytes before `offset`. */
  tail: Buffer;
  /** Inside a line longer than maxLineBytes: discard up to the next newline. */
  skipping: boolean;
  /** clock.now() when it last grew (draining files). */
  grewAt: number;
  /** The copy a copytruncate left: its lines count as rescued. */
  copy?: true;
};

const fileId = (s: { dev: bigint; ino: bigint }) => `${s.dev}:${s.ino}`;

/** Opens `path` to be read from `offset`; null when there is no such file. */
export async function openTracked(
  path: string,
  offset: number,
  tail: Buffer,
  clock: Clock,
): Promise<TrackedFile | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const s = await fh.stat({ bigint: true });
    return { fh, path, id: fileId(s), offset, tail, skipping: false, grewAt: clock.now() };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The identity and size of the file now at `path`, or null when there is none. */
export function statId(path: string): { id: string; size: number } | null {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  return s ? { id: fileId(s), size: Number(s.size) } : null;
}

export function toSavedFile(t: TrackedFile): SavedFile {
  return { id: t.id, offset: t.offset, tail: t.tail.toString('base64') };
}

/** True when the file was truncated: shorter than the offset, or other bytes before it. */
export function wasTruncated(t: TrackedFile): boolean {
  const size = fstatSync(t.fh.fd).size;
  if (size < t.offset) return true;
  if (size === t.offset || t.offset === 0 || t.tail.length === 0) return false;
  return !endsWith(t.fh, t.offset, t.tail);
}

/** Moves `t` to the end of the file's last whole line, taking the bytes before it as its tail. */
export function seekLastLine(t: TrackedFile): void {
  t.offset = lineStartBefore(t.fh, fstatSync(t.fh.fd).size);
  const length = Math.min(t.offset, FINGERPRINT_BYTES);
  t.tail = readAt(t.fh, t.offset - length, length);
}

/** The last FINGERPRINT_BYTES bytes of `previous` followed by `buf[0, end)`. */
export function fingerprint(previous: Buffer, buf: Buffer, end: number): Buffer {
  if (end >= FINGERPRINT_BYTES) return Buffer.from(buf.subarray(end - FINGERPRINT_BYTES, end));
  const joined = Buffer.concat([previous, buf.subarray(0, end)]);
  return Buffer.from(joined.subarray(Math.max(0, joined.length - FINGERPRINT_BYTES)));
}

/** A file read before a restart, found again in `rotatedPaths` by its identity. */
export async function findRotated(
  rotatedPaths: string[],
  file: SavedFile,
  tail: Buffer,
  clock: Clock,
): Promise<TrackedFile | null> {
  for (const candidate of rotatedPaths) {
    if (statId(candidate)?.id !== file.id) continue;
    const t = await openTracked(candidate, file.offset, tail, clock);
    if (t?.id === file.id) return t;
    await t?.fh.close();
  }
  return null;
}

/**
 * The copy a copytruncate left of `t` in `rotatedPaths`: another file, at least `t.offset` long,
 * whose bytes before `t.offset` are `t.tail`; opened at `t.offset`, for the caller to close.
 */
export async function findCopy(
  rotatedPaths: string[],
  t: TrackedFile,
  clock: Clock,
): Promise<TrackedFile | null> {
  for (const candidate of rotatedPaths) {
    const info = statId(candidate);
    if (!info || info.id === t.id || info.size < t.offset) continue;
    const copy = await openTracked(candidate, t.offset, t.tail, clock);
    if (!copy) continue;
    let same = false;
    try {
      same = endsWith(copy.fh, t.offset, t.tail);
    } finally {
      if (!same) await copy.fh.close();
    }
    if (same) return copy;
  }
  return null;
}

/** True when the bytes of `fh` just before `offset` are `tail`. */
function endsWith(fh: FileHandle, offset: number, tail: Buffer): boolean {
  return readAt(fh, offset - tail.length, tail.length).equals(tail);
}

function readAt(fh: FileHandle, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const bytesRead = readSync(fh.fd, buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** Offset just after the last newline before `size` (0 if none in the last MiB). */
function lineStartBefore(fh: FileHandle, size: number): number {
  const block = 64 * 1024;
  for (let end = size; end > 0 && size - end < 1024 * 1024; end -= block) {
    const from = Math.max(0, end - block);
    const part = readAt(fh, from, end - from);
    const nl = part.lastIndexOf(10);
    if (nl >= 0) return from + nl + 1;
  }
  return 0;
}
