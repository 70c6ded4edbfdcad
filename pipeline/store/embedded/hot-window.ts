/**
 * Points of one series, in time order, in typed arrays that grow by doubling: a query copies a
 * range out with one memcpy per array instead of element by element.
 */
class Column {
  ts = new Float64Array(8);
  values = new Float64Array(8);
  n = 0;

  reserve(n: number): void {
    if (n <= this.ts.length) return;
    const size = Math.max(n, this.ts.length * 2);
    const ts = new Float64Array(size);
    const values = new Float64Array(size);
    ts.set(this.ts.subarray(0, this.n));
    values.set(this.values.subarray(0, this.n));
    this.ts = ts;
    this.values = values;
  }
}

function lowerBound(arr: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
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
      col = new Column();
      this.columns[sid] = col;
    }
    const n = col.n;
    if (n === 0 || col.ts[n - 1]! < ts) {
      col.reserve(n + 1);
      col.ts[n] = ts;
      col.values[n] = value;
      col.n++;
      this.count++;
      return;
    }
    const i = lowerBound(col.ts, n, ts);
    if (col.ts[i] === ts) {
      col.values[i] = value;
      return;
    }
    col.reserve(n + 1);
    col.ts.copyWithin(i + 1, i, n);
    col.values.copyWithin(i + 1, i, n);
    col.ts[i] = ts;
    col.values[i] = value;
    col.n++;
    this.count++;
  }

  /**
   * Points of a series with start ≤ ts ≤ end, as views into the window: valid until the next
   * `add` or `evict`, so read them before anything else can run.
   */
  view(sid: number, start: number, end: number): { ts: Float64Array; values: Float64Array } {
    const col = this.columns[sid];
    if (!col) return { ts: new Float64Array(0), values: new Float64Array(0) };
    const a = lowerBound(col.ts, col.n, start);
    const b = lowerBound(col.ts, col.n, end + 1);
    return { ts: col.ts.subarray(a, b), values: col.values.subarray(a, b) };
  }

  /** The value of a series at exactly `ts`, if the window holds one. */
  valueAt(sid: number, ts: number): number | undefined {
    const col = this.columns[sid];
    if (!col) return undefined;
    const i = lowerBound(col.ts, col.n, ts);
    return i < col.n && col.ts[i] === ts ? col.values[i] : undefined;
  }

  /** The newest point of a series. */
  last(sid: number): { ts: number; value: number } | undefined {
    const col = this.columns[sid];
    if (!col || col.n === 0) return undefined;
    return { ts: col.ts[col.n - 1]!, value: col.values[col.n - 1]! };
  }

  /** Drops points older than `cutoff`; the window is then complete from `cutoff`. */
  evict(cutoff: number): void {
    if (cutoff <= this.from) return;
    for (const col of this.columns) {
      if (!col || col.n === 0 || col.ts[0]! >= cutoff) continue;
      const i = lowerBound(col.ts, col.n, cutoff);
      col.ts.copyWithin(0, i, col.n);
      col.values.copyWithin(0, i, col.n);
      col.n -= i;
      this.count -= i;
    }
    this.from = cutoff;
  }
}
