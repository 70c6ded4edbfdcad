/** Roll-up buckets made in memory from raw points, for the DuckDB appender. */
import { BIGINT, DOUBLE, DuckDBDataChunk, INTEGER } from '@duckdb/node-api';

const MINUTE = 60_000;

/** 1 m buckets (count, sum, min, max) per series, filled point by point. */
export class MinuteBuckets {
  private readonly byKey = new Map<
    string,
    { sid: number; ts: number; cnt: number; sum: number; min: number; max: number }
  >();

  get size(): number {
    return this.byKey.size;
  }

  add(sid: number, ts: number, value: number): void {
    const start = ts - (((ts % MINUTE) + MINUTE) % MINUTE);
    const key = `${sid}:${start}`;
    const b = this.byKey.get(key);
    if (!b) {
      this.byKey.set(key, { sid, ts: start, cnt: 1, sum: value, min: value, max: value });
      return;
    }
    b.cnt++;
    b.sum += value;
    if (value < b.min) b.min = value;
    if (value > b.max) b.max = value;
  }

  *chunks(size: number): Generator<DuckDBDataChunk> {
    const all = [...this.byKey.values()];
    for (let off = 0; off < all.length; off += size) {
      const part = all.slice(off, off + size);
      const chunk = DuckDBDataChunk.create([INTEGER, BIGINT, BIGINT, DOUBLE, DOUBLE, DOUBLE], part.length);
      chunk.setColumns([
        part.map((b) => b.sid),
        part.map((b) => BigInt(b.ts)),
        part.map((b) => BigInt(b.cnt)),
        part.map((b) => b.sum),
        part.map((b) => b.min),
        part.map((b) => b.max),
      ]);
      yield chunk;
    }
  }
}
