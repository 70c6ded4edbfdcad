/**
 * The points this process published, kept beside their encoded records until its consumer reads
 * the records back, so that the consumer need not decode what it encoded moments before.
 *
 * A record read back is matched by its bytes, not by its offset: equal bytes decode to equal
 * points, so a match is always right, whatever order the bus appended concurrent publishes in and
 * whichever process published a record (on Kafka another hub's records simply do not match).
 * Entries older than a match are dropped; at most `max` records and `maxPoints` points are kept, the
 * oldest going first.
 */
import type { MetricPoint, PointColumns } from '../core/model.ts';

/** What a record holds: its points, or the same as columns (`/api/put`, through `publishColumns`). */
export type PublishedBatch = readonly MetricPoint[] | PointColumns;

type Entry = { readonly bytes: Uint8Array; readonly points: PublishedBatch; readonly count: number };

const countOf = (batch: PublishedBatch): number =>
  Array.isArray(batch) ? batch.length : (batch as PointColumns).series.length;

export class PublishedPoints {
  private entries: Entry[] = [];
  private points = 0;

  /**
   * @param max records kept (a consumer further behind decodes as usual). Telnet's records are
   *   small (a TCP chunk's lines, about 220 points) and the consumer stores up to tens of thousands
   *   of points at once, so it can be a hundred records and more behind the publishers.
   * @param lookahead how many of the oldest entries a record read back is compared with
   * @param maxPoints points kept in all, which bounds the memory (about 24 bytes a point)
   */
  constructor(
    private readonly max = 1024,
    private readonly lookahead = 8,
    private readonly maxPoints = 262_144,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  add(bytes: Uint8Array, points: PublishedBatch): void {
    const count = countOf(points);
    while (
      this.entries.length > 0 &&
      (this.entries.length >= this.max || this.points + count > this.maxPoints)
    )
      this.points -= this.entries.shift()!.count;
    this.entries.push({ bytes, points, count });
    this.points += count;
  }

  /** Forgets a record whose publishing failed. */
  forget(bytes: Uint8Array): void {
    this.entries = this.entries.filter((e) => {
      if (e.bytes === bytes) this.points -= e.count;
      return e.bytes !== bytes;
    });
  }

  /** The points of a record read back, if this process published these bytes lately. */
  take(value: Uint8Array): PublishedBatch | undefined {
    const n = Math.min(this.lookahead, this.entries.length);
    for (let i = 0; i < n; i++) {
      const e = this.entries[i]!;
      if (e.bytes === value || (e.bytes.length === value.length && Buffer.compare(e.bytes, value) === 0)) {
        for (const dropped of this.entries.splice(0, i + 1)) this.points -= dropped.count;
        return e.points;
      }
    }
    return undefined;
  }
}
