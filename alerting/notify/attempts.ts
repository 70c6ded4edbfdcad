/**
 * The record of every delivery attempt: when, to which receiver and integration, for which
 * group, the HTTP status or SMTP code or error, and how long it took. The newest `keep` are held
 * in memory for the API and appended to `attempts.jsonl` in the data dir.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './state-file.ts';

export type AttemptRecord = {
  id: number;
  /** Epoch ms the attempt started (hub clock). */
  ts: number;
  receiver: string;
  /** `webhook/0`, `email/1`, … */
  integration: string;
  groupKey: string;
  /** 1 for the first try of a notification, 2 for its first retry, … */
  attempt: number;
  ok: boolean;
  /** HTTP status or SMTP reply code, when there was an answer. */
  status: number | null;
  error?: string;
  /** Whether the failure may be retried. */
  canRetry?: boolean;
  durationMs: number;
  firing: number;
  resolved: number;
  /** `project` labels of the alerts sent ('' for alerts without one), for scoping. */
  projects: string[];
  /** The on-call team when this was a page of an escalation. */
  via?: string;
};

export type AttemptQuery = {
  receiver?: string;
  groupKey?: string;
  since?: number;
  ok?: boolean;
  limit?: number;
  /** Only attempts all of whose alerts belong to these projects. */
  projects?: 'all' | readonly string[];
};

export type AttemptLog = {
  record(a: Omit<AttemptRecord, 'id'>): void;
  /** Newest first. */
  list(query?: AttemptQuery): AttemptRecord[];
  /** Resolves once every record so far is written to the file. */
  flushed(): Promise<void>;
};

export async function openAttemptLog(options: { dir: string; keep?: number }): Promise<AttemptLog> {
  const keep = options.keep ?? 2000;
  const path = join(options.dir, 'attempts.jsonl');
  await mkdir(options.dir, { recursive: true });
  const text = await readFile(path, 'utf8').catch(() => '');
  let records: AttemptRecord[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      records.push(JSON.parse(line) as AttemptRecord);
    } catch {
      // A torn last line after a crash: the records before it stand.
    }
  }
  let lines = records.length;
  records = records.slice(-keep);
  let nextId = (records.at(-1)?.id ?? 0) + 1;
  let chain: Promise<void> = Promise.resolve();
  const rewrite = () => {
    const snapshot = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    lines = records.length;
    chain = chain.then(() => writeFileAtomic(path, snapshot)).catch(() => {});
  };
  if (lines > keep) rewrite();
  return {
    record(a) {
      const r: AttemptRecord = { id: nextId++, ...a };
      records.push(r);
      if (records.length > keep) records.shift();
      if (++lines > 2 * keep) rewrite();
      else
        chain = chain.then(() => appendFile(path, JSON.stringify(r) + '\n', { mode: 0o600 })).catch(() => {});
    },
    flushed: () => chain,
    list(q = {}) {
      const projects = q.projects ?? 'all';
      const out: AttemptRecord[] = [];
      for (let i = records.length - 1; i >= 0 && out.length < (q.limit ?? 100); i--) {
        const r = records[i]!;
        if (q.receiver !== undefined && r.receiver !== q.receiver) continue;
        if (q.groupKey !== undefined && r.groupKey !== q.groupKey) continue;
        if (q.since !== undefined && r.ts < q.since) continue;
        if (q.ok !== undefined && r.ok !== q.ok) continue;
        if (projects !== 'all' && !r.projects.every((p) => projects.includes(p))) continue;
        out.push(r);
      }
      return out;
    },
  };
}
