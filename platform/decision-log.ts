/**
 * The autoscaler's decisions, kept across restarts: an append-only JSON-lines file, of which the
 * newest `keep` records are held in memory. The file is rewritten with only those once it holds
 * twice as many, so it stays bounded however long the hub runs.
 */
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { ScalingRecord } from './types.ts';

export type DecisionFilter = {
  /** Only this app's records (`/project/app`). */
  appId?: string;
  /** Only records of apps for which this returns true (project scoping). */
  accept?: (appId: string) => boolean;
  /** At most this many, newest first; default 200. */
  limit?: number;
};

export type DecisionLog = {
  /** Adds a record to memory and to the file (one write per record, in order). */
  append(record: ScalingRecord): Promise<void>;
  /** Newest first. */
  list(filter?: DecisionFilter): ScalingRecord[];
  /** Waits for pending writes. */
  flush(): Promise<void>;
};

export type DecisionLogOptions = {
  path: string;
  /** Records kept in memory and after compaction; default 2000. */
  keep?: number;
  logger: Logger;
};

function isRecord(v: unknown): v is ScalingRecord {
  const r = v as Partial<ScalingRecord> | null;
  return (
    !!r &&
    typeof r.appId === 'string' &&
    typeof r.ts === 'number' &&
    typeof r.action === 'string' &&
    typeof r.reason === 'string'
  );
}

/** Parses the file's lines; a torn last line (crash mid-write) or a bad line is skipped, not fatal. */
export function parseDecisionLines(text: string): { records: ScalingRecord[]; bad: number } {
  const records: ScalingRecord[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (isRecord(v)) records.push(v);
      else bad++;
    } catch {
      bad++;
    }
  }
  return { records, bad };
}

/** Opens (or creates) the log and loads its newest records. */
export async function openDecisionLog(options: DecisionLogOptions): Promise<DecisionLog> {
  const { path, logger } = options;
  const keep = Math.max(1, options.keep ?? 2000);
  await mkdir(dirname(path), { recursive: true });
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const parsed = parseDecisionLines(text);
  if (parsed.bad > 0)
    logger.warn('Skipped unreadable lines of the decision log', { path, lines: parsed.bad });
  let kept = parsed.records.slice(-keep);
  let linesInFile = parsed.records.length + parsed.bad;
  let chain: Promise<void> = Promise.resolve();

  const compact = async () => {
    const tmp = `${path}.tmp`;
    await writeFile(tmp, kept.map((r) => JSON.stringify(r) + '\n').join(''), { mode: 0o600 });
    await rename(tmp, path);
    linesInFile = kept.length;
  };
  const write = async (line: string) => {
    const fh = await open(path, 'a', 0o600);
    try {
      await fh.write(line);
    } finally {
      await fh.close();
    }
    linesInFile++;
    if (linesInFile >= 2 * keep) await compact();
  };

  return {
    append(record) {
      kept.push(record);
      if (kept.length > keep) kept = kept.slice(-keep);
      const line = JSON.stringify(record) + '\n';
      chain = chain.then(
        () => write(line),
        () => write(line),
      );
      return chain.catch((error: unknown) => {
        logger.error('Could not write a scaling decision', { path, error });
      });
    },
    list(filter = {}) {
      const limit = filter.limit ?? 200;
      const out: ScalingRecord[] = [];
      for (let i = kept.length - 1; i >= 0 && out.length < limit; i--) {
        const r = kept[i]!;
        if (filter.appId !== undefined && r.appId !== filter.appId) continue;
        if (filter.accept && !filter.accept(r.appId)) continue;
        out.push(r);
      }
      return out;
    },
    async flush() {
      await chain.catch(() => undefined);
    },
  };
}
