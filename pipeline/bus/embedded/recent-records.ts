/**
 * The newest records of a topic, kept in memory as they were appended, so that a subscriber that
 * keeps up reads them from here instead of reading back and checking (CRC) the bytes it was just
 * written from: what a broker's page cache does for Kafka consumers. Values are the bytes written
 * to the segment: readers must not write into them (as with records read from disk, whose buffer
 * is shared by the batch), nor may their publisher once it has published them. Bounded by frame
 * bytes; older records are read from disk.
 */
import type { BusRecord } from '../../../core/ports.ts';

export class RecentRecords {
  private records: BusRecord[] = [];
  private sizes: number[] = [];
  /** Index of the oldest kept record in `records` (the ones before it are dropped). */
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /**
   * Keeps `record` (the next offset after the last kept one), whose frame took `size` bytes, once
   * it is durable: everything kept here may be read.
   */
  add(record: BusRecord, size: number): void {
    if (this.maxBytes <= 0) return;
    const last = this.records.at(-1);
    if (last !== undefined && record.offset !== last.offset + 1) this.clear();
    this.records.push(record);
    this.sizes.push(size);
    this.bytes += size;
    while (this.bytes > this.maxBytes && this.head < this.records.length) {
      this.bytes -= this.sizes[this.head]!;
      this.records[this.head] = undefined as unknown as BusRecord;
      this.head++;
    }
    // Drops the emptied front once it is most of the arrays.
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.records = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
  }

  /**
   * Records from `from` (inclusive) on, at least one, then up to `maxValueBytes` of values;
   * undefined when `from` is not kept here.
   */
  read(from: number, maxValueBytes: number): BusRecord[] | undefined {
    const first = this.records[this.head]?.offset;
    if (first === undefined || from < first || from >= first + this.records.length - this.head)
      return undefined;
    const out: BusRecord[] = [];
    let valueBytes = 0;
    for (let i = this.head + (from - first); i < this.records.length; i++) {
      const record = this.records[i]!;
      if (out.length > 0 && valueBytes + record.value.length > maxValueBytes) break;
      // A copy of the record object: each reader may keep or change its own.
      out.push(record.headers ? { ...record, headers: { ...record.headers } } : { ...record });
      valueBytes += record.value.length;
    }
    return out;
  }
}
