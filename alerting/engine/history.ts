/**
 * Every state change of every series, as JSON lines appended and fsynced once per evaluation
 * cycle (`history.jsonl`). A torn last line after a crash is skipped on reading. Without a
 * folder, the history is kept in memory (tests, `obs rules test`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HistoryEntry } from './evaluator.ts';
import { appendSynced } from './files.ts';

export type HistoryQuery = {
  rule?: string;
  /** The `app` label. */
  app?: string;
  fingerprint?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  until?: number;
  /** Only entries whose `project` label is one of these; absent = all. */
  projects?: readonly string[];
  /** Newest first, at most this many (default 500). */
  limit?: number;
};

export type History = {
  append(entries: HistoryEntry[]): Promise<void>;
  query(q: HistoryQuery): Promise<HistoryEntry[]>;
};

export function matchesHistory(e: HistoryEntry, q: HistoryQuery): boolean {
  if (q.rule !== undefined && e.rule !== q.rule) return false;
  if (q.app !== undefined && e.labels['app'] !== q.app) return false;
  if (q.fingerprint !== undefined && e.fingerprint !== q.fingerprint) return false;
  if (q.since !== undefined && e.ts < q.since) return false;
  if (q.until !== undefined && e.ts > q.until) return false;
  if (q.projects !== undefined && !q.projects.includes(e.labels['project'] ?? '\u0000')) return false;
  return true;
}

function select(all: HistoryEntry[], q: HistoryQuery): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  const limit = q.limit ?? 500;
  for (let i = all.length - 1; i >= 0 && out.length < limit; i--)
    if (matchesHistory(all[i]!, q)) out.push(all[i]!);
  return out;
}

export function createMemoryHistory(): History & { entries: HistoryEntry[] } {
  const entries: HistoryEntry[] = [];
  return {
    entries,
    async append(list) {
      entries.push(...list);
    },
    async query(q) {
      return select(entries, q);
    },
  };
}

export function createFileHistory(dir: string): History {
  const path = join(dir, 'history.jsonl');
  return {
    async append(list) {
      if (list.length === 0) return;
      await appendSynced(path, list.map((e) => JSON.stringify(e)).join('\n') + '\n');
    },
    async query(q) {
      const text = await readFile(path, 'utf8').catch(() => '');
      const all: HistoryEntry[] = [];
      for (const line of text.split('\n')) {
        if (line === '') continue;
        try {
          all.push(JSON.parse(line) as HistoryEntry);
        } catch {
          // A torn last line after a crash: the entries before it stand.
        }
      }
      return select(all, q);
    },
  };
}
