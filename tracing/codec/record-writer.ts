/**
 * Writes spans bus records (`spans-codec.ts`: version 1, the JSON rows; `span-summaries.ts`:
 * version 2, the rows and a binary summary of each span) one span at a time, into memory kept
 * from one record to the next. Spans come either as objects (`addSpan`) or as a row the caller
 * wrote straight into `rows` (`zipkin-scan.ts`, which copies the bytes of the request body), whose
 * summary it then hands over (`endRow`).
 */
import { SPAN_KIND_INDEX, type TraceSpan } from '../model.ts';
import { SUMMARY_BYTES, SUMMARY_INTS, SUMMARY_VERSION } from './span-summaries.ts';

const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;

/** The row of a span in version 1: see `spans-codec.ts`. */
function spanRow(s: TraceSpan): unknown[] {
  const ann = new Array(s.annotations.length * 2);
  for (let j = 0; j < s.annotations.length; j++) {
    ann[2 * j] = s.annotations[j]!.ts;
    ann[2 * j + 1] = s.annotations[j]!.value;
  }
  return [
    s.traceId,
    s.spanId,
    s.parentId ?? null,
    s.name,
    SPAN_KIND_INDEX[s.kind],
    s.service,
    s.start,
    s.duration,
    s.localIp ?? null,
    s.peerIp ?? null,
    s.peerPort ?? null,
    s.tags,
    ann,
    (s.error ? 1 : 0) | (s.shared ? 2 : 0) | (s.debug ? 4 : 0),
    s.remoteService ?? null,
    s.localPort ?? null,
  ];
}

function grow(buf: Buffer<ArrayBuffer>, used: number, need: number): Buffer<ArrayBuffer> {
  if (need <= buf.length) return buf;
  const grown = Buffer.allocUnsafeSlow(Math.max(need, buf.length * 2));
  buf.copy(grown, 0, 0, used);
  return grown;
}

/**
 * Where the parts of a row the caller wrote are in `rows` (−1 for an absent one) and its other
 * summary fields. Ids: the first byte of 32 (trace) or 16 hex digits; names: [at, end).
 */
export class RowMark {
  traceAt = 0;
  spanAt = 0;
  parentAt = -1;
  nameAt = 0;
  nameEnd = 0;
  serviceAt = 0;
  serviceEnd = 0;
  remoteAt = -1;
  remoteEnd = -1;
  localIpAt = -1;
  localIpEnd = -1;
  start = 0;
  duration = 0;
  /** `SPAN_KINDS` index. */
  kind = 0;
  /** 1 error, 2 shared, 4 debug. */
  flags = 0;
}

export class SpanRecordWriter {
  /** Filled by the caller of `endRow` before it. */
  readonly mark = new RowMark();
  /**
   * The JSON rows written so far, from `[`. A caller writing a row writes at `p` (a comma first
   * when `n` > 0), then moves `p` past it and calls `endRow`.
   */
  rows: Buffer<ArrayBuffer> = Buffer.allocUnsafeSlow(1 << 16);
  p = 1;
  /** Spans in the record so far. */
  n = 0;
  /** The trace id of the record's first span (its bus key). */
  firstTraceId = '';
  private table: Buffer<ArrayBuffer> = Buffer.allocUnsafeSlow(1 << 14);
  private tp = 1;
  private strings = 0;
  /** The numbers of the strings of span objects. */
  private readonly numbers = new Map<string, number>();
  /** Of each string in the table: where its bytes start, their count (−1: not for lookup), hash. */
  private starts = new Int32Array(4096);
  private lengths = new Int32Array(4096);
  private hashes = new Int32Array(4096);
  /** Open-addressing table of the strings numbered from rows' bytes: number + 1, 0 for free. */
  private slots = new Int32Array(1024);
  private rowCount = 0;
  private ints = new Int32Array(1024 * SUMMARY_INTS);
  private floats = new Float64Array(1024 * 2);
  private bytes = new Uint8Array(1024 * 2);
  /** Where the trace id of the previous span is in `rows` (−1: none), and its number. */
  private lastTraceAt = -1;
  private lastTraceNum = -1;
  private lastTrace = '';

  /** `summaries`: version 2; else version 1, the rows alone. */
  constructor(private readonly summaries: boolean) {
    this.rows[0] = OPEN;
    this.table[0] = OPEN;
  }

  /** Room for `bytes` more in `rows` after `p`. */
  reserve(bytes: number): void {
    this.rows = grow(this.rows, this.p, this.p + bytes);
  }

  /** Room for a row of `bytes`, and the comma before it. */
  private beginRow(bytes: number): void {
    this.reserve(bytes + 1);
    if (this.n > 0) this.rows[this.p++] = COMMA;
  }

