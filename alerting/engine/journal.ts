/**
 * A snapshot plus an append-only journal, so that saving a large state costs what changed:
 * `<name>.json` holds the state as of some moment and the number of the journal that follows it
 * (`"journal": g`); `<name>.<g>.log` holds one JSON record per line, each appended and fsynced
 * before `append` resolves. Loading replays every journal from `g` on over the snapshot.
 *
 * Compaction starts journal `g + 1` at once (later appends go there), writes the snapshot of the
 * state as of that moment atomically, then removes the older journals. A crash in between leaves
 * the old snapshot and both journals, replayed in order, or the new snapshot and a stale journal,
 * removed at load. Records are replayed in order and must set state, not change it (`x = 1`, not
 * `x += 1`), so replaying one the snapshot already holds changes nothing.
 *
 * A crash during an append leaves a torn last line: it is ignored (that append had not resolved,
 * so nothing was told about it). A bad line before the end is reported and skipped.
 */
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HubError } from '../../core/errors.ts';
import { appendSynced, writeFileAtomic } from './files.ts';

export type Journal = {
  /** Appends `text` (whole lines) and resolves once it is on disk; concurrent appends share a write. */
  append(text: string): Promise<void>;
  /** Whether the journal has grown enough (or old enough) to be folded into a new snapshot. */
  due(now: number): boolean;
  /**
   * Starts a new journal and writes `snapshot(g)` (which must record `"journal": g`, built from
   * the state as of this call) as the new snapshot; resolves once it is on disk and the older
   * journals are gone. Waits for a compaction in progress first.
   */
  compact(snapshot: (journal: number) => string, now: number): Promise<void>;
  /** Resolves once no append or compaction is running (errors are theirs to report). */
  settled(): Promise<void>;
};

export type JournalOptions = {
  dir: string;
  /** File names: `<name>.json` and `<name>.<n>.log`. */
  name: string;
  now: () => number;
  /** Compact once the journal is past this and twice the snapshot's size (default 4 MB). */
  compactBytes?: number;
  /** Compact a journal with anything in it after this long (default 10 min). */
  compactAgeMs?: number;
  /** An unreadable snapshot is moved aside and reported here; without it, loading throws. */
  onCorrupt?: (path: string, error: Error) => void;
};

export type OpenedJournal<S> = {
  journal: Journal;
  snapshot: S | undefined;
  /** The journals' records after the snapshot, in order. */
  records: unknown[];
  /** Whether any journal was found: compact once the records are applied, so the next start is clean. */
  replayed: boolean;
};

/** The records of a journal's text; a line cut short by a crash at the end is left out. */
export function parseJournal(text: string): { records: unknown[]; torn: boolean; bad: Error[] } {
  const lines = text.split('\n');
  const records: unknown[] = [];
  const bad: Error[] = [];
  let torn = false;
  lines.forEach((line, i) => {
    if (line === '') return;
    try {
      records.push(JSON.parse(line));
    } catch (e) {
      if (lines.slice(i + 1).every((l) => l === '')) torn = true;
      else bad.push(e as Error);
    }
  });
  return { records, torn, bad };
}

async function readSnapshot<S>(
  path: string,
  onCorrupt: JournalOptions['onCorrupt'],
): Promise<[S | undefined, number]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [undefined, 0];
    throw e;
  }
  try {
    return [JSON.parse(text) as S, text.length];
  } catch (e) {
    if (!onCorrupt)
      throw new HubError('STORE_FAILED', `${path} is not valid JSON: ${(e as Error).message}`, {
        cause: e,
        where: path,
      });
    await rename(path, `${path}.corrupt-${Date.now()}`);
    onCorrupt(path, e as Error);
    return [undefined, 0];
  }
}

/** The journal numbers present in `dir` for `name`, ascending. */
async function journalsIn(dir: string, name: string): Promise<number[]> {
  const files = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const prefix = `${name}.`;
  return files
    .filter((f) => f.startsWith(prefix) && f.endsWith('.log') && /^\d+$/.test(f.slice(prefix.length, -4)))
    .map((f) => Number(f.slice(prefix.length, -4)))
    .sort((a, b) => a - b);
}

/** Reads the snapshot and replays the journals; the returned journal appends after them. */
export async function openJournal<S extends { journal?: number }>(
  o: JournalOptions,
): Promise<OpenedJournal<S>> {
  const snapshotPath = join(o.dir, `${o.name}.json`);
  const logPath = (n: number) => join(o.dir, `${o.name}.${n}.log`);
  const [snapshot, snapshotChars] = await readSnapshot<S>(snapshotPath, o.onCorrupt);
  const present = await journalsIn(o.dir, o.name);
  const first = snapshot ? (snapshot.journal ?? 0) : (present[0] ?? 0);
  const records: unknown[] = [];
  for (const n of present) {
    if (n < first) {
      await rm(logPath(n), { force: true });
      continue;
    }
    const parsed = parseJournal(await readFile(logPath(n), 'utf8'));
    records.push(...parsed.records);
    for (const e of parsed.bad) {
      if (!o.onCorrupt)
        throw new HubError('STORE_FAILED', `${logPath(n)} has a bad record: ${e.message}`, {
          cause: e,
          where: logPath(n),
        });
      o.onCorrupt(logPath(n), e);
    }
  }
  const live = present.filter((n) => n >= first);
  return {
    journal: createJournal(o, live.at(-1) ?? first, first, snapshotChars),
    snapshot,
    records,
    replayed: live.length > 0,
  };
}

function createJournal(o: JournalOptions, current: number, oldest: number, snapshotChars: number): Journal {
  const snapshotPath = join(o.dir, `${o.name}.json`);
  const logPath = (n: number) => join(o.dir, `${o.name}.${n}.log`);
  const minBytes = o.compactBytes ?? 4 * 1024 * 1024;
  const maxAge = o.compactAgeMs ?? 600_000;
  let bytes = 0;
  let since = o.now();
  let snapshotBytes = snapshotChars;
  let queue: string[] = [];
  let writing: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | undefined;
  let compacting: Promise<void> | undefined;

  async function write(): Promise<void> {
    waiting = undefined;
    const text = queue.join('');
    queue = [];
    await appendSynced(logPath(current), text);
    bytes += Buffer.byteLength(text);
  }

  async function compactNow(snapshot: (journal: number) => string, now: number): Promise<void> {
    current += 1;
    bytes = 0;
    since = now;
    const text = snapshot(current);
    snapshotBytes = text.length;
    await writeFileAtomic(snapshotPath, text);
    // An append to the old journal may still be running: the snapshot already holds its record.
    await writing.catch(() => {});
    const upTo = current;
    for (let n = oldest; n < upTo; n++) await rm(logPath(n), { force: true });
    oldest = upTo;
  }

  return {
    append(text) {
      queue.push(text);
      if (waiting) return waiting;
      waiting = writing.catch(() => {}).then(write);
      writing = waiting;
      return waiting;
    },
    due(now) {
      if (compacting || bytes === 0) return false;
      return (bytes >= minBytes && bytes >= 2 * snapshotBytes) || now - since >= maxAge;
    },
    async compact(snapshot, now) {
      while (compacting) await compacting.catch(() => {});
      compacting = compactNow(snapshot, now).finally(() => {
        compacting = undefined;
      });
      return compacting;
    },
    async settled() {
      while (compacting) await compacting.catch(() => {});
      await writing.catch(() => {});
    },
  };
}
