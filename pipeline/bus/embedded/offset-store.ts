/**
 * Committed offsets of the consumer groups of one topic: one small JSON file per group in
 * `<topic>/groups/`, replaced atomically (write temp, fsync, rename, fsync the directory).
 */
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../core/logger.ts';

const SUFFIX = '.json';
const TEMP_SUFFIX = '.tmp';

/** File name of a group: URI-encoded, so any group name is a safe, reversible file name. */
export function groupFileName(group: string): string {
  return encodeURIComponent(group) + SUFFIX;
}

export function parseGroupFileName(name: string): string | undefined {
  if (!name.endsWith(SUFFIX)) return undefined;
  try {
    return decodeURIComponent(name.slice(0, -SUFFIX.length));
  } catch {
    return undefined;
  }
}

/** fsyncs a directory, so that a create, rename or unlink in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export class OffsetStore {
  private readonly dir: string;
  private readonly committed = new Map<string, number>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Loads the committed offsets, removing temp files a crash left behind. */
  static async open(topicDir: string, logger: Logger): Promise<OffsetStore> {
    const store = new OffsetStore(join(topicDir, 'groups'));
    await mkdir(store.dir, { recursive: true });
    for (const name of await readdir(store.dir)) {
      if (name.endsWith(TEMP_SUFFIX)) {
        await unlink(join(store.dir, name));
        continue;
      }
      const group = parseGroupFileName(name);
      if (group === undefined) continue;
      try {
        const data = JSON.parse(await readFile(join(store.dir, name), 'utf8')) as { offset?: unknown };
        if (typeof data.offset !== 'number' || !Number.isSafeInteger(data.offset) || data.offset < 0)
          throw new Error(`bad offset ${String(data.offset)}`);
        store.committed.set(group, data.offset);
      } catch (e) {
        logger.warn('bus: ignoring an unreadable group offset file', {
          file: join(store.dir, name),
          error: e,
        });
      }
    }
    return store;
  }

  /** The next offset the group should read, if it ever committed. */
  get(group: string): number | undefined {
    return this.committed.get(group);
  }

  groups(): Map<string, number> {
    return new Map(this.committed);
  }

  /** Durably records that `group` has handled every record before `offset`. */
  async commit(group: string, offset: number, now: number): Promise<void> {
    const file = join(this.dir, groupFileName(group));
    const temp = file + TEMP_SUFFIX;
    const h = await open(temp, 'w');
    try {
      await h.writeFile(JSON.stringify({ group, offset, committedAt: new Date(now).toISOString() }) + '\n');
      await h.datasync();
    } finally {
      await h.close();
    }
    await rename(temp, file);
    await syncDir(this.dir);
    this.committed.set(group, offset);
  }
}
