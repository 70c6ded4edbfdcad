/**
 * The fast path of `POST /api/v2/spans`: reads a Zipkin v2 JSON body byte by byte and writes the
 * bus records (`record-writer.ts`) straight from it, copying the bytes of ids, names and tags into
 * the rows instead of making JavaScript objects of them (`JSON.parse`, `decodeZipkinSpan`) and JSON
 * again (`JSON.stringify`): on the decoding thread that was most of the CPU of a span, and most of
 * the garbage.
 *
 * It only takes the plain form every Zipkin client writes: the fields of `zipkin2-api.yaml`,
 * strings of printable ASCII without escapes, integers as digits, string tags. A span in any other
 * form (an escape, a non-ASCII byte, an unknown field, a number tag, a lower-case kind, a field
 * twice, a span that is refused) is decoded the usual way, on its own, so its answer and its
 * error are exactly `decodeZipkinSpan`'s. A body that is not a JSON array, or not JSON, is left to
 * the caller (`undefined`): the usual path gives the error a bad body gets.
 */
import { SPAN_LIMITS, type SpanError } from '../model.ts';
import type { SpanRecordWriter } from './record-writer.ts';
import { decodeZipkinSpan } from './zipkin-json.ts';

export type ScannedSpans = {
  records: { key: string; value: Uint8Array }[];
  count: number;
  indexes: number[];
  errors: SpanError[];
  /** The service of each good span, when asked for. */
  services: string[] | undefined;
};

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;

/** A span (or part of one) the fast path does not take: it is decoded the usual way. */
const SLOW = -1;

