/**
 * One JSON state file in the data dir, replaced atomically: written to a temp file, synced,
 * renamed over the old one, and the directory synced, so a kill -9 leaves the old or the new
 * content, never a torn one. Writes are serialised; a write asked for while one runs coalesces.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HubError } from '../../core/errors.ts';

export type StateFile<T> = {
  /** The stored value, or `fallback` when there is no file yet. */
  read(fallback: T): Promise<T>;
  /** Stores `snapshot()` as of when the write runs; resolves once it is durable. */
  write(snapshot: () => T): Promise<void>;
  /** Resolves once no write is running or queued. */
  flushed(): Promise<void>;
};

/** Replaces `path` with `text`: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export function createStateFile<T>(path: string): StateFile<T> {
  let running: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  let latest: (() => T) | undefined;

  async function writeNow(): Promise<void> {
    const snapshot = latest!;
    latest = undefined;
    await writeFileAtomic(path, JSON.stringify(snapshot()));
  }

  return {
    async read(fallback) {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
        throw new HubError('STORE_FAILED', `Cannot read ${path}: ${(e as Error).message}`, {
          cause: e,
          where: path,
        });
      }
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new HubError('STORE_FAILED', `${path} is not valid JSON: ${(e as Error).message}`, {
          cause: e,
          where: path,
        });
      }
    },
    write(snapshot) {
      latest = snapshot;
      if (queued) return queued;
      queued = running.then(
        () => {
          queued = undefined;
          return writeNow();
        },
        () => {
          queued = undefined;
          return writeNow();
        },
      );
      running = queued;
      return queued;
    },
    async flushed() {
      await running.catch(() => {});
    },
  };
}
