/**
 * The notification log: per group, receiver and integration, what was last sent (the firing
 * episodes, `fingerprint@startsAt`, and the resolved ones) and when. It decides, as
 * Alertmanager's dedup stage does, whether a flush has anything new to say, and it is persisted
 * so that a restarted hub does not page again for what it already paged: each notification
 * appends one line to a journal (`nflog.<n>.log`, fsynced), folded now and then into
 * `nflog.json` (see ../engine/journal.ts), instead of rewriting every entry each time.
 */
import { openJournal } from '../engine/journal.ts';

export type NflogEntry = {
  /** Episodes that were firing in the last notification sent. */
  firing: string[];
  /** Episodes that were resolved in it. */
  resolved: string[];
  /** Epoch ms of that notification. */
  ts: number;
};

function isSubset(items: ReadonlySet<string>, of: readonly string[]): boolean {
  const set = new Set(of);
  for (const i of items) if (!set.has(i)) return false;
  return true;
}

/**
 * Whether a group's state needs a notification, given what was last sent: anything newly firing;
 * everything resolved after something was sent firing (even without `send_resolved`, to clear the
 * log); newly resolved with `send_resolved`; otherwise only once `repeatInterval` has passed.
 */
export function needsUpdate(
  entry: NflogEntry | undefined,
  firing: ReadonlySet<string>,
  resolved: ReadonlySet<string>,
  sendResolved: boolean,
  repeatInterval: number,
  now: number,
): boolean {
  if (!entry) return firing.size > 0;
  if (!isSubset(firing, entry.firing)) return true;
  if (firing.size === 0) return entry.firing.length > 0;
  if (sendResolved && !isSubset(resolved, entry.resolved)) return true;
  return entry.ts <= now - repeatInterval;
}

export type NotificationLog = {
  get(groupKey: string, receiver: string, integration: string): NflogEntry | undefined;
  /** Records a notification; resolves once it is on disk. */
  set(groupKey: string, receiver: string, integration: string, entry: NflogEntry): Promise<void>;
  /** Every entry, for the groups status. */
  entries(): { groupKey: string; receiver: string; integration: string; entry: NflogEntry }[];
  /** Resolves once no write (or background compaction) is running: before the directory goes. */
  flushed(): Promise<void>;
};

type Stored = { version: 1; journal?: number; entries: Record<string, NflogEntry> };

const keyOf = (groupKey: string, receiver: string, integration: string) =>
  JSON.stringify([groupKey, receiver, integration]);

/** Opens the log in `dir`; entries older than `retention` are dropped. */
export async function openNotificationLog(options: {
  dir: string;
  retention: number;
  now: () => number;
  /** A background compaction failed (retried when the journal is next due). */
  onError?: (error: Error) => void;
}): Promise<NotificationLog> {
  const opened = await openJournal<Stored>({ dir: options.dir, name: 'nflog', now: options.now });
  const entries = new Map(Object.entries(opened.snapshot?.entries ?? {}));
  for (const [key, entry] of opened.records as [string, NflogEntry][]) entries.set(key, entry);
  const prune = () => {
    const oldest = options.now() - options.retention;
    for (const [k, e] of entries) if (e.ts < oldest) entries.delete(k);
  };
  prune();
  const { journal } = opened;
  const snapshot = (n: number) =>
    JSON.stringify({ version: 1, journal: n, entries: Object.fromEntries(entries) } satisfies Stored);
  if (opened.replayed) await journal.compact(snapshot, options.now());
  return {
    get: (g, r, i) => entries.get(keyOf(g, r, i)),
    async set(g, r, i, entry) {
      const key = keyOf(g, r, i);
      entries.set(key, entry);
      prune();
      // Pruned entries need no record: they are pruned again when the journal is replayed.
      await journal.append(`${JSON.stringify([key, entry])}\n`);
      const now = options.now();
      if (journal.due(now)) journal.compact(snapshot, now).catch((e: Error) => options.onError?.(e));
    },
    entries: () =>
      [...entries].map(([k, entry]) => {
        const [groupKey, receiver, integration] = JSON.parse(k) as [string, string, string];
        return { groupKey, receiver, integration, entry };
      }),
    flushed: () => journal.settled(),
  };
}