const bytesOf = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const K = {
  traceId: bytesOf('traceId'),
  id: bytesOf('id'),
  parentId: bytesOf('parentId'),
  name: bytesOf('name'),
  kind: bytesOf('kind'),
  timestamp: bytesOf('timestamp'),
  duration: bytesOf('duration'),
  debug: bytesOf('debug'),
  shared: bytesOf('shared'),
  localEndpoint: bytesOf('localEndpoint'),
  remoteEndpoint: bytesOf('remoteEndpoint'),
  annotations: bytesOf('annotations'),
  tags: bytesOf('tags'),
  serviceName: bytesOf('serviceName'),
  ipv4: bytesOf('ipv4'),
  ipv6: bytesOf('ipv6'),
  port: bytesOf('port'),
  value: bytesOf('value'),
  null: bytesOf('null'),
  true: bytesOf('true'),
  false: bytesOf('false'),
  proto: bytesOf('__proto__'),
  error: bytesOf('error'),
};
/** Zipkin's kinds in `SPAN_KINDS` order. */
const KINDS = ['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'].map(bytesOf);
const LOCAL = 4;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isHex = (c: number) => (c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** One endpoint's fields: byte ranges (−1 for none) and the port (0 for none). */
class Endpoint {
  serviceA = -1;
  serviceB = -1;
  ipv4A = -1;
  ipv4B = -1;
  ipv6A = -1;
  ipv6B = -1;
  port = 0;
  reset(): void {
    this.serviceA = this.serviceB = this.ipv4A = this.ipv4B = this.ipv6A = this.ipv6B = -1;
    this.port = 0;
  }
  get ipA(): number {
    return this.ipv4A >= 0 ? this.ipv4A : this.ipv6A;
  }
  get ipB(): number {
    return this.ipv4A >= 0 ? this.ipv4B : this.ipv6B;
  }
}

/** Reads bodies on one thread; keeps its scratch memory from one body to the next. */
export class ZipkinScanner {
  private b: Uint8Array = new Uint8Array(0);
  // The last string, number and key read: byte ranges and value.
  private sa = 0;
  private sb = 0;
  private num = 0;
  private na = 0;
  private nb = 0;
  // The span being read.
  private seen = 0;
  private traceA = -1;
  private traceB = -1;
  private idA = -1;
  private idB = -1;
  private parentA = -1;
  private parentB = -1;
  private nameA = -1;
  private nameB = -1;
  private kind = LOCAL;
  private tsA = -1;
  private tsB = -1;
  private ts = 0;
  private durA = -1;
  private durB = -1;
  private dur = 0;
  private flags = 0;
  private readonly local = new Endpoint();
  private readonly remote = new Endpoint();
  private tagCount = 0;
  private readonly tagAt = new Int32Array(4 * SPAN_LIMITS.maxTags);
  private error = false;
  private annCount = 0;
  private readonly annAt = new Int32Array(4 * SPAN_LIMITS.maxAnnotations);

  /** Spans decoded the usual way so far. */
  slowSpans = 0;

  constructor(private readonly writer: SpanRecordWriter) {}

  /**
   * The records of a body, `perRecord` spans each, or undefined when the body is not a JSON array
   * (or not JSON at all).
   */
  scan(body: Uint8Array, perRecord: number, withServices: boolean): ScannedSpans | undefined {
    const b = body;
    this.b = b;
    const out: ScannedSpans = {
      records: [],
      count: 0,
      indexes: [],
      errors: [],
      services: withServices ? [] : undefined,
    };
    const writer = this.writer;
    try {
      let i = this.ws(0);
      if (b[i] !== OPEN_ARRAY) return undefined;
      i = this.ws(i + 1);
      if (b[i] === CLOSE_ARRAY) return this.ws(i + 1) === b.length ? out : undefined;
      for (let index = 0; ; index++) {
        const start = i;
        let end = b[i] === OPEN_OBJECT ? this.span(i) : SLOW;
        if (end >= 0 && this.write(start, end, out)) out.indexes.push(index);
        else {
          if (end < 0) end = this.skip(start);
          if (end < 0 || !this.slowSpan(start, end, index, out)) return undefined;
        }
        if (writer.n >= perRecord) this.flush(out);
        i = this.ws(end);
        if (b[i] === CLOSE_ARRAY) break;
        if (b[i] !== COMMA) return undefined;
        i = this.ws(i + 1);
      }
      if (this.ws(i + 1) !== b.length) return undefined;
      if (writer.n > 0) this.flush(out);
      return out;
    } finally {
      // An unfinished record is dropped, and the body is not kept.
      writer.reset();
      this.b = new Uint8Array(0);
    }
  }

  private flush(out: ScannedSpans): void {
    const n = this.writer.n;
    const key = this.writer.firstTraceId;
    out.records.push({ key, value: this.writer.finish() });
    out.count += n;
  }

  /** Decodes the span at [start, end) the usual way; false when it is not JSON. */
  private slowSpan(start: number, end: number, index: number, out: ScannedSpans): boolean {
    this.slowSpans++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(this.b.buffer, this.b.byteOffset + start, end - start).toString());
    } catch {
      return false;
    }
    const r = decodeZipkinSpan(parsed);
    if (r.ok) {
      this.writer.addSpan(r.span);
      out.indexes.push(index);
      out.services?.push(r.span.service);
    } else out.errors.push({ index, field: r.field, message: r.message });
    return true;
  }

  private ws(i: number): number {
    const b = this.b;
    while (i < b.length && isSpace(b[i]!)) i++;
    return i;
  }

  /** The end of the JSON value at `i` (not checked: `JSON.parse` does), or −1. */
  private skip(i: number): number {
    const b = this.b;
    let depth = 0;
    for (; i < b.length; i++) {
      const c = b[i]!;
      if (c === QUOTE) {
        for (i++; i < b.length && b[i] !== QUOTE; i++) if (b[i] === BACKSLASH) i++;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (depth === 0) return i;
        if (--depth === 0) return i + 1;
      } else if (c === COMMA && depth === 0) return i;
    }
    return depth === 0 ? i : -1;
  }

  /** A string of printable ASCII without escapes at `i`: its bytes in [sa, sb); after it, or SLOW. */
  private str(i: number): number {
    const b = this.b;
    if (b[i] !== QUOTE) return SLOW;
    const a = i + 1;
    for (i = a; i < b.length; i++) {
      const c = b[i]!;
      if (c === QUOTE) {
        this.sa = a;
        this.sb = i;
        return i + 1;
      }
      if (c === BACKSLASH || c < 0x20 || c > 0x7e) return SLOW;
    }
    return SLOW;
  }

  /** Digits at `i` (a non-negative safe integer): value in `num`, bytes in [na, nb); after, or SLOW. */
  private digits(i: number): number {
    const b = this.b;
    const a = i;
    let v = 0;
    while (i < b.length && b[i]! >= ZERO && b[i]! <= NINE) v = v * 10 + (b[i++]! - ZERO);
    const n = i - a;
    if (n === 0 || n > 16 || (n > 1 && b[a] === ZERO) || v > SPAN_LIMITS.maxTimestampUs) return SLOW;
    this.num = v;
    this.na = a;
    this.nb = i;
    return i;
  }

  private word(i: number, w: Uint8Array): boolean {
    const b = this.b;
    for (let k = 0; k < w.length; k++) if (b[i + k] !== w[k]) return false;
    return true;
  }

  /** Whether the last string read is `w`. */
  private is(w: Uint8Array): boolean {
    if (this.sb - this.sa !== w.length) return false;
    return this.word(this.sa, w);
  }

  /** After a key's closing quote: past the colon and the space around it, or SLOW. */
  private colon(i: number): number {
    i = this.ws(i);
    if (this.b[i] !== COLON) return SLOW;
    return this.ws(i + 1);
  }

  /** After a member's value: the next key's opening quote (true) or past the closing `close` (false). */
  private next(i: number, close: number): number {
    i = this.ws(i);
    const c = this.b[i];
    if (c === COMMA) {
      i = this.ws(i + 1);
      return this.b[i] === QUOTE ? i : SLOW;
    }
    return c === close ? -(i + 2) : SLOW;
  }

  /** `null` at `i`: after it, else −1. */
  private nul(i: number): number {
    return this.word(i, K.null) ? i + 4 : -1;
  }

  /** A string or null: range in [sa, sb) (sa −1 for null); after it, or SLOW. */
  private strOrNull(i: number): number {
    const n = this.nul(i);
    if (n >= 0) {
      this.sa = this.sb = -1;
      return n;
    }
    return this.str(i);
  }

  /** Digits or null (num 0, na −1); after it, or SLOW. */
  private digitsOrNull(i: number): number {
    const n = this.nul(i);
    if (n >= 0) {
      this.num = 0;
      this.na = this.nb = -1;
      return n;
    }
    return this.digits(i);
  }

  /** true, false or null; after it, or SLOW, with the value in `num` (1 true). */
  private flag(i: number): number {
    if (this.word(i, K.true)) {
      this.num = 1;
      return i + 4;
    }
    this.num = 0;
    if (this.word(i, K.false)) return i + 5;
    return this.nul(i) >= 0 ? i + 4 : SLOW;
  }

  /** Reads the span object at `i` into the fields; after its `}`, or SLOW. */
  private span(i: number): number {
    this.seen = 0;
    this.traceA = this.idA = this.parentA = this.nameA = this.tsA = this.durA = -1;
    this.kind = LOCAL;
    this.ts = this.dur = this.flags = 0;
    this.local.reset();
    this.remote.reset();
    this.tagCount = this.annCount = 0;
    this.error = false;
    i = this.ws(i + 1);
    if (this.b[i] === CLOSE_OBJECT) return SLOW;
    if (this.b[i] !== QUOTE) return SLOW;
    for (;;) {
      i = this.str(i);
      if (i < 0) return SLOW;
      i = this.colon(i);
      if (i < 0) return SLOW;
      i = this.member(i);
      if (i < 0) return SLOW;
      i = this.next(i, CLOSE_OBJECT);
      if (i === SLOW) return SLOW;
      if (i < 0) return -i - 1;
    }
  }

  /** Marks field `bit` seen: false when it was already (JSON.parse would keep the last). */
  private once(bit: number): boolean {
    if (this.seen & bit) return false;
    this.seen |= bit;
    return true;
  }

  /** The value of the span member whose key was read last, at `i`; after it, or SLOW. */
  private member(i: number): number {
    const len = this.sb - this.sa;
    const b = this.b;
    const first = b[this.sa];
    switch (len) {
      case 2:
        if (!this.is(K.id) || !this.once(1)) return SLOW;
        i = this.str(i);
        this.idA = this.sa;
        this.idB = this.sb;
        return i;
      case 7:
        if (!this.is(K.traceId) || !this.once(2)) return SLOW;
        i = this.str(i);
        this.traceA = this.sa;
        this.traceB = this.sb;
        return i;
      case 8:
        if (first === 0x70) {
          if (!this.is(K.parentId) || !this.once(4)) return SLOW;
          i = this.strOrNull(i);
          this.parentA = this.sa;
          this.parentB = this.sb;
          return i;
        }
        if (!this.is(K.duration) || !this.once(8)) return SLOW;
        i = this.digitsOrNull(i);
        this.durA = this.na;
        this.durB = this.nb;
        this.dur = this.num;
        return i;
      case 4:
        if (first === 0x6e) {
          if (!this.is(K.name) || !this.once(16)) return SLOW;
          i = this.strOrNull(i);
          this.nameA = this.sa;
          this.nameB = this.sb;
          return i;
        }
        if (first === 0x6b) {
          if (!this.is(K.kind) || !this.once(32)) return SLOW;
          i = this.strOrNull(i);
          if (i < 0 || this.sa < 0) return i;
          for (let k = 0; k < KINDS.length; k++)
            if (this.is(KINDS[k]!)) {
              this.kind = k;
              return i;
            }
          return SLOW;
        }
        if (!this.is(K.tags) || !this.once(64)) return SLOW;
        return this.tags(i);
      case 9:
        if (!this.is(K.timestamp) || !this.once(128)) return SLOW;
        i = this.digitsOrNull(i);
        this.tsA = this.na;
        this.tsB = this.nb;
        this.ts = this.num;
        return i;
      case 5:
        if (!this.is(K.debug) || !this.once(256)) return SLOW;
        i = this.flag(i);
        if (this.num) this.flags |= 4;
        return i;
      case 6:
        if (!this.is(K.shared) || !this.once(512)) return SLOW;
        i = this.flag(i);
        if (this.num) this.flags |= 2;
        return i;
      case 13:
        if (!this.is(K.localEndpoint) || !this.once(1024)) return SLOW;
        return this.endpoint(i, this.local);
      case 14:
        if (!this.is(K.remoteEndpoint) || !this.once(2048)) return SLOW;
        return this.endpoint(i, this.remote);
      case 11:
        if (!this.is(K.annotations) || !this.once(4096)) return SLOW;
        return this.annotations(i);
      default:
        return SLOW;
    }
  }

  private endpoint(i: number, e: Endpoint): number {
    const n = this.nul(i);
    if (n >= 0) return n;
    const b = this.b;
    if (b[i] !== OPEN_OBJECT) return SLOW;
    i = this.ws(i + 1);
    if (b[i] === CLOSE_OBJECT) return i + 1;
    let seen = 0;
    for (;;) {
      i = this.str(i);
      if (i < 0) return SLOW;
      i = this.colon(i);
      if (i < 0) return SLOW;
      if (this.is(K.port)) {
        if (seen & 1) return SLOW;
        seen |= 1;
        i = this.digitsOrNull(i);
        if (i < 0 || this.num > 65_535) return SLOW;
        e.port = this.num;
      } else {
        const key = this.is(K.serviceName) ? 2 : this.is(K.ipv4) ? 4 : this.is(K.ipv6) ? 8 : 0;
        if (key === 0 || seen & key) return SLOW;
        seen |= key;
        i = this.strOrNull(i);
        if (i < 0) return SLOW;
        // An empty string counts as absent, as in `decodeZipkinSpan`.
        const a = this.sa === this.sb ? -1 : this.sa;
        const z = this.sa === this.sb ? -1 : this.sb;
        if (key === 2) {
          e.serviceA = a;
          e.serviceB = z;
        } else if (key === 4) {
          e.ipv4A = a;
          e.ipv4B = z;
        } else {
          e.ipv6A = a;
          e.ipv6B = z;
        }
      }
      i = this.next(i, CLOSE_OBJECT);
      if (i === SLOW) return SLOW;
      if (i < 0) return -i - 1;
    }
  }

  private tags(i: number): number {
    const n = this.nul(i);
    if (n >= 0) return n;
    const b = this.b;
    if (b[i] !== OPEN_OBJECT) return SLOW;
    i = this.ws(i + 1);
    if (b[i] === CLOSE_OBJECT) return i + 1;
    const at = this.tagAt;
    for (;;) {
      i = this.str(i);
      if (i < 0) return SLOW;
      const ka = this.sa;
      const kb = this.sb;
      const first = b[ka]!;
      // Integer-like keys would be reordered by JSON.parse, and a key may be given once.
      if (kb === ka || kb - ka > SPAN_LIMITS.maxTagKeyLength || (first >= ZERO && first <= NINE)) return SLOW;
      if (this.is(K.proto) || this.tagCount === SPAN_LIMITS.maxTags) return SLOW;
      for (let t = 0; t < this.tagCount; t++) {
        const a = at[4 * t]!;
        if (at[4 * t + 1]! - a !== kb - ka) continue;
        let same = true;
        for (let k = 0; same && k < kb - ka; k++) same = b[a + k] === b[ka + k];
        if (same) return SLOW;
      }
      if (this.is(K.error)) this.error = true;
      i = this.colon(i);
      if (i < 0) return SLOW;
      i = this.str(i);
      if (i < 0 || this.sb - this.sa > SPAN_LIMITS.maxTagValueLength) return SLOW;
      const q = 4 * this.tagCount++;
      at[q] = ka;
      at[q + 1] = kb;
      at[q + 2] = this.sa;
      at[q + 3] = this.sb;
      i = this.next(i, CLOSE_OBJECT);
      if (i === SLOW) return SLOW;
      if (i < 0) return -i - 1;
    }
  }

  private annotations(i: number): number {
    const n = this.nul(i);
    if (n >= 0) return n;
    const b = this.b;
    if (b[i] !== OPEN_ARRAY) return SLOW;
    i = this.ws(i + 1);
    if (b[i] === CLOSE_ARRAY) return i + 1;
    const at = this.annAt;
    for (;;) {
      if (b[i] !== OPEN_OBJECT || this.annCount === SPAN_LIMITS.maxAnnotations) return SLOW;
      i = this.ws(i + 1);
      let seen = 0;
      const q = 4 * this.annCount++;
      for (;;) {
        i = this.str(i);
        if (i < 0) return SLOW;
        i = this.colon(i);
        if (i < 0) return SLOW;
        if (this.is(K.timestamp) && !(seen & 1)) {
          seen |= 1;
          i = this.digits(i);
          at[q] = this.na;
          at[q + 1] = this.nb;
        } else if (this.is(K.value) && !(seen & 2)) {
          seen |= 2;
          i = this.str(i);
          if (this.sb === this.sa || this.sb - this.sa > SPAN_LIMITS.maxAnnotationLength) return SLOW;
          at[q + 2] = this.sa;
          at[q + 3] = this.sb;
        } else return SLOW;
        if (i < 0) return SLOW;
        i = this.next(i, CLOSE_OBJECT);
        if (i === SLOW) return SLOW;
        if (i < 0) {
          i = -i - 1;
          break;
        }
      }
      if (seen !== 3) return SLOW;
      i = this.ws(i);
      if (b[i] === CLOSE_ARRAY) return i + 1;
      if (b[i] !== COMMA) return SLOW;
      i = this.ws(i + 1);
    }
  }

  /**
   * Checks the span read from [start, end) as `decodeZipkinSpan` and `checkBuiltSpan` would and
   * writes its row; false (nothing written) when it does not pass.
   */
  private write(start: number, end: number, out: ScannedSpans): boolean {
    const local = this.local;
    const remote = this.remote;
    const traceLen = this.traceB - this.traceA;
    const idLen = this.idB - this.idA;
    const serviceLen = local.serviceB - local.serviceA;
    if (
      this.traceA < 0 ||
      traceLen === 0 ||
      traceLen > 32 ||
      this.idA < 0 ||
      idLen === 0 ||
      idLen > 16 ||
      (this.parentA >= 0 && (this.parentB === this.parentA || this.parentB - this.parentA > 16)) ||
      local.serviceA < 0 ||
      serviceLen > SPAN_LIMITS.maxServiceLength ||
      (this.nameA >= 0 && this.nameB - this.nameA > SPAN_LIMITS.maxNameLength) ||
      remote.serviceB - remote.serviceA > SPAN_LIMITS.maxServiceLength ||
      local.ipB - local.ipA > 64 ||
      remote.ipB - remote.ipA > 64
    )
      return false;
    const w = this.writer;
    w.reserve(end - start + 256);
    const r = w.rows;
    let p = w.p;
    if (w.n > 0) r[p++] = COMMA;
    r[p++] = OPEN_ARRAY;
    r[p++] = QUOTE;
    // Ids are checked as they are written: nothing written counts until `endRow`.
    const traceAt = p;
    p = this.id(r, p, this.traceA, this.traceB, 32);
    if (p < 0) return false;
    r[p++] = QUOTE;
    r[p++] = COMMA;
    r[p++] = QUOTE;
    const spanAt = p;
    p = this.id(r, p, this.idA, this.idB, 16);
    if (p < 0) return false;
    r[p++] = QUOTE;
    r[p++] = COMMA;
    let parentAt = -1;
    if (this.parentA >= 0) {
      r[p++] = QUOTE;
      parentAt = p;
      p = this.id(r, p, this.parentA, this.parentB, 16);
      if (p < 0) return false;
      r[p++] = QUOTE;
      // A parent that is the span itself, or all zeros, is no parent.
      let self = true;
      let zero = true;
      for (let k = 0; k < 16; k++) {
        if (r[parentAt + k] !== r[spanAt + k]) self = false;
        if (r[parentAt + k] !== ZERO) zero = false;
      }
      if (self || zero) {
        p = parentAt - 1;
        parentAt = -1;
      }
    }
    if (parentAt < 0) p = this.put(r, p, K.null);
    r[p++] = COMMA;
    const nameAt = p + 1;
    p = this.quoted(r, p, this.nameA, this.nameB);
    const nameEnd = p - 1;
    r[p++] = COMMA;
    r[p++] = ZERO + this.kind;
    r[p++] = COMMA;
    const serviceAt = p + 1;
    p = this.quoted(r, p, local.serviceA, local.serviceB);
    const serviceEnd = p - 1;
    r[p++] = COMMA;
    p = this.number(r, p, this.tsA, this.tsB);
    r[p++] = COMMA;
    p = this.number(r, p, this.durA, this.durB);
    r[p++] = COMMA;
    const localIpAt = local.ipA < 0 ? -1 : p + 1;
    p = this.quotedOrNull(r, p, local.ipA, local.ipB);
    const localIpEnd = p - 1;
    r[p++] = COMMA;
    p = this.quotedOrNull(r, p, remote.ipA, remote.ipB);
    r[p++] = COMMA;
    p = remote.port === 0 ? this.put(r, p, K.null) : this.int(r, p, remote.port);
    r[p++] = COMMA;
    r[p++] = OPEN_OBJECT;
    const tags = this.tagAt;
    for (let t = 0; t < this.tagCount; t++) {
      if (t > 0) r[p++] = COMMA;
      p = this.quoted(r, p, tags[4 * t]!, tags[4 * t + 1]!);
      r[p++] = COLON;
      p = this.quoted(r, p, tags[4 * t + 2]!, tags[4 * t + 3]!);
    }
    r[p++] = CLOSE_OBJECT;
    r[p++] = COMMA;
    r[p++] = OPEN_ARRAY;
    const ann = this.annAt;
    for (let a = 0; a < this.annCount; a++) {
      if (a > 0) r[p++] = COMMA;
      p = this.number(r, p, ann[4 * a]!, ann[4 * a + 1]!);
      r[p++] = COMMA;
      p = this.quoted(r, p, ann[4 * a + 2]!, ann[4 * a + 3]!);
    }
    r[p++] = CLOSE_ARRAY;
    r[p++] = COMMA;
    const flags = this.flags | (this.error ? 1 : 0);
    r[p++] = ZERO + flags;
    r[p++] = COMMA;
    const remoteAt = remote.serviceA < 0 ? -1 : p + 1;
    p = this.quotedOrNull(r, p, remote.serviceA, remote.serviceB);
    const remoteEnd = p - 1;
    r[p++] = COMMA;
    p = local.port === 0 ? this.put(r, p, K.null) : this.int(r, p, local.port);
    r[p++] = CLOSE_ARRAY;
    w.p = p;
    const m = w.mark;
    m.traceAt = traceAt;
    m.spanAt = spanAt;
    m.parentAt = parentAt;
    m.nameAt = nameAt;
    m.nameEnd = nameEnd;
    m.serviceAt = serviceAt;
    m.serviceEnd = serviceEnd;
    m.remoteAt = remoteAt;
    m.remoteEnd = remoteEnd;
    m.localIpAt = localIpAt;
    m.localIpEnd = localIpEnd;
    m.start = this.ts;
    m.duration = this.dur;
    m.kind = this.kind;
    m.flags = flags;
    w.endRow();
    if (out.services) out.services.push(r.toString('latin1', serviceAt, serviceEnd));
    return true;
  }

  /** Writes the id in [a, z) lower-cased and left-padded with zeros to `width`; −1 if not hex. */
  private id(r: Uint8Array, p: number, a: number, z: number, width: number): number {
    const b = this.b;
    for (let k = z - a; k < width; k++) r[p++] = ZERO;
    for (let k = a; k < z; k++) {
      const c = b[k]!;
      if (!isHex(c)) return -1;
      r[p++] = c | 0x20;
    }
    return p;
  }

  private put(r: Uint8Array, p: number, w: Uint8Array): number {
    for (let k = 0; k < w.length; k++) r[p++] = w[k]!;
    return p;
  }

  /** `"…"` of the body's bytes [a, z); `""` when a is −1. */
  private quoted(r: Uint8Array, p: number, a: number, z: number): number {
    const b = this.b;
    r[p++] = QUOTE;
    if (a >= 0) for (let k = a; k < z; k++) r[p++] = b[k]!;
    r[p++] = QUOTE;
    return p;
  }

  private quotedOrNull(r: Uint8Array, p: number, a: number, z: number): number {
    return a < 0 ? this.put(r, p, K.null) : this.quoted(r, p, a, z);
  }

  /** The digits in [a, z), or 0 when a is −1. */
  private number(r: Uint8Array, p: number, a: number, z: number): number {
    if (a < 0) {
      r[p++] = ZERO;
      return p;
    }
    const b = this.b;
    for (let k = a; k < z; k++) r[p++] = b[k]!;
    return p;
  }

  private int(r: Uint8Array, p: number, v: number): number {
    const digits = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10_000 ? 4 : 5;
    for (let k = digits - 1; k >= 0; k--) {
      r[p + k] = ZERO + (v % 10);
      v = Math.floor(v / 10);
    }
    return p + digits;
  }
}
