/**
 * The most recent bus records of spans, kept as their bytes (off the JavaScript heap) with, per
 * trace, where its rows are: trace-by-id for recent traces without a trip to DuckDB and without
 * keeping millions of span objects for the garbage collector to walk.
 *
 * What is kept of a record is its JSON array of rows, and where each row is (`recordRows` in
 * `spans-codec.ts`). The spans handed in with the records say which trace each row is.
 *
 * A trace is cached only when all of its spans are: its first span must come while it is cached
 * (the caller says which traces were never stored before), and when the oldest record goes to
 * make room, every trace with a row in it leaves the cache. A trace that is not cached is read
 * from DuckDB as before.
 */
import { recordRows } from '../codec/spans-codec.ts';
import type { TraceSpan } from '../model.ts';

type CachedRecord = { bytes: Buffer; traces: string[] };
type Part = { record: CachedRecord; start: number; end: number };

export class RecordCache {
  private readonly records: CachedRecord[] = [];
  private head = 0;
  private readonly traces = new Map<string, Part[]>();
  private used = 0;

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.traces.size;
  }

  /**
   * Keeps committed records whose rows are `spans`, in order. `isNew(traceId)` says whether a
   * trace had no span stored before these records; only such traces start being cached. Returns
   * false, caching nothing, when the records' rows and the spans do not line up.
   */
  add(
    records: readonly Uint8Array[],
    spans: readonly TraceSpan[],
    isNew: (traceId: string) => boolean,
  ): boolean {
    if (this.maxBytes <= 0) return false;
    const found: { bytes: Buffer; starts: number[]; ends: number[] }[] = [];
    let rows = 0;
    for (const r of records) {
      const got = recordRows(r);
      if (!got) return false;
      rows += got.starts.length;
      found.push({ bytes: got.json, starts: got.starts, ends: got.ends });
    }
    if (rows !== spans.length) return false;
    let i = 0;
    for (const { bytes, starts, ends } of found) {
      if (starts.length === 0) continue;
      // A copy of its own: a record read from the log is a slice of a larger buffer.
      const record: CachedRecord = { bytes: Buffer.from(bytes), traces: [] };
      for (let row = 0; row < starts.length; ) {
        const traceId = spans[i]!.traceId;
        let last = row;
        while (last + 1 < starts.length && spans[i + last + 1 - row]!.traceId === traceId) last++;
        let parts = this.traces.get(traceId);
        if (!parts && isNew(traceId)) {
          parts = [];
          this.traces.set(traceId, parts);
        }
        if (parts) {
          parts.push({ record, start: starts[row]!, end: ends[last]! });
          record.traces.push(traceId);
        }
        i += last - row + 1;
        row = last + 1;
      }
      this.records.push(record);
      this.used += record.bytes.length;
    }
    this.evict();
    return true;
  }

  /** The spans of a cached trace as they were written (unmerged), or undefined. */
  get(traceId: string, decode: (rows: string) => TraceSpan[]): TraceSpan[] | undefined {
    const parts = this.traces.get(traceId);
    if (!parts) return undefined;
    const texts = parts.map((p) => p.record.bytes.toString('utf8', p.start, p.end));
    return decode(`[${texts.join(',')}]`);
  }

  has(traceId: string): boolean {
    return this.traces.has(traceId);
  }

  /** Forgets traces (deleted by retention). */
  delete(traceId: string): void {
    this.traces.delete(traceId);
  }

  private evict(): void {
    while (this.used > this.maxBytes && this.head < this.records.length) {
      const old = this.records[this.head]!;
      this.records[this.head++] = undefined as unknown as CachedRecord;
      this.used -= old.bytes.length;
      for (const id of old.traces) this.traces.delete(id);
    }
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records.splice(0, this.head);
      this.head = 0;
    }
  }
}
