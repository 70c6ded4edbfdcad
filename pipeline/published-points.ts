/**
 * The points this process published, kept beside their encoded records until its consumer reads
 * the records back, so that the consumer need not decode what it encoded moments before.
 *
 * A record read back is matched by its bytes, not by its offset: equal bytes decode to equal
 * points, so a match is always right, whatever order the bus appended concurrent publishes in and
 * whichever process published a record (on Kafka another hub's records simply do not match).
 * Entries older than a match are dropped; at most `max` are kept, the oldest going first.
 */
import type { MetricPoint, PointColumns } from '../core/model.ts';

/** What a record holds: its points, or the same as columns (`/api/put`, through `publishColumns`). */
export type PublishedBatch = readonly MetricPoint[] | PointColumns;

type Entry = { readonly bytes: Uint8Array; readonly points: PublishedBatch };

export class PublishedPoints {
  private entries: Entry[] = [];

  /**
   * @param max records kept (a consumer further behind decodes as usual)
   * @param lookahead how many of the oldest entries a record read back is compared with
   */
  constructor(
    private readonly max = 64,
    private readonly lookahead = 8,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  add(bytes: Uint8Array, points: PublishedBatch): void {
    if (this.entries.length >= this.max) this.entries.shift();
    this.entries.push({ bytes, points });
  }

  /** Forgets a record whose publishing failed. */
  forget(bytes: Uint8Array): void {
    this.entries = this.entries.filter((e) => e.bytes !== bytes);
  }

  /** The points of a record read back, if this process published these bytes lately. */
  take(value: Uint8Array): PublishedBatch | undefined {
    const n = Math.min(this.lookahead, this.entries.length);
    for (let i = 0; i < n; i++) {
      const e = this.entries[i]!;
      if (e.bytes === value || (e.bytes.length === value.length && Buffer.compare(e.bytes, value) === 0)) {
        this.entries.splice(0, i + 1);
        return e.points;
      }
    }
    return undefined;
  }
}
