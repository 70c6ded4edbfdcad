/**
 * The embedded `LogStore`: a DuckDB file `<dataDir>/logs.duckdb` with one row per record and the
 * ingest checkpoints. A write with a checkpoint stores the rows and the bus offset in one
 * transaction, so a batch the bus delivers again after a crash is recognised and written once.
 * Each row keeps the record's words (`recordWords`) so that a text search is a few `contains`
 * on one column; rows older than the retention are deleted by `maintain` (every 10 min).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BIGINT,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBValue,
  listValue,
  VARCHAR,
} from '@duckdb/node-api';
import { type Clock, systemClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { LogRecord } from '../../core/model.ts';
import type { LogQuery, LogStore, WriteCheckpoint } from '../../core/ports.ts';
import { duckFileBytes, SerialQueue } from '../store/embedded/duck-file.ts';
import { recordProject, recordWords, words } from './log-text.ts';

export type EmbeddedLogStoreOptions = {
  /** Directory the store owns, e.g. `<data dir>/logs`; created if missing. */
  dataDir: string;
  clock?: Clock;
  logger?: Logger;
  /** Records older than this (by `ts`) are deleted. Default 7 days. */
  retentionMs?: number;
  /** How often retention runs; 0 = never (tests call `maintain`). Default 10 min. */
  maintenanceIntervalMs?: number;
};

/** A log search limited to the caller's projects (records whose `project` field is one of them). */
export type ScopedLogQuery = LogQuery & { projects?: readonly string[] };

/** A LogStore that records a bus checkpoint with a write, as the log ingest needs. */
export type CheckpointedLogStore = Omit<LogStore, 'write' | 'search'> & {
  /** Records matching the query, newest first, only of `projects` when given. */
  search(query: ScopedLogQuery): Promise<LogRecord[]>;
  /** Stores records, and with a checkpoint records it in the same transaction. */
  write(records: LogRecord[], checkpoint?: WriteCheckpoint): Promise<void>;
  /** The last checkpoint stored for `stream`, or -1 when the store keeps none. */
  checkpoint(stream: string): Promise<number>;
};

export type EmbeddedLogStore = CheckpointedLogStore & {
  /** Deletes what is past retention now; returns how many records went. */
  maintain(): Promise<number>;
  diskBytes(): Promise<number>;
};

const DAY_MS = 86_400_000;
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS logs (seq BIGINT, ts BIGINT, source VARCHAR, project VARCHAR,
     words VARCHAR, fields VARCHAR, raw VARCHAR)`,
  'CREATE TABLE IF NOT EXISTS checkpoints (stream VARCHAR PRIMARY KEY, off BIGINT)',
];
const TYPES = [BIGINT, BIGINT, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR];
const CHUNK = 2048;
const MAX_LIMIT = 10_000;

type Db = {
  instance: DuckDBInstance;
  writer: DuckDBConnection;
  reader: DuckDBConnection;
  appender: DuckDBAppender;
};

async function openDb(path: string): Promise<Db> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, { threads: '1' });
  } catch (e) {
    throw new HubError('STORE_FAILED', `Cannot open the log store ${path}: ${(e as Error).message}`, {
      cause: e,
      where: path,
    });
  }
  const writer = await instance.connect();
  for (const sql of SCHEMA) await writer.run(sql);
  const reader = await instance.connect();
  const appender = await writer.createAppender('logs');
  return { instance, writer, reader, appender };
}

/** The rows of records as DuckDB chunks; built before anything is appended, as it can throw. */
function toChunks(records: readonly LogRecord[], first: number): DuckDBDataChunk[] {
  const chunks: DuckDBDataChunk[] = [];
  for (let off = 0; off < records.length; off += CHUNK) {
    const size = Math.min(CHUNK, records.length - off);
    const cols: unknown[][] = TYPES.map(() => new Array(size));
    for (let i = 0; i < size; i++) {
      const r = records[off + i]!;
      cols[0]![i] = BigInt(first + off + i);
      cols[1]![i] = BigInt(Math.trunc(r.ts));
      cols[2]![i] = r.source;
      cols[3]![i] = recordProject(r) ?? null;
      cols[4]![i] = recordWords(r);
      cols[5]![i] = JSON.stringify(r.fields);
      cols[6]![i] = r.raw ?? null;
    }
    const chunk = DuckDBDataChunk.create(TYPES, size);
    chunk.setColumns(cols as DuckDBValue[][]);
    chunks.push(chunk);
  }
  return chunks;
}

/** Builds the rows, or fails the write (not retryable: the same records would fail again). */
function toChunksOrFail(records: readonly LogRecord[], first: number): DuckDBDataChunk[] {
  try {
    return toChunks(records, first);
  } catch (e) {
    throw new HubError(
      'STORE_FAILED',
      `Cannot store ${records.length} log records: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/** Appends the rows and records the checkpoint in one transaction. */
