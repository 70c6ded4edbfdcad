/**
 * The DuckDB file of the embedded span store: raw span rows (append-only, duplicates allowed),
 * dependency-link deltas per time bucket, and the ingest checkpoints. Writes go through one
 * connection, one transaction at a time; reads through a small pool of others.
 *
 * Every row gets a sequence number `seq` in append order. Spans of one trace arrive close in time,
 * so their rows sit close together, and `seq BETWEEN min AND max` lets DuckDB skip every row
 * group but one or two (min-max statistics) when reading a trace; rows that came much later are
 * read through a range of their own (`RANGE_GAP`).
 */

import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBValue,
  listValue,
} from '@duckdb/node-api';
import { HubError } from '../../core/errors.ts';
import type { WriteCheckpoint } from '../../core/ports.ts';
import { duckFileBytes, ReaderPool, SerialQueue } from '../../pipeline/store/embedded/duck-file.ts';
import type { SpanBatch } from '../assembler/assembler.ts';
import { decodeSpans, recordRows } from '../codec/spans-codec.ts';
import type { TraceSpan } from '../model.ts';
import {
  INSERT_RECORD,
  type Row,
  SCHEMA,
  SPAN_COLUMNS,
  SPAN_TYPES,
  spanColumns,
  toSpans,
} from './duck-span-rows.ts';
import type { SeqRange } from './trace-index.ts';

const CHUNK = 2048;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const READERS = 2;
/**
 * Rows per DuckDB row group in the span file (DuckDB's default is 122,880). A trace read outside
 * the cache scans the `seq` column of the one row group its range falls in: with 1,000,000 spans
 * stored and no cache, 16 k rows gave p50 1.6–2.0 ms against 2.2–2.7 and p99 4.7–5.7 against
 * 8–54 (`bench/spans/stages.ts`, two runs each; 8 k and 4 k read no faster and write slower).
 * And a transaction that appends a whole group (the consumer's batches from a backlog, up to
 * 32 MiB) writes it straight to the file: its WAL entry is a few KB of block pointers, not the rows.
 */
const ROW_GROUP_SIZE = 16_384;
/**
 * Rows of one trace closer than this share a seq range in the trace index (`trace-index.ts`);
 * rows further apart are read by a query of their own. A read scans the `trace_id` column of every
 * row group its range covers: with random trace ids 40–45 µs a row group, against 0.7–0.8 ms for
 * a query of one range (2,000,000 spans, each trace's rows in two places 1,000,000 rows apart:
 * p50 3.4 ms as one range, 1.5 ms as two; `bench/README.md`).
 */
export const RANGE_GAP = 16 * ROW_GROUP_SIZE;

export type TraceRef = { traceId: string; min: number; max: number; lastStart: number };
type Reader = { conn: DuckDBConnection; byId: DuckDBPreparedStatement };

export class DuckSpans {
  private readonly queue = new SerialQueue();
  private readonly readers: ReaderPool<Reader>;
  /** Where `insertRecords` joins the records' rows; grows as needed. */
  private joined = Buffer.alloc(0);

