/**
 * Where each trace's rows are in the span file (the smallest and largest `seq`) and its latest
 * start, for trace-by-id reads that skip every other row group, and for retention. In typed
 * arrays, to keep millions of traces small.
 */
export class TraceIndex {
  private slots = new Map<string, number>();
  private min = new Float64Array(1024);
  private max = new Float64Array(1024);
  private last = new Float64Array(1024);
  private free: number[] = [];
  private used = 0;
  /** False once a trace was dropped for room: a miss then no longer means "not stored". */
  complete = true;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.slots.size;
  }

  has(traceId: string): boolean {
    return this.slots.has(traceId);
  }

  range(traceId: string): { min: number; max: number } | undefined {
    const i = this.slots.get(traceId);
    return i === undefined ? undefined : { min: this.min[i]!, max: this.max[i]! };
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
    if (seq < this.min[i]!) this.min[i] = seq;
    if (seq > this.max[i]!) this.max[i] = seq;
    if (start > this.last[i]!) this.last[i] = start;
  }

  /** Forgets traces whose latest start is before `beforeUs`; returns their ids. */
  prune(beforeUs: number): string[] {
    const gone: string[] = [];
    for (const [id, i] of this.slots)
      if (this.last[i]! > 0 && this.last[i]! < beforeUs) {
        gone.push(id);
        this.slots.delete(id);
        this.free.push(i);
      }
    return gone;
  }

  private dropOldest(): void {
    const [id, i] = this.slots.entries().next().value as [string, number];
    this.slots.delete(id);
    this.free.push(i);
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
