import {
  BIGINT,
  BLOB,
  DOUBLE,
  type DuckDBAppender,
  DuckDBBlobValue,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBValue,
  INTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import { HubError } from '../../../core/errors.ts';
import type { WriteCheckpoint } from '../../../core/ports.ts';
import { decodeChunk } from './chunk-codec.ts';
import { duckFileBytes, SerialQueue } from './duck-file.ts';
import { MinuteBuckets } from './minute-buckets.ts';
import { mergeRaw } from './raw-merge.ts';
import type { SeriesEntry } from './series-index.ts';

/** Points by column; `weight`, from roll-ups: how many raw points each one stands for. */
export type Columns = { sid: number[]; ts: number[]; value: number[]; weight?: number[] };
export type RollupTable = 'rollup_1m' | 'rollup_1h';
/** Which stored statistic a roll-up answers with. */
export type RollupStat = 'sum' | 'min' | 'max' | 'count' | 'avg';
/** A sealed chunk of one series: `n` points from t0 to t1, encoded by `encodeChunk`. */
export type SealedChunk = { sid: number; t0: number; t1: number; n: number; data: Uint8Array };
/** What one write transaction stores. */
export type WriteSet = {
  series: SeriesEntry[];
  chunks: SealedChunk[];
  /** Points at or before their series' last sealed chunk end: kept as rows. */
  late: Columns;
  checkpoints: WriteCheckpoint[];
};
/**
 * Up to where old data has been rolled up: raw points older than `raw` live only in the 1 m
 * roll-ups, and 1 m buckets older than `minute` only in the 1 h ones.
 */
export type RolledUp = { raw: number; minute: number };

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS series (id INTEGER, metric VARCHAR, tags VARCHAR)',
  'CREATE TABLE IF NOT EXISTS chunks (sid INTEGER, t0 BIGINT, t1 BIGINT, n INTEGER, rolled BIGINT, data BLOB)',
  // Late points (and every raw point of files written before chunks existed).
  'CREATE TABLE IF NOT EXISTS points (sid INTEGER, ts BIGINT, value DOUBLE)',
  'CREATE TABLE IF NOT EXISTS rollup_1m (sid INTEGER, ts BIGINT, cnt BIGINT, sum DOUBLE, min DOUBLE, max DOUBLE)',
  'CREATE TABLE IF NOT EXISTS rollup_1h (sid INTEGER, ts BIGINT, cnt BIGINT, sum DOUBLE, min DOUBLE, max DOUBLE)',
  'CREATE TABLE IF NOT EXISTS checkpoints (stream VARCHAR PRIMARY KEY, off BIGINT)',
  'CREATE TABLE IF NOT EXISTS meta (k VARCHAR PRIMARY KEY, v BIGINT)',
];

const APPEND = 2048;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** "Nothing rolled up yet". */
const NEVER = Number.MIN_SAFE_INTEGER;

/**
 * The DuckDB file of the embedded metric store: sealed chunks of raw points, late points as rows,
 * 1 m and 1 h roll-ups of what is past raw retention, the series table and the ingest
 * checkpoints. Writes go through one connection, one at a time; reads use another, so a long
 * query does not hold up ingest.
 */
export class DuckPoints {
  private readonly queue = new SerialQueue();