  private tableString(json: string): number {
    this.table = grow(this.table, this.tp, this.tp + json.length * 3 + 1);
    if (this.strings > 0) this.table[this.tp++] = COMMA;
    this.tp += this.table.write(json, this.tp);
    const n = this.strings++;
    if (n >= this.starts.length) this.growStrings();
    this.lengths[n] = -1;
    return n;
  }

  private growStrings(): void {
    for (const k of ['starts', 'lengths', 'hashes'] as const) {
      const a = new Int32Array(this[k].length * 2);
      a.set(this[k]);
      this[k] = a;
    }
  }

  /** Adds the string `from[a, b)` (plain ASCII, no escapes) to the table. */
  private tableBytes(from: Uint8Array, a: number, b: number): number {
    this.table = grow(this.table, this.tp, this.tp + b - a + 3);
    const t = this.table;
    let q = this.tp;
    if (this.strings > 0) t[q++] = COMMA;
    t[q++] = QUOTE;
    const n = this.strings++;
    if (n >= this.starts.length) this.growStrings();
    this.starts[n] = q;
    this.lengths[n] = b - a;
    for (let k = a; k < b; k++) t[q++] = from[k]!;
    t[q++] = QUOTE;
    this.tp = q;
    return n;
  }

  /** The table number of a name, service or address, given once per record. */
  private numbered(s: string | undefined): number {
    if (s === undefined) return -1;
    let i = this.numbers.get(s);
    if (i === undefined) {
      i = this.tableString(JSON.stringify(s));
      this.numbers.set(s, i);
    }
    return i;
  }

