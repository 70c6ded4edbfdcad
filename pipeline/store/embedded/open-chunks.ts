/**
 * The points of each series not yet sealed into a chunk on disk. They are durable on the bus:
 * each point pins, on its bus stream, the offset after which the bus can give it back, and the
 * store's checkpoint for a stream never passes the lowest offset still pinned. After a crash the
 * ingest replays from there and the open chunks fill again.
 */
import { lowerBound } from '../../query/transform.ts';

/** Where the bus can give points back from; counts the open points it holds. */
export type Pin = { readonly stream: string; readonly offset: number; points: number };

export type Taken = { ts: number[]; values: number[]; pins: (Pin | undefined)[] };

class OpenChunk {
  ts: number[] = [];
  values: number[] = [];
  pins: (Pin | undefined)[] = [];
  constructor(readonly opened: number) {}
}

export class OpenChunks {
  /** By series id (ids are dense). */
  private readonly chunks: (OpenChunk | undefined)[] = [];
  /** Pins that held points when last looked at, per stream. */
  private readonly live = new Map<string, Set<Pin>>();
  private count = 0;

  get points(): number {
    return this.count;
  }

  /** A pin for the points of one write: the bus gives them back after `offset` of `stream`. */
  pin(stream: string, offset: number): Pin {
    const pin: Pin = { stream, offset, points: 0 };
    const set = this.live.get(stream) ?? new Set<Pin>();
    this.live.set(stream, set);
    set.add(pin);
    return pin;
  }

  /**
   * Adds a point (one at an existing time replaces its value and keeps its older pin); `now` is
   * the wall-clock time. Returns the size of the series' open chunk.
   */
  add(sid: number, ts: number, value: number, pin: Pin | undefined, now: number): number {
    let chunk = this.chunks[sid];
    if (!chunk) {
      chunk = new OpenChunk(now);
      this.chunks[sid] = chunk;
    }
    const { ts: times, values, pins } = chunk;
    const n = times.length;
    let at = n;
    if (n > 0 && times[n - 1]! >= ts) {
      at = lowerBound(times, ts);
      if (times[at] === ts) {
        values[at] = value;
        return n;
      }
    }
    if (pin) pin.points++;
    this.count++;
    times.push(ts);
    values.push(value);
    pins.push(pin);
    // A late point goes a few places back: move the newer ones (a splice costs an array more).
    if (at < n) {
      for (let j = n; j > at; j--) {
        times[j] = times[j - 1]!;
        values[j] = values[j - 1]!;
        pins[j] = pins[j - 1];
      }
      times[at] = ts;
      values[at] = value;
      pins[at] = pin;
    }
    return n + 1;
  }

  /** Removes the oldest `count` points of a series' open chunk (all by default), to seal them. */
  take(sid: number, count = Number.POSITIVE_INFINITY): Taken | undefined {
    const chunk = this.chunks[sid];
    if (!chunk || chunk.ts.length === 0) return undefined;
    const k = Math.min(count, chunk.ts.length);
    const taken: Taken = {
      ts: chunk.ts.splice(0, k),
      values: chunk.values.splice(0, k),
      pins: chunk.pins.splice(0, k),
    };
    if (chunk.ts.length === 0) this.chunks[sid] = undefined;
    this.count -= k;
    for (const pin of taken.pins) if (pin) pin.points--;
    return taken;
  }

  /** Puts back points taken for a seal that did not commit. */
  restore(sid: number, taken: Taken, now: number): void {
    for (let i = 0; i < taken.ts.length; i++)
      this.add(sid, taken.ts[i]!, taken.values[i]!, taken.pins[i], now);
  }

  /** The series whose open chunk was opened before `openedBefore` or holds a point before `tsBefore`. */
  stale(openedBefore: number, tsBefore: number): number[] {
    const out: number[] = [];
    this.chunks.forEach((chunk, sid) => {
      if (chunk && (chunk.opened < openedBefore || chunk.ts[0]! < tsBefore)) out.push(sid);
    });
    return out;
  }

  /** Every series with an open chunk. */
  series(): number[] {
    const out: number[] = [];
    this.chunks.forEach((chunk, sid) => {
      if (chunk) out.push(sid);
    });
    return out;
  }

  /** The lowest offset an open point pins on `stream`, or `otherwise` when none does. */
  resumeFrom(stream: string, otherwise: number): number {
    const set = this.live.get(stream);
    let min = otherwise;
    if (!set) return min;
    for (const pin of set) {
      if (pin.points === 0) set.delete(pin);
      else if (pin.offset < min) min = pin.offset;
    }
    return min;
  }

  /** Points of a series' open chunk with start ≤ ts ≤ end. */
  range(sid: number, start: number, end: number): { ts: number[]; values: number[] } {
    const chunk = this.chunks[sid];
    const out = { ts: [] as number[], values: [] as number[] };
    if (!chunk) return out;
    for (let i = 0; i < chunk.ts.length; i++) {
      const t = chunk.ts[i]!;
      if (t < start) continue;
      if (t > end) break;
      out.ts.push(t);
      out.values.push(chunk.values[i]!);
    }
    return out;
  }
}
