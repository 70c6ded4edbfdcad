/**
 * The DuckDB file of the embedded span store: raw span rows (append-only, duplicates allowed),
 * dependency-link deltas per time bucket, and the ingest checkpoints. Writes go through one
 * connection, one transaction at a time; reads through a small pool of others.
 *
 * Every row gets a sequence number `seq` in append order. Spans of one trace arrive close in time,
 * so their rows sit close together, and `seq BETWEEN min AND max` lets DuckDB skip every row
 * group but one or two (min-max statistics) when reading a trace.
 */

import {
  BIGINT,
  BOOLEAN,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBValue,
  INTEGER,
  listValue,
  VARCHAR,
} from '@duckdb/node-api';
import { HubError } from '../../core/errors.ts';
import type { SpanKind, Tags } from '../../core/model.ts';
import type { WriteCheckpoint } from '../../core/ports.ts';
import { duckFileBytes, SerialQueue } from '../../pipeline/store/embedded/duck-file.ts';
import type { LinkDelta } from '../assembler/assembler.ts';
import type { TraceSpan } from '../model.ts';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS spans (seq BIGINT, trace_id VARCHAR, span_id VARCHAR, parent_id VARCHAR,
     name VARCHAR, kind VARCHAR, service VARCHAR, start BIGINT, duration BIGINT, local_ip VARCHAR,
     local_port INTEGER, peer_ip VARCHAR, peer_port INTEGER, remote_service VARCHAR, error BOOLEAN,
     shared BOOLEAN, debug BOOLEAN, tags VARCHAR, annotations VARCHAR)`,
  'CREATE TABLE IF NOT EXISTS links (bucket BIGINT, parent VARCHAR, child VARCHAR, calls BIGINT, errors BIGINT)',
  'CREATE TABLE IF NOT EXISTS checkpoints (stream VARCHAR PRIMARY KEY, off BIGINT)',
];

const SPAN_TYPES = [
  BIGINT,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  BIGINT,
  BIGINT,
  VARCHAR,
  INTEGER,
  VARCHAR,
  INTEGER,
  VARCHAR,
  BOOLEAN,
  BOOLEAN,
  BOOLEAN,
  VARCHAR,
  VARCHAR,
];
const SPAN_COLUMNS =
  'seq, trace_id, span_id, parent_id, name, kind, service, start, duration, local_ip, local_port, peer_ip, peer_port, remote_service, error, shared, debug, tags, annotations';
const CHUNK = 2048;
const READERS = 2;

/** Where a trace's rows are: the smallest and largest `seq`. */
export type SeqRange = { min: number; max: number };
export type TraceRef = { traceId: string; min: number; max: number; lastStart: number };

export class DuckSpans {
  private readonly queue = new SerialQueue();
  private readonly idle: { conn: DuckDBConnection; byId: DuckDBPreparedStatement }[] = [];
  private readonly waiting: ((r: { conn: DuckDBConnection; byId: DuckDBPreparedStatement }) => void)[] = [];

  private constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly spanAppender: DuckDBAppender,
    readers: { conn: DuckDBConnection; byId: DuckDBPreparedStatement }[],
    /** The next `seq` to hand out. */
    public nextSeq: number,
  ) {
    this.idle.push(...readers);
  }

  /**
   * Opens (or creates) the file. `threads` is DuckDB's thread count for this file: one is the
   * default, because appends of small batches and reads of one trace only pay for the
   * coordination of more (measured: half the CPU per span written).
   */
  static async open(path: string, threads = 1): Promise<DuckSpans> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, { threads: String(threads) });
    } catch (e) {
      throw new HubError('STORE_FAILED', `Cannot open the span store ${path}: ${(e as Error).message}`, {
        cause: e,
        where: path,
      });
    }
    const writer = await instance.connect();
    for (const sql of SCHEMA) await writer.run(sql);
    const max = (await writer.runAndReadAll('SELECT max(seq) FROM spans')).getRows()[0]?.[0];
    const readers = [];
    for (let i = 0; i < READERS; i++) {
      const conn = await instance.connect();
      const byId = await conn.prepare(
        `SELECT ${SPAN_COLUMNS} FROM spans WHERE seq BETWEEN $1 AND $2 AND trace_id = $3`,
      );
      readers.push({ conn, byId });
    }
    const appender = await writer.createAppender('spans');
    return new DuckSpans(
      path,
      instance,
      writer,
      appender,
      readers,
      max === null || max === undefined ? 0 : Number(max) + 1,
    );
  }

  /** One transaction at a time on the writer. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  private async read<T>(
    fn: (r: { conn: DuckDBConnection; byId: DuckDBPreparedStatement }) => Promise<T>,
  ): Promise<T> {
    const r =
      this.idle.pop() ??
      (await new Promise<{ conn: DuckDBConnection; byId: DuckDBPreparedStatement }>((res) =>
        this.waiting.push(res),
      ));
    try {
      return await fn(r);
    } finally {
      const w = this.waiting.shift();
      if (w) w(r);
      else this.idle.push(r);
    }
  }

  /**
   * Appends spans (numbered from `nextSeq`), link deltas and the checkpoint in one transaction.
   * Resolves with the first seq used; `nextSeq` moves only if the transaction committed.
   */
  write(
    spans: readonly TraceSpan[],
    checkpoint?: WriteCheckpoint,
    links: readonly LinkDelta[] = [],
  ): Promise<number> {
    return this.serial(async () => {
      const first = this.nextSeq;
      await this.writer.run('BEGIN TRANSACTION');
      try {
        await this.appendSpans(spans, first);
        for (let i = 0; i < links.length; i += 500) {
          const part = links.slice(i, i + 500);
          await this.writer.run(
            `INSERT INTO links VALUES ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
            part.flatMap((l) => [BigInt(l.bucket), l.parent, l.child, BigInt(l.calls), BigInt(l.errors)]),
          );
        }
        if (checkpoint)
          await this.writer.run('INSERT OR REPLACE INTO checkpoints VALUES (?, ?)', [
            checkpoint.stream,
            BigInt(checkpoint.offset),
          ]);
        await this.writer.run('COMMIT');
      } catch (e) {
        await this.writer.run('ROLLBACK').catch(() => undefined);
        throw new HubError('STORE_FAILED', `Writing ${spans.length} spans failed: ${(e as Error).message}`, {
          cause: e,
          canRetry: true,
        });
      }
      this.nextSeq = first + spans.length;
      return first;
    });
  }

  /** Appends in chunks, letting other work run between them (the write is one transaction anyway). */
  private async appendSpans(spans: readonly TraceSpan[], first: number): Promise<void> {
    for (let off = 0; off < spans.length; off += CHUNK) {
      if (off > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const size = Math.min(CHUNK, spans.length - off);
      const cols: unknown[][] = SPAN_TYPES.map(() => new Array(size));
      for (let i = 0; i < size; i++) {
        const s = spans[off + i]!;
        cols[0]![i] = BigInt(first + off + i);
        cols[1]![i] = s.traceId;
        cols[2]![i] = s.spanId;
        cols[3]![i] = s.parentId ?? null;
        cols[4]![i] = s.name;
        cols[5]![i] = s.kind;
        cols[6]![i] = s.service;
        cols[7]![i] = BigInt(s.start);
        cols[8]![i] = BigInt(s.duration);
        cols[9]![i] = s.localIp ?? null;
        cols[10]![i] = s.localPort ?? null;
        cols[11]![i] = s.peerIp ?? null;
        cols[12]![i] = s.peerPort ?? null;
        cols[13]![i] = s.remoteService ?? null;
        cols[14]![i] = s.error;
        cols[15]![i] = s.shared === true;
        cols[16]![i] = s.debug === true;
        cols[17]![i] = JSON.stringify(s.tags);
        cols[18]![i] = JSON.stringify(s.annotations);
      }
      const chunk = DuckDBDataChunk.create(SPAN_TYPES, size);
      chunk.setColumns(cols as DuckDBValue[][]);
      this.spanAppender.appendDataChunk(chunk);
    }
    this.spanAppender.flushSync();
  }

  async checkpoint(stream: string): Promise<number> {
    return this.read(async ({ conn }) => {
      const row = (
        await conn.runAndReadAll('SELECT off FROM checkpoints WHERE stream = ?', [stream])
      ).getRows()[0];
      return row ? Number(row[0]) : -1;
    });
  }

  /** The rows of one trace, within a seq range when known (else a full scan). */
  async trace(traceId: string, range?: SeqRange): Promise<TraceSpan[]> {
    return this.read(async ({ conn, byId }) => {
      if (range) {
        byId.bind([BigInt(range.min), BigInt(range.max), traceId]);
        return toSpans((await byId.runAndReadAll()).getRows());
      }
      const r = await conn.runAndReadAll(`SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id = ?`, [traceId]);
      return toSpans(r.getRows());
    });
  }

  /** Rows of several traces, in one scan. */
  async traces(traceIds: readonly string[]): Promise<TraceSpan[]> {
    if (traceIds.length === 0) return [];
    return this.read(async ({ conn }) => {
      const r = await conn.runAndReadAll(
        `SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id IN (SELECT unnest(?))`,
        [listValue([...traceIds])],
      );
      return toSpans(r.getRows());
    });
  }

  /** Trace ids with a span that passes `where`, newest first by their latest matching span. */
  async findTraceIds(where: string, params: DuckDBValue[], limit: number): Promise<string[]> {
    return this.read(async ({ conn }) => {
      const r = await conn.runAndReadAll(
        `SELECT trace_id, max(start) AS ts FROM spans WHERE ${where} GROUP BY trace_id ORDER BY ts DESC, trace_id LIMIT ${Math.max(0, Math.floor(limit))}`,
        params,
      );
      return r.getRows().map((row) => String(row[0]));
    });
  }

  /** Every trace's seq range and latest start (µs), to rebuild the index after a restart. */
  async traceRefs(): Promise<TraceRef[]> {
    return this.read(async ({ conn }) => {
      const r = await conn.runAndReadAll(
        'SELECT trace_id, min(seq)::DOUBLE, max(seq)::DOUBLE, max(start)::DOUBLE FROM spans GROUP BY trace_id ORDER BY max(seq)',
      );
      return r.getRows().map((row) => ({
        traceId: String(row[0]),
        min: Number(row[1]),
        max: Number(row[2]),
        lastStart: Number(row[3]),
      }));
    });
  }

  /** Distinct (service, name, remote service) triples, for the name caches. */
  async names(): Promise<[string, string, string | null][]> {
    return this.read(async ({ conn }) => {
      const r = await conn.runAndReadAll('SELECT DISTINCT service, name, remote_service FROM spans');
      return r
        .getRows()
        .map((row) => [String(row[0]), String(row[1]), row[2] === null ? null : String(row[2])]);
    });
  }

  /** Link totals over buckets in [from, to] (epoch ms). */
  async links(
    from: number,
    to: number,
  ): Promise<{ parent: string; child: string; calls: number; errors: number }[]> {
    return this.read(async ({ conn }) => {
      const r = await conn.runAndReadAll(
        'SELECT parent, child, sum(calls)::DOUBLE, sum(errors)::DOUBLE FROM links WHERE bucket BETWEEN ? AND ? GROUP BY ALL',
        [BigInt(Math.floor(from)), BigInt(Math.floor(to))],
      );
      return r.getRows().map((row) => ({
        parent: String(row[0]),
        child: String(row[1]),
        calls: Number(row[2]),
        errors: Number(row[3]),
      }));
    });
  }

  /** Deletes spans that started before `beforeUs` and link buckets before `beforeMs`. */
  deleteBefore(beforeUs: number, beforeMs: number): Promise<void> {
    return this.serial(async () => {
      await this.writer.run('DELETE FROM spans WHERE start < ? AND start > 0', [BigInt(beforeUs)]);
      await this.writer.run('DELETE FROM links WHERE bucket < ?', [BigInt(beforeMs)]);
    });
  }

  diskBytes(): Promise<number> {
    return duckFileBytes(this.path);
  }

  close(): Promise<void> {
    return this.serial(async () => {
      this.spanAppender.closeSync();
      await this.writer.run('CHECKPOINT').catch(() => undefined);
      for (const r of this.idle) {
        r.byId.destroySync?.();
        r.conn.closeSync();
      }
      this.writer.closeSync();
      this.instance.closeSync();
    });
  }
}

type Row = readonly unknown[];

function str(v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

function toSpans(rows: readonly Row[]): TraceSpan[] {
  const out = new Array<TraceSpan>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const s: TraceSpan = {
      traceId: String(r[1]),
      spanId: String(r[2]),
      name: String(r[4]),
      kind: String(r[5]) as SpanKind,
      service: String(r[6]),
      start: Number(r[7]),
      duration: Number(r[8]),
      tags: JSON.parse(String(r[17])) as Tags,
      annotations: JSON.parse(String(r[18])) as TraceSpan['annotations'],
      error: r[14] === true,
    };
    const parentId = str(r[3]);
    if (parentId !== undefined) s.parentId = parentId;
    const localIp = str(r[9]);
    if (localIp !== undefined) s.localIp = localIp;
    if (r[10] !== null) s.localPort = Number(r[10]);
    const peerIp = str(r[11]);
    if (peerIp !== undefined) s.peerIp = peerIp;
    if (r[12] !== null) s.peerPort = Number(r[12]);
    const remote = str(r[13]);
    if (remote !== undefined) s.remoteService = remote;
    if (r[15] === true) s.shared = true;
    if (r[16] === true) s.debug = true;
    out[i] = s;
  }
  return out;
}