async function writeTransaction(
  db: Db,
  chunks: readonly DuckDBDataChunk[],
  checkpoint: WriteCheckpoint | undefined,
  count: number,
): Promise<void> {
  await db.writer.run('BEGIN TRANSACTION');
  try {
    for (const chunk of chunks) db.appender.appendDataChunk(chunk);
    db.appender.flushSync();
    if (checkpoint)
      await db.writer.run('INSERT OR REPLACE INTO checkpoints VALUES (?, ?)', [
        checkpoint.stream,
        BigInt(checkpoint.offset),
      ]);
    await db.writer.run('COMMIT');
  } catch (e) {
    await db.writer.run('ROLLBACK').catch(() => undefined);
    // The appender may still hold rows of the failed write: start a clean one.
    db.appender = await db.writer.createAppender('logs');
    throw new HubError('STORE_FAILED', `Writing ${count} log records failed: ${(e as Error).message}`, {
      cause: e,
      canRetry: true,
    });
  }
}

/** The WHERE clause and its parameters of a search. */
export function searchWhere(q: ScopedLogQuery): { sql: string; params: DuckDBValue[] } {
  const parts = ['ts BETWEEN ? AND ?'];
  const params: DuckDBValue[] = [BigInt(Math.floor(q.start)), BigInt(Math.floor(q.end))];
  if (q.source !== undefined) {
    parts.push('source = ?');
    params.push(q.source);
  }
  for (const w of words(q.text ?? '')) {
    parts.push('contains(words, ?)');
    params.push(` ${w} `);
  }
  if (q.projects) {
    parts.push('project IN (SELECT unnest(?))');
    params.push(listValue([...q.projects]));
  }
  return { sql: parts.join(' AND '), params };
}

function toRecord(row: readonly unknown[]): LogRecord {
  const r: LogRecord = {
    ts: Number(row[0]),
    source: String(row[1]),
    fields: JSON.parse(String(row[2])) as Record<string, unknown>,
  };
  if (row[3] !== null && row[3] !== undefined) r.raw = String(row[3]);
  return r;
}

/** Opens (or creates) the store in `options.dataDir` and starts its retention timer. */
export async function createEmbeddedLogStore(options: EmbeddedLogStoreOptions): Promise<EmbeddedLogStore> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const retentionMs = options.retentionMs ?? 7 * DAY_MS;
  await mkdir(options.dataDir, { recursive: true });
  const path = join(options.dataDir, 'logs.duckdb');
  const db = await openDb(path);
  const queue = new SerialQueue();
  // One query at a time on the reader connection too.
  const reads = new SerialQueue();
  const max = (await db.writer.runAndReadAll('SELECT max(seq) FROM logs')).getRows()[0]?.[0];
  let nextSeq = max === null || max === undefined ? 0 : Number(max) + 1;
  let closed = false;

  const maintain = () =>
    queue.run(async () => {
      const cutoff = BigInt(Math.floor(clock.now() - retentionMs));
      const r = await db.writer.run('DELETE FROM logs WHERE ts < ?', [cutoff]);
      const deleted = Number(r.rowsChanged);
      if (deleted > 0) logger.info('deleted log records past retention', { deleted, retentionMs });
      return deleted;
    });
  const interval = options.maintenanceIntervalMs ?? 600_000;
  const stopTimer =
    interval > 0
      ? clock.setInterval(() => {
          maintain().catch((e: unknown) => logger.warn('log retention failed', { err: e }));
        }, interval)
      : () => {};

  return {
    write(records, checkpoint) {
      return queue.run(async () => {
        if (closed) throw new HubError('UNAVAILABLE', 'The log store is closed', { canRetry: true });
        await writeTransaction(db, toChunksOrFail(records, nextSeq), checkpoint, records.length);
        nextSeq += records.length;
      });
    },
    checkpoint(stream) {
      return reads.run(async () => {
        const r = await db.reader.runAndReadAll('SELECT off FROM checkpoints WHERE stream = ?', [stream]);
        const row = r.getRows()[0];
        return row ? Number(row[0]) : -1;
      });
    },
    async search(query) {
      const limit = Math.min(MAX_LIMIT, Math.max(0, Math.floor(query.limit)));
      if (limit === 0 || (query.projects && query.projects.length === 0)) return [];
      const { sql, params } = searchWhere(query);
      const r = await reads.run(() =>
        db.reader.runAndReadAll(
          `SELECT ts, source, fields, raw FROM logs WHERE ${sql} ORDER BY ts DESC, seq DESC LIMIT ${limit}`,
          params,
        ),
      );
      return r.getRows().map(toRecord);
    },
    maintain,
    diskBytes: () => duckFileBytes(path),
    close() {
      stopTimer();
      return queue.run(async () => {
        if (closed) return;
        closed = true;
        db.appender.closeSync();
        await db.writer.run('CHECKPOINT').catch(() => undefined);
        await reads.run(async () => db.reader.closeSync());
        db.writer.closeSync();
        db.instance.closeSync();
      });
    },
  };
}
