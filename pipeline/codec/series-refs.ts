/**
 * v3 points records: each point names its series by a number ("ref") instead of the series key.
 * A v2 record repeats every point's key (about 190 bytes for a container's tags); this one writes
 * a key once per epoch, in the first record that uses its ref, and 20 bytes a point after that.
 *
 *   0x03 | epoch u32 | count u32 | defs u32 | count × ts f64 | count × value f64 | count × ref u32
 *        | defs × ref u32 | the defined series' keys (as in v2) in UTF-8, joined by "\n"   (LE)
 *
 * Refs only mean something within their epoch, and only to a reader that has read the epoch's
 * records before them, so these records are for a bus with one writer, this process, and a reader
 * that reads them in order: the embedded bus. The writer (`RefRecordWriter`) starts a new epoch
 * (a new random id, refs from 0) every `epochPoints` points at least, so that the records a
 * replay must read again before it can decode are few, and a series gone for good stops costing
 * memory. The reader (`RefRecordReader`) tells its consumer how far it may commit: never into an
 * epoch it has not finished, since a replay must start where an epoch begins.
 *
 * A ref is used without its key only once the record that defined it is durable (`confirm`): a
 * record published while that one is still in flight defines it again, so it decodes even if the
 * first append fails.
 */
import { randomInt } from 'node:crypto';
import { HubError } from '../../core/errors.ts';
import type { MaybeMemo, MetricPoint, PointColumns, Tags } from '../../core/model.ts';
import { parseSeriesKey, readKeys, type SeriesRef, textPieces } from './points-codec.ts';

export const REF_RECORD_VERSION = 3;
const HEADER_BYTES = 13;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Points an epoch holds at least (it also holds at least 8 points a series it defines). */
export const EPOCH_POINTS = 262_144;

/** A record as encoded, with what `confirm` needs once it is durable. */
export type RefRecord = {
  readonly bytes: Buffer;
  readonly epoch: number;
  readonly defined: readonly number[];
};

export function isRefRecord(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === REF_RECORD_VERSION;
}

export class RefRecordWriter {
  private epoch = -1;
  /** Stands for the epoch in series objects' `refsOf` slots: a new epoch is a new object. */
  private epochMark: object = {};
  private readonly refs = new Map<string, number>();
  /** 1 for a ref whose defining record is durable. */
  private confirmed = new Uint8Array(1024);
  private points = 0;

  constructor(
    private readonly epochPoints = EPOCH_POINTS,
    private readonly newEpochId: (previous: number) => number = randomEpochId,
  ) {}

  /**
   * The record of `columns`, whose series keys are `keys` (every name key-safe, as for v2). A
   * series object with memo slots (`SeriesMemo`) keeps its ref for the rest of the epoch.
   */
  encode(columns: PointColumns, keys: readonly string[]): RefRecord {
    if (this.epoch < 0 || this.points >= Math.max(this.epochPoints, 8 * this.refs.size)) this.newEpoch();
    const n = keys.length;
    this.points += n;
    const refs = new Uint32Array(n);
    const defined: number[] = [];
    const definedKeys: string[] = [];
    const mark = this.epochMark;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const s = columns.series[i] as MaybeMemo;
      let ref = s.refsOf === mark ? s.ref : this.refs.get(key);
      if (ref === undefined) {
        ref = this.refs.size;
        this.refs.set(key, ref);
        if (ref >= this.confirmed.length) this.grow();
        // Marked so that another point of the series in this record does not define it again.
        this.confirmed[ref] = 2;
        defined.push(ref);
        definedKeys.push(key);
      } else if (this.confirmed[ref] === 0) {
        this.confirmed[ref] = 2;
        defined.push(ref);
        definedKeys.push(key);
      }
      refs[i] = ref;
      if (s.refsOf !== mark && 'refsOf' in s) {
        s.refsOf = mark;
        s.ref = ref;
      }
    }
    // Back to unconfirmed until the record is durable.
    for (const ref of defined) this.confirmed[ref] = 0;
    return {
      bytes: encodeRecord(this.epoch, columns, refs, defined, definedKeys),
      epoch: this.epoch,
      defined,
    };
  }

  /** The record is durable: its refs need no key from now on (in the same epoch). */
  confirm(record: RefRecord): void {
    if (record.epoch !== this.epoch) return;
    for (const ref of record.defined) this.confirmed[ref] = 1;
  }

  private newEpoch(): void {
    this.epoch = this.newEpochId(this.epoch);
    this.epochMark = {};
    this.refs.clear();
    this.confirmed.fill(0);
    this.points = 0;
  }

  private grow(): void {
    const bigger = new Uint8Array(this.confirmed.length * 2);
    bigger.set(this.confirmed);
    this.confirmed = bigger;
  }
}

function randomEpochId(previous: number): number {
  for (;;) {
    const id = randomInt(0, 2 ** 32);
    if (id !== previous) return id;
  }
}