  private constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly spanAppender: DuckDBAppender,
    private readonly insertRecord: DuckDBPreparedStatement,
    readers: Reader[],
    /** The next `seq` to hand out. */
    public nextSeq: number,
  ) {
    this.readers = new ReaderPool(readers);
  }

  /**
   * Opens (or creates) the file. `threads` is DuckDB's thread count for this file: one is the
   * default, because appends of small batches and reads of one trace only pay for the
   * coordination of more (measured: half the CPU per span written).
   */
  static async open(path: string, threads = 1): Promise<DuckSpans> {
    // The file is attached (not opened as the instance's own database) because only ATTACH
    // takes a row group size; every connection then makes it its default catalog.
    const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
    let writer: DuckDBConnection;
    try {
      writer = await instance.connect();
      await writer.run(
        `ATTACH '${path.replaceAll("'", "''")}' AS spans_db (ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`,
      );
      await writer.run('USE spans_db');
    } catch (e) {
      instance.closeSync();
      throw new HubError('STORE_FAILED', `Cannot open the span store ${path}: ${(e as Error).message}`, {
        cause: e,
        where: path,
      });
    }
    for (const sql of SCHEMA) await writer.run(sql);
    const max = (await writer.runAndReadAll('SELECT max(seq) FROM spans')).getRows()[0]?.[0];
    const readers = [];
    for (let i = 0; i < READERS; i++) {
      const conn = await instance.connect();
      await conn.run('USE spans_db');
      const byId = await conn.prepare(
        `SELECT ${SPAN_COLUMNS} FROM spans WHERE seq BETWEEN $1 AND $2 AND trace_id = $3`,
      );
      readers.push({ conn, byId });
    }
    const appender = await writer.createAppender('spans');
    const insertRecord = await writer.prepare(INSERT_RECORD);
    return new DuckSpans(
      path,
      instance,
      writer,
      appender,
      insertRecord,
      readers,
      max === null || max === undefined ? 0 : Number(max) + 1,
    );
  }

  /** One transaction at a time on the writer. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  /**
   * Appends spans (numbered from `nextSeq`), link deltas and the checkpoint in one transaction.
   * Resolves with the first seq used; `nextSeq` moves only if the transaction committed.
   *
   * `records`, when given, are the same spans in the same order as bus records (`spans-codec.ts`,
   * either version, or the text of version 1): DuckDB parses and inserts their JSON rows while
   * `batch` may still be in the making (the caller decoding and assembling the same records), and
   * the links and checkpoint follow once it is. Should DuckDB refuse a record, or count other
   * spans than `batch` holds, the write is done again from the span objects through the appender
   * (decoded again from the records when the batch holds only summaries).
   */
  async write(
    batch: SpanBatch | Promise<SpanBatch>,
    checkpoint?: WriteCheckpoint,
    records?: readonly (string | Uint8Array)[],
  ): Promise<number> {
    if (records && records.length > 0)
      try {
        return await this.transaction((first) => this.insertRecords(records, first), batch, checkpoint);
      } catch {
        // Not as `encodeSpans` writes them: the appender takes the span objects instead.
      }
    return this.transaction(
      async (first) => {
        const { spans, summaries } = await batch;
        return this.appendSpans(summaries && records ? wholeSpans(records) : spans, first);
      },
      batch,
      checkpoint,
    );
  }

  private transaction(
    insert: (first: number) => Promise<number>,
    batch: SpanBatch | Promise<SpanBatch>,
    checkpoint: WriteCheckpoint | undefined,
  ): Promise<number> {
    return this.serial(async () => {
      const first = this.nextSeq;
      let count = 0;
      await this.writer.run('BEGIN TRANSACTION');
      try {
        const inserted = await insert(first);
        const { spans, links = [] } = await batch;
        count = spans.length;
        if (inserted !== count) throw new Error(`${inserted} rows inserted for ${count} spans`);
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
        throw new HubError('STORE_FAILED', `Writing ${count} spans failed: ${(e as Error).message}`, {
          cause: e,
          canRetry: true,
        });
      }
      this.nextSeq = first + count;
      return first;
    });
  }

  /**
   * Inserts bus records numbered from `first` (inside the open transaction) in one statement: their
   * rows joined into one text, one row a line, so DuckDB's thread goes from the first record to the
   * last without waiting for this thread to hand it the next one, and splits the lines without
   * parsing them as one JSON array first. A row never holds a raw line break (JSON escapes it in
   * strings). The text goes over as bytes (a BLOB that DuckDB decodes as UTF-8), not as a string to
   * convert. Returns the rows inserted.
   */
  private async insertRecords(records: readonly (string | Uint8Array)[], first: number): Promise<number> {
    const parts: { json: Buffer; ends: number[] }[] = [];
    let size = 0;
    for (const record of records) {
      const rows = recordRows(typeof record === 'string' ? Buffer.from(record) : record);
      if (!rows) throw new Error('a spans record is not as encodeSpans writes it');
      if (rows.ends.length === 0) continue;
      parts.push(rows);
      size += rows.json.length - 1;
    }
    if (parts.length === 0) return 0;
    // Joined in memory kept from one write to the next: DuckDB copies the bytes as they are bound,
    // and a fresh buffer of a few MB would be mapped and page-faulted in every time.
    if (this.joined.length < size)
      this.joined = Buffer.allocUnsafeSlow(Math.max(size, this.joined.length * 2));
    const joined = this.joined;
    let p = 0;
    for (let i = 0; i < parts.length; i++) {
      const { json, ends } = parts[i]!;
      if (i > 0) joined[p++] = NEWLINE;
      // `[row,row,...]` without its brackets, each comma between rows made a line break.
      json.copy(joined, p, 1, json.length - 1);
      for (let r = 0; r < ends.length - 1; r++) {
        if (json[ends[r]!] !== COMMA) throw new Error('a spans record does not end a row where it says');
        joined[p + ends[r]! - 1] = NEWLINE;
      }
      p += json.length - 2;
    }
    this.insertRecord.bindBlob(1, joined.subarray(0, p));
    this.insertRecord.bindBigInt(2, BigInt(first));
    return Number((await this.insertRecord.run()).rowsChanged);
  }

  /** Appends in chunks, letting other work run between them (the write is one transaction anyway). */
  private async appendSpans(spans: readonly TraceSpan[], first: number): Promise<number> {
    for (let off = 0; off < spans.length; off += CHUNK) {
      if (off > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const size = Math.min(CHUNK, spans.length - off);
      const cols = spanColumns(spans, off, size, first + off);
      const chunk = DuckDBDataChunk.create(SPAN_TYPES, size);
      chunk.setColumns(cols as DuckDBValue[][]);
      this.spanAppender.appendDataChunk(chunk);
    }
    this.spanAppender.flushSync();
    return spans.length;
  }

  async checkpoint(stream: string): Promise<number> {
    return this.readers.use(async ({ conn }) => {
      const row = (
        await conn.runAndReadAll('SELECT off FROM checkpoints WHERE stream = ?', [stream])
      ).getRows()[0];
      return row ? Number(row[0]) : -1;
    });
  }

  /** The rows of one trace, within its seq ranges when known (else a full scan). */
  async trace(traceId: string, ranges?: readonly SeqRange[]): Promise<TraceSpan[]> {
    return this.readers.use(async ({ conn, byId }) => {
      if (ranges) {
        const rows: Row[] = [];
        for (const range of ranges) {
          byId.bind([BigInt(range.min), BigInt(range.max), traceId]);
          // A materialized result's chunks are read synchronously: one trip to DuckDB's thread
          // per range instead of one per chunk (what waits longest on a busy machine).
          const result = await byId.run();
          for (let c = 0; c < result.chunkCount; c++)
            for (const r of result.getChunk(c).getRows()) rows.push(r);
        }
        return toSpans(rows);
      }
      const r = await conn.runAndReadAll(`SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id = ?`, [traceId]);
      return toSpans(r.getRows());
    });
  }

  /** Rows of several traces, in one scan. */
  async traces(traceIds: readonly string[]): Promise<TraceSpan[]> {
    if (traceIds.length === 0) return [];
    return this.readers.use(async ({ conn }) => {
      const r = await conn.runAndReadAll(
        `SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id IN (SELECT unnest(?))`,
        [listValue([...traceIds])],
      );
      return toSpans(r.getRows());
    });
  }

  /** Trace ids with a span that passes `where`, newest first by their latest matching span. */
  async findTraceIds(where: string, params: DuckDBValue[], limit: number): Promise<string[]> {
    return this.readers.use(async ({ conn }) => {
      const r = await conn.runAndReadAll(
        `SELECT trace_id, max(start) AS ts FROM spans WHERE ${where} GROUP BY trace_id ORDER BY ts DESC, trace_id LIMIT ${Math.max(0, Math.floor(limit))}`,
        params,
      );
      return r.getRows().map((row) => String(row[0]));
    });
  }

  /**
   * Where each trace's rows are, to rebuild the index after a restart: its seq range and latest
   * start (µs) within each stretch of `RANGE_GAP` rows it has rows in (the index joins
   * neighbouring ones), in the order of their last rows.
   */
  async traceRefs(): Promise<TraceRef[]> {
    return this.readers.use(async ({ conn }) => {
      const r = await conn.runAndReadAll(
        `SELECT trace_id, min(seq)::DOUBLE, max(seq)::DOUBLE, max(start)::DOUBLE FROM spans GROUP BY trace_id, seq // ${RANGE_GAP} ORDER BY max(seq)`,
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
    return this.readers.use(async ({ conn }) => {
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
    return this.readers.use(async ({ conn }) => {
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
      this.insertRecord.destroySync?.();
      await this.writer.run('CHECKPOINT spans_db').catch(() => undefined);
      for (const r of this.readers.free) {
        r.byId.destroySync?.();
        r.conn.closeSync();
      }
      this.writer.closeSync();
      this.instance.closeSync();
    });
  }
}

/** Every field of the spans of records, skipping those that do not decode (as the consumer did). */
function wholeSpans(records: readonly (string | Uint8Array)[]): TraceSpan[] {
  const out: TraceSpan[] = [];
  for (const r of records)
    try {
      for (const s of decodeSpans(r)) out.push(s);
    } catch {
      // Skipped by the consumer too.
    }
  return out;
}
