import {
  BIGINT,
  DOUBLE,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import { HubError } from '../../../core/errors.ts';
import type { WriteCheckpoint } from '../../../core/ports.ts';
import { duckFileBytes, SerialQueue } from './duck-file.ts';
import type { SeriesEntry } from './series-index.ts';

export type Columns = { sid: number[]; ts: number[]; value: number[] };
export type RollupTable = 'rollup_1m' | 'rollup_1h';
/** Which stored statistic a roll-up answers with. */
export type RollupStat = 'sum' | 'min' | 'max' | 'count' | 'avg';

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS series (id INTEGER, metric VARCHAR, tags VARCHAR)',
  'CREATE TABLE IF NOT EXISTS points (sid INTEGER, ts BIGINT, value DOUBLE)',
  'CREATE TABLE IF NOT EXISTS rollup_1m (sid INTEGER, ts BIGINT, cnt BIGINT, sum DOUBLE, min DOUBLE, max DOUBLE)',
  'CREATE TABLE IF NOT EXISTS rollup_1h (sid INTEGER, ts BIGINT, cnt BIGINT, sum DOUBLE, min DOUBLE, max DOUBLE)',
  'CREATE TABLE IF NOT EXISTS checkpoints (stream VARCHAR PRIMARY KEY, off BIGINT)',
  'CREATE TABLE IF NOT EXISTS meta (k VARCHAR PRIMARY KEY, v BIGINT)',
];

const CHUNK = 2048;
const MINUTE = 60_000;
const HOUR = 3_600_000;

/**
 * The DuckDB file of the embedded metric store: raw points, 1 m and 1 h roll-ups, the series
 * table and the ingest checkpoints. Writes go through one connection, one at a time; reads use
 * another, so a long query does not hold up ingest.
 */
export class DuckPoints {
  private readonly queue = new SerialQueue();

