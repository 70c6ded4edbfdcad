/**
 * Where each trace's rows are in the span file (ranges of `seq`) and its latest start, for
 * trace-by-id reads that skip every other row group, and for retention. In typed arrays, to keep
 * millions of traces small.
 *
 * A trace's rows mostly sit close together: one range. Rows that come much later (a late span, a
 * client sending a batch again, an agent shipping again after a restart) start a range of their
 * own, so that a read scans the row groups of the trace's rows and not every one in between,
 * which costs more the further apart they are. The few traces with more than one range keep the
 * others in a map beside the arrays.
 */
export type SeqRange = { min: number; max: number };

/** At most this many ranges a trace: beyond, the two closest are joined. */
const MAX_RANGES = 8;

export class TraceIndex {
  private slots = new Map<string, number>();
  private min = new Float64Array(1024);
  private max = new Float64Array(1024);
  private last = new Float64Array(1024);
  /** Each trace's ranges besides the one in `min`/`max`, as [min, max] pairs. */
  private apart = new Map<string, [number, number][]>();
  private free: number[] = [];
  private used = 0;
  /** False once a trace was dropped for room: a miss then no longer means "not stored". */
  complete = true;

  /** `gap`: rows closer than this to a range join it (`RANGE_GAP` in `duck-spans.ts`). */
  constructor(
    private readonly capacity: number,
    private readonly gap: number,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  has(traceId: string): boolean {
    return this.slots.has(traceId);
  }

  /** The trace's ranges, lowest first; undefined if the trace is not indexed. */
  ranges(traceId: string): SeqRange[] | undefined {
    const i = this.slots.get(traceId);
    if (i === undefined) return undefined;
    const ranges = [{ min: this.min[i]!, max: this.max[i]! }];
    for (const [min, max] of this.apart.get(traceId) ?? []) ranges.push({ min, max });
    return ranges.sort((a, b) => a.min - b.min);
  }

  add(traceId: string, seq: number, start: number): void {
    let i = this.slots.get(traceId);
    if (i === undefined) {
      i = this.free.pop() ?? this.used++;
      if (i >= this.min.length) this.grow();
      this.slots.set(traceId, i);
      this.min[i] = seq;
      this.max[i] = seq;
      this.last[i] = start;
      if (this.slots.size > this.capacity) this.dropOldest();
      return;
    }
    if (start > this.last[i]!) this.last[i] = start;
    const near = seq >= this.min[i]! - this.gap && seq <= this.max[i]! + this.gap;
    if (near && (this.apart.size === 0 || !this.apart.has(traceId))) {
      if (seq < this.min[i]!) this.min[i] = seq;
      if (seq > this.max[i]!) this.max[i] = seq;
    } else this.addToRanges(traceId, i, seq);
  }

  /** Forgets traces whose latest start is before `beforeUs`; returns their ids. */
  prune(beforeUs: number): string[] {
    const gone: string[] = [];
    for (const [id, i] of this.slots)
      if (this.last[i]! > 0 && this.last[i]! < beforeUs) {
        gone.push(id);
        this.forget(id, i);
      }
    return gone;
  }

  /**
   * A row of a trace with ranges apart, or far from its one range: into a range close to it or
   * one of its own; ranges that come close are joined.
   */
  private addToRanges(traceId: string, i: number, seq: number): void {
    const ranges: [number, number][] = [
      [this.min[i]!, this.max[i]!],
      ...(this.apart.get(traceId) ?? []),
      [seq, seq],
    ];
    ranges.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const r of ranges) {
      const prev = merged[merged.length - 1];
      if (prev && r[0] <= prev[1] + this.gap) prev[1] = Math.max(prev[1], r[1]);
      else merged.push(r);
    }
    while (merged.length > MAX_RANGES) {
      let closest = 0;
      for (let k = 1; k < merged.length - 1; k++)
        if (merged[k + 1]![0] - merged[k]![1] < merged[closest + 1]![0] - merged[closest]![1]) closest = k;
      merged[closest]![1] = merged[closest + 1]![1];
      merged.splice(closest + 1, 1);
    }
    this.min[i] = merged[0]![0];
    this.max[i] = merged[0]![1];
    if (merged.length === 1) this.apart.delete(traceId);
    else this.apart.set(traceId, merged.slice(1));
  }

  private forget(traceId: string, i: number): void {
    this.slots.delete(traceId);
    this.apart.delete(traceId);
    this.free.push(i);
  }

  private dropOldest(): void {
    const [id, i] = this.slots.entries().next().value as [string, number];
    this.forget(id, i);
    this.complete = false;
  }

  private grow(): void {
    const n = this.min.length * 2;
    for (const k of ['min', 'max', 'last'] as const) {
      const a = new Float64Array(n);
      a.set(this[k]);
      this[k] = a;
    }
  }
}