  /**
   * The same for `rows[a, b)`, plain ASCII, or −1 when `a` is −1: found by its bytes in an
   * open-addressing table of the strings numbered this way (no JavaScript string is made).
   */
  private numberedRow(a: number, b: number): number {
    if (a < 0) return -1;
    const rows = this.rows;
    let h = 0x811c9dc5;
    for (let k = a; k < b; k++) h = Math.imul(h ^ rows[k]!, 0x01000193);
    if (this.rowCount * 2 >= this.slots.length) this.growSlots();
    const mask = this.slots.length - 1;
    const len = b - a;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const i = this.slots[s]! - 1;
      if (i < 0) {
        const n = this.tableBytes(rows, a, b);
        this.slots[s] = n + 1;
        this.hashes[n] = h;
        this.rowCount++;
        return n;
      }
      if (this.hashes[i] !== h || this.lengths[i] !== len) continue;
      const t = this.table;
      const at = this.starts[i]!;
      let same = true;
      for (let k = 0; same && k < len; k++) same = t[at + k] === rows[a + k];
      if (same) return i;
    }
  }

  private growSlots(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    const mask = this.slots.length - 1;
    for (let k = 0; k < old.length; k++) {
      const v = old[k]!;
      if (v === 0) continue;
      let s = this.hashes[v - 1]! & mask;
      while (this.slots[s] !== 0) s = (s + 1) & mask;
      this.slots[s] = v;
    }
  }

  private room(): void {
    if ((this.n + 1) * 2 <= this.floats.length) return;
    const ints = new Int32Array(this.ints.length * 2);
    ints.set(this.ints);
    this.ints = ints;
    const floats = new Float64Array(this.floats.length * 2);
    floats.set(this.floats);
    this.floats = floats;
    const bytes = new Uint8Array(this.bytes.length * 2);
    bytes.set(this.bytes);
    this.bytes = bytes;
  }

  /**
   * Ends a row the caller wrote into `rows`, with what `mark` tells of it: its ids and names are
   * bytes of the row itself.
   */
  endRow(): void {
    const m = this.mark;
    const rows = this.rows;
    if (this.n === 0) this.firstTraceId = rows.toString('latin1', m.traceAt, m.traceAt + 32);
    if (!this.summaries) {
      this.n++;
      return;
    }
    this.room();
    let same = this.lastTraceAt >= 0;
    for (let k = 0; same && k < 32; k++) same = rows[m.traceAt + k] === rows[this.lastTraceAt + k];
    if (!same) this.lastTraceNum = this.tableBytes(rows, m.traceAt, m.traceAt + 32);
    this.lastTraceAt = m.traceAt;
    this.lastTrace = '';
    this.summary(
      this.tableBytes(rows, m.spanAt, m.spanAt + 16),
      m.parentAt < 0 ? -1 : this.tableBytes(rows, m.parentAt, m.parentAt + 16),
      this.numberedRow(m.nameAt, m.nameEnd),
      this.numberedRow(m.serviceAt, m.serviceEnd),
      this.numberedRow(m.remoteAt, m.remoteEnd),
      this.numberedRow(m.localIpAt, m.localIpEnd),
      m.start,
      m.duration,
      m.kind,
      m.flags,
    );
  }

  /**
   * The summary of the row just written (`span-summaries.ts`): its end, the trace id's number
   * (`lastTraceNum`), the other strings' numbers in the table, times, kind and flags.
   */
  private summary(
    span: number,
    parent: number,
    name: number,
    service: number,
    remote: number,
    localIp: number,
    start: number,
    duration: number,
    kind: number,
    flags: number,
  ): void {
    const q = this.n * SUMMARY_INTS;
    const ints = this.ints;
    ints[q] = this.p;
    ints[q + 1] = this.lastTraceNum;
    ints[q + 2] = span;
    ints[q + 3] = parent;
    ints[q + 4] = name;
    ints[q + 5] = service;
    ints[q + 6] = remote;
    ints[q + 7] = localIp;
    this.floats[2 * this.n] = start;
    this.floats[2 * this.n + 1] = duration;
    this.bytes[2 * this.n] = kind;
    this.bytes[2 * this.n + 1] = flags;
    this.n++;
  }

  /** Adds a span object: its row written by `JSON.stringify`, its summary from its fields. */
  addSpan(s: TraceSpan): void {
    const row = JSON.stringify(spanRow(s));
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    this.beginRow(row.length * 3);
    this.p += this.rows.write(row, this.p);
    if (this.n === 0) this.firstTraceId = s.traceId;
    if (!this.summaries) {
      this.n++;
      return;
    }
    this.room();
    // A trace id is numbered again when it differs from the previous span's (or that one was
    // a row written by the caller, whose id is only in `rows`).
    if (s.traceId !== this.lastTrace) {
      this.lastTrace = s.traceId;
      this.lastTraceNum = this.tableString(JSON.stringify(s.traceId));
    }
    this.lastTraceAt = -1;
    this.summary(
      this.tableString(JSON.stringify(s.spanId)),
      s.parentId === undefined ? -1 : this.tableString(JSON.stringify(s.parentId)),
      this.numbered(s.name),
      this.numbered(s.service),
      this.numbered(s.remoteService),
      this.numbered(s.localIp),
      s.start,
      s.duration,
      SPAN_KIND_INDEX[s.kind],
      (s.error ? 1 : 0) | (s.shared ? 2 : 0) | (s.debug ? 4 : 0),
    );
  }

  /**
   * The record of the spans added since the last `finish`, in memory of its own (so a decoding
   * thread can transfer it instead of copying it); the writer is then empty again.
   */
  finish(): Buffer {
    this.reserve(1);
    this.rows[this.p++] = CLOSE;
    const jsonBytes = this.p;
    let out: Buffer;
    if (!this.summaries) {
      out = Buffer.allocUnsafeSlow(jsonBytes);
      this.rows.copy(out, 0, 0, jsonBytes);
    } else {
      const n = this.n;
      this.table = grow(this.table, this.tp, this.tp + 1);
      this.table[this.tp++] = CLOSE;
      const tableBytes = this.tp;
      out = Buffer.allocUnsafeSlow(1 + 4 + jsonBytes + 8 + tableBytes + n * SUMMARY_BYTES);
      let p = 0;
      out[p++] = SUMMARY_VERSION;
      out.writeUInt32LE(jsonBytes, p);
      p += 4;
      p += this.rows.copy(out, p, 0, jsonBytes);
      out.writeUInt32LE(n, p);
      out.writeUInt32LE(tableBytes, p + 4);
      p += 8;
      p += this.table.copy(out, p, 0, tableBytes);
      // Typed arrays are in the machine's byte order: little-endian wherever Node runs (x86, arm64).
      out.set(new Uint8Array(this.ints.buffer, 0, n * 4 * SUMMARY_INTS), p);
      out.set(new Uint8Array(this.floats.buffer, 0, n * 16), p + n * 4 * SUMMARY_INTS);
      out.set(this.bytes.subarray(0, 2 * n), p + n * (4 * SUMMARY_INTS + 16));
    }
    this.reset();
    return out;
  }

  /** Drops what was written since the last `finish`. */
  reset(): void {
    this.p = 1;
    this.n = 0;
    this.tp = 1;
    this.strings = 0;
    this.numbers.clear();
    if (this.rowCount > 0) this.slots.fill(0);
    this.rowCount = 0;
    this.lastTraceAt = -1;
    this.lastTraceNum = -1;
    this.lastTrace = '';
  }
}