  private constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    private readonly pointsAppender: DuckDBAppender,
    private readonly seriesAppender: DuckDBAppender,
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
    await writer.run("INSERT OR IGNORE INTO meta VALUES ('dirty', 9223372036854775807)");
    const reader = await instance.connect();
    const points = await writer.createAppender('points');
    const series = await writer.createAppender('series');
    return new DuckPoints(path, instance, writer, reader, points, series);
  }

  /** One transaction at a time on the writer. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  async loadSeries(): Promise<{ id: number; metric: string; tags: Record<string, string> }[]> {
    const r = await this.reader.runAndReadAll('SELECT id, metric, tags FROM series ORDER BY id');
    return r.getRows().map(([id, metric, tags]) => ({
      id: Number(id),
      metric: String(metric),
      tags: JSON.parse(String(tags)) as Record<string, string>,
    }));
  }

  /** Every raw point with ts ≥ from, to rebuild the hot window after a restart. */
  async loadSince(from: number): Promise<Columns> {
    const r = await this.reader.runAndReadAll(
      'SELECT sid, ts::DOUBLE, value FROM points WHERE ts >= ? ORDER BY sid, ts',
      [BigInt(from)],
    );
    return toColumns(r.getColumns());
  }

  /** Appends points (and the series first seen with them) and the checkpoint, atomically. */
  write(newSeries: SeriesEntry[], cols: Columns, checkpoint?: WriteCheckpoint): Promise<void> {
    return this.serial(async () => {
      await this.writer.run('BEGIN TRANSACTION');
      try {
        this.appendSeries(newSeries);
        this.appendPoints(cols);
        if (cols.ts.length > 0) {
          let min = cols.ts[0]!;
          for (const t of cols.ts) if (t < min) min = t;
          await this.writer.run("UPDATE meta SET v = least(v, ?) WHERE k = 'dirty'", [BigInt(min)]);
        }
        if (checkpoint)
          await this.writer.run('INSERT OR REPLACE INTO checkpoints VALUES (?, ?)', [
            checkpoint.stream,
            BigInt(checkpoint.offset),
          ]);
        await this.writer.run('COMMIT');
      } catch (e) {
        await this.writer.run('ROLLBACK').catch(() => undefined);
        throw new HubError(
          'STORE_FAILED',
          `Writing ${cols.ts.length} points failed: ${(e as Error).message}`,
          {
            cause: e,
            canRetry: true,
          },
        );
      }
    });
  }

  private appendSeries(entries: SeriesEntry[]): void {
    if (entries.length === 0) return;
    for (let off = 0; off < entries.length; off += CHUNK) {
      const part = entries.slice(off, off + CHUNK);
      const chunk = DuckDBDataChunk.create([INTEGER, VARCHAR, VARCHAR], part.length);
      chunk.setColumns([
        part.map((e) => e.id),
        part.map((e) => e.metric),
        part.map((e) => JSON.stringify(e.tags)),
      ]);
      this.seriesAppender.appendDataChunk(chunk);
    }
    this.seriesAppender.flushSync();
  }

  private appendPoints(cols: Columns): void {
    const n = cols.ts.length;
    for (let off = 0; off < n; off += CHUNK) {
      const size = Math.min(CHUNK, n - off);
      const ts = new Array<bigint>(size);
      for (let i = 0; i < size; i++) ts[i] = BigInt(cols.ts[off + i]!);
      const chunk = DuckDBDataChunk.create([INTEGER, BIGINT, DOUBLE], size);
      chunk.setColumns([cols.sid.slice(off, off + size), ts, cols.value.slice(off, off + size)]);
      this.pointsAppender.appendDataChunk(chunk);
    }
    this.pointsAppender.flushSync();
  }

  async checkpoint(stream: string): Promise<number> {
    const r = await this.reader.runAndReadAll('SELECT off FROM checkpoints WHERE stream = ?', [stream]);
    const row = r.getRows()[0];
    return row ? Number(row[0]) : -1;
  }

  /** Raw points of the given series in [start, end], ordered by series then time. */
  async readRaw(sids: number[], start: number, end: number): Promise<Columns> {
    if (sids.length === 0) return { sid: [], ts: [], value: [] };
    const r = await this.reader.runAndReadAll(
      `SELECT sid, ts::DOUBLE, value FROM points WHERE sid IN (SELECT unnest(?::INTEGER[])) AND ts BETWEEN ? AND ? ORDER BY sid, ts`,
      [listValue(sids), BigInt(start), BigInt(end)],
    );
    return toColumns(r.getColumns());
  }

  /** Roll-up buckets of the given series in [start, end], each answered with `stat`. */
  async readRollup(
    table: RollupTable,
    stat: RollupStat,
    sids: number[],
    start: number,
    end: number,
  ): Promise<Columns> {
    if (sids.length === 0) return { sid: [], ts: [], value: [] };
    const expr = stat === 'avg' ? 'sum / cnt' : stat === 'count' ? 'cnt::DOUBLE' : stat;
    const r = await this.reader.runAndReadAll(
      `SELECT sid, ts::DOUBLE, ${expr} FROM ${table} WHERE sid IN (SELECT unnest(?::INTEGER[])) AND ts BETWEEN ? AND ? ORDER BY sid, ts`,
      [listValue(sids), BigInt(start), BigInt(end)],
    );
    return toColumns(r.getColumns());
  }

  /**
   * Rolls raw points up into 1 m and 1 h buckets from the oldest point written since the last
   * run (late points included), then deletes what is past retention.
   */
  maintain(now: number, retention: { raw: number; rollup1m: number; rollup1h: number }): Promise<void> {
    return this.serial(async () => {
      const dirtyRow = (await this.writer.runAndReadAll("SELECT v FROM meta WHERE k = 'dirty'")).getRows()[0];
      const dirty = Number(dirtyRow?.[0] ?? Number.MAX_SAFE_INTEGER);
      const to = Math.floor((now - 2 * MINUTE) / MINUTE) * MINUTE;
      const from = Math.floor(dirty / MINUTE) * MINUTE;
      await this.writer.run('BEGIN TRANSACTION');
      try {
        if (from < to) {
          const fromH = Math.floor(from / HOUR) * HOUR;
          const toH = Math.floor(to / HOUR) * HOUR;
          await this.rollup('points', 'rollup_1m', MINUTE, from, to);
          if (fromH < toH) await this.rollup('rollup_1m', 'rollup_1h', HOUR, fromH, toH);
          await this.writer.run("UPDATE meta SET v = ? WHERE k = 'dirty'", [BigInt(Math.min(to, toH))]);
        }
        await this.writer.run('DELETE FROM points WHERE ts < ?', [BigInt(now - retention.raw)]);
        await this.writer.run('DELETE FROM rollup_1m WHERE ts < ?', [BigInt(now - retention.rollup1m)]);
        await this.writer.run('DELETE FROM rollup_1h WHERE ts < ?', [BigInt(now - retention.rollup1h)]);
        await this.writer.run('COMMIT');
      } catch (e) {
        await this.writer.run('ROLLBACK').catch(() => undefined);
        throw new HubError('STORE_FAILED', `Store maintenance failed: ${(e as Error).message}`, { cause: e });
      }
    });
  }

  private async rollup(
    source: string,
    target: RollupTable,
    width: number,
    from: number,
    to: number,
  ): Promise<void> {
    const range = [BigInt(from), BigInt(to)];
    await this.writer.run(`DELETE FROM ${target} WHERE ts >= ? AND ts < ?`, range);
    const stats =
      source === 'points'
        ? 'count(*), sum(value), min(value), max(value)'
        : 'sum(cnt), sum(sum), min(min), max(max)';
    await this.writer.run(
      `INSERT INTO ${target} SELECT sid, ts - ts % ${width}, ${stats} FROM ${source}
       WHERE ts >= ? AND ts < ? GROUP BY ALL`,
      range,
    );
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
      this.pointsAppender.closeSync();
      this.seriesAppender.closeSync();
      await this.writer.run('CHECKPOINT').catch(() => undefined);
      this.writer.closeSync();
      this.reader.closeSync();
      this.instance.closeSync();
    });
  }
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