function encodeRecord(
  epoch: number,
  columns: Pick<PointColumns, 'ts' | 'values'>,
  refs: Uint32Array,
  defined: readonly number[],
  definedKeys: readonly string[],
): Buffer {
  const n = refs.length;
  const text = textPieces(definedKeys);
  let textBytes = 0;
  for (const piece of text) textBytes += Buffer.byteLength(piece);
  const numbersAt = HEADER_BYTES;
  const refsAt = numbersAt + 16 * n;
  const defsAt = refsAt + 4 * n;
  const textAt = defsAt + 4 * defined.length;
  const out = Buffer.allocUnsafe(textAt + textBytes);
  out[0] = REF_RECORD_VERSION;
  out.writeUInt32LE(epoch, 1);
  out.writeUInt32LE(n, 5);
  out.writeUInt32LE(defined.length, 9);
  const numbers = new Float64Array(2 * n);
  numbers.set(columns.ts);
  numbers.set(columns.values, n);
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(numbers.buffer), numbersAt);
    out.set(new Uint8Array(refs.buffer), refsAt);
  } else {
    for (let i = 0; i < 2 * n; i++) out.writeDoubleLE(numbers[i]!, numbersAt + 8 * i);
    for (let i = 0; i < n; i++) out.writeUInt32LE(refs[i]!, refsAt + 4 * i);
  }
  for (let d = 0; d < defined.length; d++) out.writeUInt32LE(defined[d]!, defsAt + 4 * d);
  let at = textAt;
  for (const piece of text) at += out.write(piece, at);
  return out;
}

type Header = { epoch: number; n: number; defs: number; refsAt: number; defsAt: number; textAt: number };

function readHeader(buf: Buffer): Header {
  if (buf.length < HEADER_BYTES || buf[0] !== REF_RECORD_VERSION)
    throw new HubError('BAD_REQUEST', 'A v3 points record is truncated');
  const n = buf.readUInt32LE(5);
  const defs = buf.readUInt32LE(9);
  const refsAt = HEADER_BYTES + 16 * n;
  const defsAt = refsAt + 4 * n;
  const textAt = defsAt + 4 * defs;
  if (textAt > buf.length)
    throw new HubError('BAD_REQUEST', `A v3 points record of ${n} points and ${defs} series is truncated`);
  return { epoch: buf.readUInt32LE(1), n, defs, refsAt, defsAt, textAt };
}

/**
 * The series of one writer's epochs, as its records define them, read in order. One reader a
 * partition: `observe` every v3 record in offset order (also those whose points are not wanted),
 * then `decode` those whose points are.
 */
export class RefRecordReader {
  private epoch: number | undefined;
  private series: (SeriesRef | undefined)[] = [];
  /** Offsets where this reader saw an epoch begin, oldest first (pruned by `commitBound`). */
  private starts: number[] = [];

  /** Reads the series a record defines; a record of another epoch starts that epoch. */
  observe(bytes: Uint8Array, offset: number): void {
    const buf = asBuffer(bytes);
    const h = readHeader(buf);
    if (h.epoch !== this.epoch) {
      this.epoch = h.epoch;
      this.series = [];
      this.starts.push(offset);
    }
    if (h.defs === 0) return;
    const keys = readKeys(buf, h.textAt);
    if (keys.length !== h.defs)
      throw new HubError(
        'BAD_REQUEST',
        `A v3 points record has ${keys.length} series keys for ${h.defs} refs`,
      );
    for (let d = 0; d < h.defs; d++) {
      const ref = buf.readUInt32LE(h.defsAt + 4 * d);
      if (this.series[ref]?.key !== keys[d]) this.series[ref] = parseSeriesKey(keys[d]!);
    }
  }

  /** The points of a record `observe` has read. */
  decode(bytes: Uint8Array): MetricPoint[] {
    const buf = asBuffer(bytes);
    const h = readHeader(buf);
    if (h.epoch !== this.epoch)
      throw new HubError(
        'BAD_REQUEST',
        `A v3 points record of epoch ${h.epoch} was decoded before it was read`,
      );
    const points = new Array<MetricPoint>(h.n);
    for (let i = 0; i < h.n; i++) {
      const ref = buf.readUInt32LE(h.refsAt + 4 * i);
      const s = this.series[ref];
      if (s === undefined)
        throw new HubError(
          'BAD_REQUEST',
          `A v3 points record names series ${ref} of epoch ${h.epoch}, defined in a record this consumer did not read (deleted by retention, or read from the middle of its epoch)`,
          { where: `[${i}]` },
        );
      points[i] = {
        metric: s.metric,
        tags: s.tags as Tags,
        ts: buf.readDoubleLE(HEADER_BYTES + 8 * i),
        value: buf.readDoubleLE(HEADER_BYTES + 8 * (h.n + i)),
      };
    }
    return points;
  }

  /**
   * The last offset a consumer may commit when it could commit up to `upTo`: a replay starts at
   * the offset after the commit, which must begin an epoch for its refs to be read again.
   */
  commitBound(upTo: number): number {
    let k = -1;
    while (k + 1 < this.starts.length && this.starts[k + 1]! <= upTo + 1) k++;
    if (k < 0) return upTo;
    // Commits only grow: the epochs before this one are never replayed again.
    this.starts = this.starts.slice(k);
    return Math.min(upTo, this.starts[0]! - 1);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