  private constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    private readonly appenders: { points: DuckDBAppender; series: DuckDBAppender; chunks: DuckDBAppender },
  ) {}

  static async open(path: string): Promise<DuckPoints> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path);
    } catch (e) {
      throw new HubError('STORE_FAILED', `Cannot open the metric store ${path}: ${(e as Error).message}`, {
        cause: e,
        where: path,
      });
    }
    const writer = await instance.connect();
    for (const sql of SCHEMA) await writer.run(sql);
    const reader = await instance.connect();
    const appenders = {
      points: await writer.createAppender('points'),
      series: await writer.createAppender('series'),
      chunks: await writer.createAppender('chunks'),
    };
    return new DuckPoints(path, instance, writer, reader, appenders);
  }

  /** One transaction at a time on the writer. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  private async transaction(what: string, fn: () => Promise<void>, canRetry = true): Promise<void> {
    await this.writer.run('BEGIN TRANSACTION');
    try {
      await fn();
      await this.writer.run('COMMIT');
    } catch (e) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      throw new HubError('STORE_FAILED', `${what} failed: ${(e as Error).message}`, { cause: e, canRetry });
    }
  }

  async loadSeries(): Promise<{ id: number; metric: string; tags: Record<string, string> }[]> {
    const r = await this.reader.runAndReadAll('SELECT id, metric, tags FROM series ORDER BY id');
    return r.getRows().map(([id, metric, tags]) => ({
      id: Number(id),
      metric: String(metric),
      tags: JSON.parse(String(tags)) as Record<string, string>,
    }));
  }

  /** The end of each series' last sealed chunk. */
  async loadSealed(): Promise<Map<number, number>> {
    const r = await this.reader.runAndReadAll('SELECT sid, max(t1)::DOUBLE FROM chunks GROUP BY sid');
    return new Map(r.getRows().map(([sid, t1]) => [Number(sid), Number(t1)]));
  }

  /**
   * The roll-up boundaries. A file from before chunks existed rolled up everything as it came:
   * its roll-ups of what is still raw are dropped, as they are rolled up again when raw expires.
   */
  async rolledUp(now: number, retention: { raw: number; rollup1m: number }): Promise<RolledUp> {
    return this.serial(async () => {
      const rows = (await this.writer.runAndReadAll('SELECT k, v FROM meta')).getRows();
      const meta = new Map(rows.map(([k, v]) => [String(k), Number(v)]));
      const raw = meta.get('raw_rolled');
      const minute = meta.get('minute_rolled');
      if (raw !== undefined && minute !== undefined) return { raw, minute };
      const upgrading = meta.has('dirty');
      const out = upgrading
        ? { raw: floorTo(now - retention.raw, MINUTE), minute: floorTo(now - retention.rollup1m, HOUR) }
        : { raw: NEVER, minute: NEVER };
      await this.transaction('Recording roll-up boundaries', async () => {
        if (upgrading) {
          await this.writer.run('DELETE FROM rollup_1m WHERE ts >= ?', [BigInt(out.raw)]);
          await this.writer.run('DELETE FROM rollup_1h WHERE ts >= ?', [BigInt(out.minute)]);
          await this.writer.run("DELETE FROM meta WHERE k = 'dirty'");
        }
        await this.setMeta(out);
      });
      return out;
    });
  }

  private async setMeta(rolled: RolledUp): Promise<void> {
    await this.writer.run('INSERT OR REPLACE INTO meta VALUES (?, ?), (?, ?)', [
      'raw_rolled',
      BigInt(rolled.raw),
      'minute_rolled',
      BigInt(rolled.minute),
    ]);
  }

  /** Series, sealed chunks, late points and checkpoints, atomically. */
  write(set: WriteSet): Promise<void> {
    return this.serial(() =>
      this.transaction(
        `Writing ${set.chunks.length} chunks and ${set.late.ts.length} late points`,
        async () => {
          this.appendSeries(set.series);
          this.appendChunks(set.chunks);
          this.appendPoints(set.late);
          for (const c of set.checkpoints)
            await this.writer.run('INSERT OR REPLACE INTO checkpoints VALUES (?, ?)', [
              c.stream,
              BigInt(c.offset),
            ]);
        },
      ),
    );
  }

  private appendSeries(entries: SeriesEntry[]): void {
    if (entries.length === 0) return;
    for (let off = 0; off < entries.length; off += APPEND) {
      const part = entries.slice(off, off + APPEND);
      const chunk = DuckDBDataChunk.create([INTEGER, VARCHAR, VARCHAR], part.length);
      chunk.setColumns([
        part.map((e) => e.id),
        part.map((e) => e.metric),
        part.map((e) => JSON.stringify(e.tags)),
      ]);
      this.appenders.series.appendDataChunk(chunk);
    }
    this.appenders.series.flushSync();
  }

  private appendChunks(chunks: SealedChunk[]): void {
    if (chunks.length === 0) return;
    for (let off = 0; off < chunks.length; off += APPEND) {
      const part = chunks.slice(off, off + APPEND);
      const chunk = DuckDBDataChunk.create([INTEGER, BIGINT, BIGINT, INTEGER, BIGINT, BLOB], part.length);
      chunk.setColumns([
        part.map((c) => c.sid),
        part.map((c) => BigInt(c.t0)),
        part.map((c) => BigInt(c.t1)),
        part.map((c) => c.n),
        part.map(() => BigInt(NEVER)),
        part.map((c) => new DuckDBBlobValue(c.data)),
      ] as DuckDBValue[][]);
      this.appenders.chunks.appendDataChunk(chunk);
    }
    this.appenders.chunks.flushSync();
  }

  private appendPoints(cols: Columns): void {
    const n = cols.ts.length;
    if (n === 0) return;
    for (let off = 0; off < n; off += APPEND) {
      const size = Math.min(APPEND, n - off);
      const ts = new Array<bigint>(size);
      for (let i = 0; i < size; i++) ts[i] = BigInt(cols.ts[off + i]!);
      const chunk = DuckDBDataChunk.create([INTEGER, BIGINT, DOUBLE], size);
      chunk.setColumns([cols.sid.slice(off, off + size), ts, cols.value.slice(off, off + size)]);
      this.appenders.points.appendDataChunk(chunk);
    }
    this.appenders.points.flushSync();
  }

  async checkpoint(stream: string): Promise<number> {
    const r = await this.reader.runAndReadAll('SELECT off FROM checkpoints WHERE stream = ?', [stream]);
    const row = r.getRows()[0];
    return row ? Number(row[0]) : -1;
  }

  /**
   * Raw points of the given series (every series without `sids`) in [start, end], ordered by
   * series then time. Every stored copy is listed: a late point at the time of a chunk's point
   * follows it (readers keep the last).
   */
  async readRaw(sids: number[] | undefined, start: number, end: number): Promise<Columns> {
    if (sids?.length === 0) return { sid: [], ts: [], value: [] };
    const which = sids ? 'sid IN (SELECT unnest(?::INTEGER[])) AND' : '';
    const params = (range: bigint[]) => (sids ? [listValue(sids), ...range] : range);
    const chunks = await this.reader.runAndReadAll(
      `SELECT sid, data FROM chunks WHERE ${which} t1 >= ? AND t0 <= ? ORDER BY sid, t0`,
      params([BigInt(start), BigInt(end)]),
    );
    const late = toColumns(
      (
        await this.reader.runAndReadAll(
          `SELECT sid, ts::DOUBLE, value FROM points WHERE ${which} ts BETWEEN ? AND ? ORDER BY sid, ts`,
          params([BigInt(start), BigInt(end)]),
        )
      ).getColumns(),
    );
    const [csid, cdata] = chunks.getColumns() as [number[] | undefined, DuckDBBlobValue[] | undefined];
    return mergeRaw(
      csid ?? [],
      (cdata ?? []).map((d) => d.bytes),
      late,
      start,
      end,
      this.path,
    );
  }

  /** Roll-up buckets of the given series in [start, end], each answered with `stat`, with its count as the weight. */
  async readRollup(
    table: RollupTable,
    stat: RollupStat,
    sids: number[],
    start: number,
    end: number,
  ): Promise<Columns> {
    if (sids.length === 0) return { sid: [], ts: [], value: [] };
    // A bucket may be stored in parts (late points rolled up after it): they are combined here.
    const expr =
      stat === 'avg'
        ? 'sum(sum) / sum(cnt)'
        : stat === 'count'
          ? 'sum(cnt)::DOUBLE'
          : stat === 'sum'
            ? 'sum(sum)'
            : `${stat}(${stat})`;
    const r = await this.reader.runAndReadAll(
      `SELECT sid, ts::DOUBLE, ${expr}, sum(cnt)::DOUBLE FROM ${table} WHERE sid IN (SELECT unnest(?::INTEGER[])) AND ts BETWEEN ? AND ?
       GROUP BY sid, ts ORDER BY sid, ts`,
      [listValue(sids), BigInt(start), BigInt(end)],
    );
    const cols = r.getColumns();
    return { ...toColumns(cols), weight: (cols[3] ?? []) as number[] };
  }

  /**
   * Rolls raw points older than `rawCut` up into 1 m buckets and drops them; rolls 1 m buckets
   * older than `minuteCut` up into 1 h buckets and drops them; drops 1 h buckets older than
   * `hourCut`. A chunk that straddles `rawCut` stays, marked as rolled up to it.
   */
  maintain(rawCut: number, minuteCut: number, hourCut: number): Promise<RolledUp> {
    return this.serial(async () => {
      const rolled: RolledUp = { raw: rawCut, minute: minuteCut };
      await this.transaction(
        'Store maintenance',
        async () => {
          await this.rollRaw(rawCut);
          await this.writer.run(
            `INSERT INTO rollup_1h SELECT sid, ts - ts % ${HOUR}, sum(cnt), sum(sum), min(min), max(max)
             FROM rollup_1m WHERE ts < ? GROUP BY ALL`,
            [BigInt(minuteCut)],
          );
          await this.writer.run('DELETE FROM rollup_1m WHERE ts < ?', [BigInt(minuteCut)]);
          await this.writer.run('DELETE FROM rollup_1h WHERE ts < ?', [BigInt(hourCut)]);
          await this.setMeta(rolled);
        },
        false,
      );
      return rolled;
    });
  }

  private async rollRaw(cut: number): Promise<void> {
    const bound = [BigInt(cut)];
    const chunks = await this.writer.runAndReadAll(
      'SELECT sid, rolled::DOUBLE, data FROM chunks WHERE t0 < ? ORDER BY sid, t0',
      bound,
    );
    const late = toColumns(
      (
        await this.writer.runAndReadAll(
          'SELECT sid, ts::DOUBLE, value FROM points WHERE ts < ? ORDER BY sid, ts',
          bound,
        )
      ).getColumns(),
    );
    const buckets = new MinuteBuckets();
    const [sid, rolled, data] = chunks.getColumns() as [number[], number[], DuckDBBlobValue[]];
    for (let c = 0; c < (sid?.length ?? 0); c++) {
      const points = decodeChunk(data![c]!.bytes, `chunk of series ${sid![c]} in ${this.path}`);
      for (let i = 0; i < points.ts.length; i++) {
        const t = points.ts[i]!;
        if (t >= rolled![c]! && t < cut) buckets.add(sid![c]!, t, points.values[i]!);
      }
    }
    for (let i = 0; i < late.ts.length; i++) buckets.add(late.sid[i]!, late.ts[i]!, late.value[i]!);
    if (buckets.size > 0) {
      const appender = await this.writer.createAppender('rollup_1m');
      for (const part of buckets.chunks(APPEND)) appender.appendDataChunk(part);
      appender.closeSync();
    }
    await this.writer.run('DELETE FROM chunks WHERE t1 < ?', bound);
    await this.writer.run('UPDATE chunks SET rolled = ? WHERE t0 < ?', [BigInt(cut), BigInt(cut)]);
    await this.writer.run('DELETE FROM points WHERE ts < ?', bound);
  }

  /** Flushes the write-ahead log into the file. */
  compact(): Promise<void> {
    return this.serial(async () => {
      await this.writer.run('CHECKPOINT');
    });
  }

  diskBytes(): Promise<number> {
    return duckFileBytes(this.path);
  }

  close(): Promise<void> {
    return this.serial(async () => {
      for (const a of Object.values(this.appenders)) a.closeSync();
      await this.writer.run('CHECKPOINT').catch(() => undefined);
      this.writer.closeSync();
      this.reader.closeSync();
      this.instance.closeSync();
    });
  }
}

function floorTo(t: number, unit: number): number {
  return Math.floor(t / unit) * unit;
}

function listValue(sids: number[]): string {
  return '[' + sids.join(',') + ']';
}

function toColumns(cols: unknown[][]): Columns {
  return {
    sid: (cols[0] ?? []) as number[],
    ts: (cols[1] ?? []) as number[],
    value: (cols[2] ?? []) as number[],
  };
}
