/** Every change, with who, when and what: an append-only JSON-lines file, synced per entry. */
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../../core/clock.ts';

export type AuditEntry = {
  ts: number;
  actor: string;
  action: string;
  target: string;
  details?: Record<string, unknown>;
};
export type AuditQuery = {
  limit?: number;
  actor?: string;
  action?: string;
  since?: number;
  projects?: 'all' | string[];
};

export type AuditLog = {
  record(entry: Omit<AuditEntry, 'ts'>): Promise<void>;
  /** Newest first. */
  list(query?: AuditQuery): Promise<AuditEntry[]>;
};

/** What a module's routes need of the audit log: a way to record. */
export type AuditRecorder = Pick<AuditLog, 'record'>;

export async function openAuditLog(options: { path: string; clock: Clock }): Promise<AuditLog> {
  const { path, clock } = options;
  await mkdir(dirname(path), { recursive: true });
  let chain: Promise<void> = Promise.resolve();
  return {
    record(entry) {
      const line = JSON.stringify({ ts: clock.now(), ...entry }) + '\n';
      chain = chain.then(async () => {
        const fh = await open(path, 'a', 0o600);
        try {
          await fh.write(line);
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
      return chain;
    },
    async list(query = {}) {
      const text = await readFile(path, 'utf8').catch(() => '');
      const out: AuditEntry[] = [];
      for (const line of text.split('\n')) {
        if (line === '') continue;
        try {
          out.push(JSON.parse(line) as AuditEntry);
        } catch {
          // A torn last line after a crash: the entries before it stand.
        }
      }
      const projects = query.projects ?? 'all';
      return out
        .filter((e) => (query.actor ? e.actor === query.actor : true))
        .filter((e) => (query.action ? e.action.startsWith(query.action) : true))
        .filter((e) => (query.since ? e.ts >= query.since : true))
        .filter(
          (e) =>
            projects === 'all' ||
            (typeof e.details?.['project'] === 'string' && projects.includes(e.details['project'] as string)),
        )
        .reverse()
        .slice(0, query.limit ?? 500);
    },
  };
}
