/** Points of one series, in time order. */
type Column = { ts: number[]; values: number[] };

function lowerBound(arr: number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The recent window of every series, in memory, for live queries and alert evaluation.
 * `from` is the time from which the window is complete: older points live only on disk.
 */
export class HotWindow {
  private readonly columns: (Column | undefined)[] = [];
  private count = 0;

  constructor(public from: number) {}

  get points(): number {
    return this.count;
  }

  /** Adds a point; a point at an existing timestamp replaces the value. */
  add(sid: number, ts: number, value: number): void {
    if (ts < this.from) return;
    let col = this.columns[sid];
    if (!col) {
      col = { ts: [], values: [] };
      this.columns[sid] = col;
    }
    const n = col.ts.length;
    if (n === 0 || col.ts[n - 1]! < ts) {
      col.ts.push(ts);
      col.values.push(value);
      this.count++;
      return;
    }
    const i = lowerBound(col.ts, ts);
    if (col.ts[i] === ts) {
      col.values[i] = value;
      return;
    }
    col.ts.splice(i, 0, ts);
    col.values.splice(i, 0, value);
    this.count++;
  }

  /** Points of a series with start ≤ ts ≤ end. */
  range(sid: number, start: number, end: number): { ts: number[]; values: number[] } {
    const col = this.columns[sid];
    if (!col) return { ts: [], values: [] };
    const a = lowerBound(col.ts, start);
    const b = lowerBound(col.ts, end + 1);
    return { ts: col.ts.slice(a, b), values: col.values.slice(a, b) };
  }

  /** The newest point of a series. */
  last(sid: number): { ts: number; value: number } | undefined {
    const col = this.columns[sid];
    if (!col || col.ts.length === 0) return undefined;
    return { ts: col.ts[col.ts.length - 1]!, value: col.values[col.values.length - 1]! };
  }

  /** Drops points older than `cutoff`; the window is then complete from `cutoff`. */
  evict(cutoff: number): void {
    if (cutoff <= this.from) return;
    for (const col of this.columns) {
      if (!col || col.ts.length === 0 || col.ts[0]! >= cutoff) continue;
      const i = lowerBound(col.ts, cutoff);
      col.ts.splice(0, i);
      col.values.splice(0, i);
      this.count -= i;
    }
    this.from = cutoff;
  }
}
