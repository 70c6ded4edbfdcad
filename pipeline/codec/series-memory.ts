/**
 * The series an ingest decoder has seen, found again by the bytes a client wrote them with.
 *
 * A client sends the same metric and tags text for a series batch after batch (a JSON `"metric"`
 * string and `"tags"` object, or a telnet line's metric word and tag words). A decoder that found
 * such bytes valid once remembers them with the decoded metric and one frozen tags object, and
 * later points with the same bytes need no parsing or validation of names: equal bytes decode to
 * equal names. The same series written with other bytes (spacing, key order) is another entry.
 *
 * Clients also send their series in the same order every time, so each entry remembers the series
 * that followed it last time: that one is tried first, with a compare and no hashing.
 */
import type { SeriesMemo, Tags } from '../../core/model.ts';

/** A remembered series; what later stages learnt of it is in its `SeriesMemo` slots. */
export type KnownSeries = SeriesMemo & {
  /** The metric's bytes, then the tags' bytes, as the client wrote them. */
  readonly raw: Buffer;
  readonly metricBytes: number;
  /** The next series of the same hash. */
  next: KnownSeries | undefined;
  /** The series of the point that came after one of this series last time. */
  follower: KnownSeries | undefined;
  /** How its decoder last saw a whole point of it written, if the decoder keeps that. */
  layout: PointLayout | undefined;
};

/**
 * A point's bytes apart from its timestamp and value: `bytes` is what comes before the first of
 * the two numbers (`head` bytes), between them (`middle` bytes) and after the second, one after
 * the other. `tsFirst` says which number comes first.
 */
export type PointLayout = {
  readonly bytes: Buffer;
  readonly head: number;
  readonly middle: number;
  readonly tsFirst: boolean;
};

const FNV_OFFSET = 0x811c9dc5;

export function hashBytes(b: Uint8Array, start: number, end: number, h: number = FNV_OFFSET): number {
  for (let j = start; j < end; j++) h = Math.imul(h ^ b[j]!, 0x01000193);
  return h;
}

function sameBytes(b: Uint8Array, start: number, raw: Uint8Array, from: number, length: number): boolean {
  for (let j = 0; j < length; j++) if (raw[from + j] !== b[start + j]) return false;
  return true;
}

/** Whether b[at, at + length) is bytes[from, from + length): short runs in a loop, long ones natively. */
export function equalAt(b: Buffer, at: number, bytes: Buffer, from: number, length: number): boolean {
  if (length < 32) return sameBytes(b, at, bytes, from, length);
  return at + length <= b.length && b.compare(bytes, from, from + length, at, at + length) === 0;
}

/** The layout of the point b[start, end), whose timestamp and value are where given. */
export function layoutOf(
  b: Buffer,
  start: number,
  end: number,
  tsStart: number,
  tsEnd: number,
  vStart: number,
  vEnd: number,
): PointLayout {
  const tsFirst = tsStart < vStart;
  const [aStart, aEnd, bStart, bEnd] = tsFirst
    ? [tsStart, tsEnd, vStart, vEnd]
    : [vStart, vEnd, tsStart, tsEnd];
  return {
    bytes: Buffer.concat([b.subarray(start, aStart), b.subarray(aEnd, bStart), b.subarray(bEnd, end)]),
    head: aStart - start,
    middle: bStart - aEnd,
    tsFirst,
  };
}

export class SeriesMemory {
  private readonly byHash = new Map<number, KnownSeries>();
  private count = 0;
  /** The series of the last point decoded. */
  private previous: KnownSeries | undefined;

  /** @param max entries kept; all are forgotten when it is reached (they are learnt again). */
  constructor(private readonly max = 200_000) {}

  /** The series most likely next: the one that followed the last point's series last time. */
  predicted(): KnownSeries | undefined {
    return this.previous?.follower;
  }

  /** Whether b[mStart, mEnd) is the series' metric. */
  metricAt(b: Uint8Array, mStart: number, mEnd: number, series: KnownSeries): boolean {
    return series.metricBytes === mEnd - mStart && sameBytes(b, mStart, series.raw, 0, series.metricBytes);
  }

  /** Whether the series' tags bytes are at b[at, ...) (a native compare). */
  tagsAt(b: Buffer, at: number, series: KnownSeries): boolean {
    const end = at + series.raw.length - series.metricBytes;
    return end <= b.length && b.compare(series.raw, series.metricBytes, series.raw.length, at, end) === 0;
  }

  /**
   * The series written as b[mStart, mEnd) and b[tStart, tEnd), the predicted one tried first
   * unless the caller tried it already (`predictedTried`).
   */
  find(
    b: Buffer,
    mStart: number,
    mEnd: number,
    tStart: number,
    tEnd: number,
    predictedTried = false,
  ): KnownSeries | undefined {
    const mLen = mEnd - mStart;
    const tLen = tEnd - tStart;
    const guess = predictedTried ? undefined : this.predicted();
    if (
      guess !== undefined &&
      guess.raw.length === mLen + tLen &&
      this.metricAt(b, mStart, mEnd, guess) &&
      this.tagsAt(b, tStart, guess)
    )
      return guess;
    for (let k = this.byHash.get(this.hash(b, mStart, mEnd, tStart, tEnd)); k !== undefined; k = k.next)
      if (
        k.metricBytes === mLen &&
        k.raw.length === mLen + tLen &&
        sameBytes(b, mStart, k.raw, 0, mLen) &&
        sameBytes(b, tStart, k.raw, mLen, tLen)
      )
        return k;
    return undefined;
  }

  /** Remembers a series found valid, written as b[mStart, mEnd) and b[tStart, tEnd). */
  remember(
    b: Buffer,
    mStart: number,
    mEnd: number,
    tStart: number,
    tEnd: number,
    metric: string,
    tags: Tags,
  ): KnownSeries {
    if (this.count >= this.max) {
      this.byHash.clear();
      this.count = 0;
      this.previous = undefined;
    }
    const h = this.hash(b, mStart, mEnd, tStart, tEnd);
    const entry: KnownSeries = {
      raw: Buffer.concat([b.subarray(mStart, mEnd), b.subarray(tStart, tEnd)]),
      metricBytes: mEnd - mStart,
      metric,
      tags: Object.freeze({ ...tags }),
      next: this.byHash.get(h),
      follower: undefined,
      layout: undefined,
      admittedKey: undefined,
      storeOf: undefined,
      storeId: -1,
      refsOf: undefined,
      ref: -1,
    };
    this.byHash.set(h, entry);
    this.count++;
    return entry;
  }

  /** Records that a point of `series` came next. */
  follow(series: KnownSeries): void {
    if (this.previous !== undefined) this.previous.follower = series;
    this.previous = series;
  }

  private hash(b: Uint8Array, mStart: number, mEnd: number, tStart: number, tEnd: number): number {
    return hashBytes(b, tStart, tEnd, hashBytes(b, mStart, mEnd)) >>> 0;
  }
}
