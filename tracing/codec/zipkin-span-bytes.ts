/**
 * One Zipkin v2 span read from the bytes of a request body (`zipkin-scan.ts`): where each field
 * is, as byte ranges, and the numbers. Reads only the plain form (`json-bytes.ts`) of the fields
 * of `zipkin2-api.yaml`, each at most once; `SLOW` for anything else.
 */
import { SPAN_LIMITS } from '../model.ts';
import { after, bytesOf, JsonBytes } from './json-bytes.ts';

// Byte values and `SLOW` of `json-bytes.ts`, as constants of this module (see there).
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const NINE = 0x39;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const QUOTE = 0x22;
const SLOW = -1;
const ZERO = 0x30;

/** A span's keys, by the number `member` knows them by. */
const TRACE_ID = 0;
const ID = 1;
const PARENT_ID = 2;
const NAME = 3;
const KIND = 4;
const TIMESTAMP = 5;
const DURATION = 6;
const DEBUG = 7;
const SHARED = 8;
const LOCAL = 9;
const REMOTE = 10;
const TAGS = 11;
const ANNOTATIONS = 12;
const KEYS = [
  'traceId',
  'id',
  'parentId',
  'name',
  'kind',
  'timestamp',
  'duration',
  'debug',
  'shared',
  'localEndpoint',
  'remoteEndpoint',
  'tags',
  'annotations',
].map(bytesOf);
const ENDPOINT_KEYS = ['port', 'serviceName', 'ipv4', 'ipv6'].map(bytesOf);
const TIMESTAMP_KEY = KEYS[TIMESTAMP]!;
const VALUE_KEY = bytesOf('value');
const PROTO = bytesOf('__proto__');
const ERROR = bytesOf('error');
/** Zipkin's kinds in `SPAN_KINDS` order; without one a span is `local` (4). */
const KINDS = ['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'].map(bytesOf);
const LOCAL_KIND = 4;

/** One endpoint's fields: byte ranges (−1 for none; an empty string is none) and the port (0: none). */
class EndpointBytes {
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
  /** The IPv4 address, else the IPv6 one, as `decodeZipkinSpan` picks. */
  get ipA(): number {
    return this.ipv4A >= 0 ? this.ipv4A : this.ipv6A;
  }
  get ipB(): number {
    return this.ipv4A >= 0 ? this.ipv4B : this.ipv6B;
  }
}

export class ZipkinSpanBytes extends JsonBytes {
  /** Bytes of the trace id, id, parent id and name: [xA, xB) (−1: none). */
  traceA = -1;
  traceB = -1;
  idA = -1;
  idB = -1;
  parentA = -1;
  parentB = -1;
  nameA = -1;
  nameB = -1;
  kind = LOCAL_KIND;
  /** Digits of the timestamp and duration (−1: none) and their values (0: none). */
  tsA = -1;
  tsB = -1;
  ts = 0;
  durA = -1;
  durB = -1;
  dur = 0;
  /** 2 shared, 4 debug (as in bus records); the error flag comes from the tags. */
  flags = 0;
  error = false;
  readonly local = new EndpointBytes();
  readonly remote = new EndpointBytes();
  tagCount = 0;
  /** Per tag: key start, key end, value start, value end. */
  readonly tagAt = new Int32Array(4 * SPAN_LIMITS.maxTags);
  annCount = 0;
  /** Per annotation: timestamp digits start, end, value start, end. */
  readonly annAt = new Int32Array(4 * SPAN_LIMITS.maxAnnotations);
  private seen = 0;

  /** The body the spans are read from (kept until the next call). */
  setBody(b: Uint8Array): void {
    this.b = b;
  }

  /** Reads the span object at `i`: after its `}`, or SLOW. */
  span(i: number): number {
    this.seen = 0;
    this.traceA = this.traceB = this.idA = this.idB = -1;
    this.parentA = this.parentB = this.nameA = this.nameB = -1;
    this.tsA = this.durA = -1;
    this.kind = LOCAL_KIND;
    this.ts = this.dur = this.flags = 0;
    this.local.reset();
    this.remote.reset();
    this.tagCount = this.annCount = 0;
    this.error = false;
    i = this.ws(i + 1);
    if (this.b[i] !== QUOTE) return SLOW;
    for (;;) {
      i = this.str(i);
      if (i >= 0) i = this.colon(i);
      if (i >= 0) i = this.member(i);
      if (i >= 0) i = this.next(i, CLOSE_OBJECT);
      if (i === SLOW) return SLOW;
      if (i < 0) return after(i);
    }
  }

  /** The number of the key read last, or −1: told by its length (and first letter), then checked. */
  private key(): number {
    let k: number;
    switch (this.sb - this.sa) {
      case 2:
        k = ID;
        break;
      case 4: {
        const first = this.b[this.sa];
        k = first === 0x6e ? NAME : first === 0x6b ? KIND : TAGS;
        break;
      }
      case 5:
        k = DEBUG;
        break;
      case 6:
        k = SHARED;
        break;
      case 7:
        k = TRACE_ID;
        break;
      case 8:
        k = this.b[this.sa] === 0x70 ? PARENT_ID : DURATION;
        break;
      case 9:
        k = TIMESTAMP;
        break;
      case 11:
        k = ANNOTATIONS;
        break;
      case 13:
        k = LOCAL;
        break;
      case 14:
        k = REMOTE;
        break;
      default:
        return -1;
    }
    return this.is(KEYS[k]!) ? k : -1;
  }

  /** The value at `i` of the span member whose key was read last; a key given twice is SLOW. */
  private member(i: number): number {
    const k = this.key();
    if (k < 0 || this.seen & (1 << k)) return SLOW;
    this.seen |= 1 << k;
    switch (k) {
      case TRACE_ID:
        i = this.str(i);
        this.traceA = this.sa;
        this.traceB = this.sb;
        return i;
      case ID:
        i = this.str(i);
        this.idA = this.sa;
        this.idB = this.sb;
        return i;
      case PARENT_ID:
        i = this.strOrNull(i);
        this.parentA = this.sa;
        this.parentB = this.sb;
        return i;
      case NAME:
        i = this.strOrNull(i);
        this.nameA = this.sa;
        this.nameB = this.sb;
        return i;
      case KIND:
        return this.spanKind(i);
      case TIMESTAMP:
        i = this.digitsOrNull(i);
        this.tsA = this.na;
        this.tsB = this.nb;
        this.ts = this.num;
        return i;
      case DURATION:
        i = this.digitsOrNull(i);
        this.durA = this.na;
        this.durB = this.nb;
        this.dur = this.num;
        return i;
      case DEBUG:
      case SHARED:
        i = this.flag(i);
        if (this.num) this.flags |= k === DEBUG ? 4 : 2;
        return i;
      case LOCAL:
      case REMOTE:
        return this.endpoint(i, k === LOCAL ? this.local : this.remote);
      case TAGS:
        return this.tags(i);
      default:
        return this.annotations(i);
    }
  }

  private spanKind(i: number): number {
    i = this.strOrNull(i);
    if (i < 0 || this.sa < 0) return i;
    for (let k = 0; k < KINDS.length; k++)
      if (this.is(KINDS[k]!)) {
        this.kind = k;
        return i;
      }
    return SLOW;
  }

  private endpoint(i: number, e: EndpointBytes): number {
    i = this.opening(i, OPEN_OBJECT, CLOSE_OBJECT);
    if (i < 0) return i === SLOW ? SLOW : after(i);
    let seen = 0;
    for (;;) {
      i = this.str(i);
      if (i < 0) return SLOW;
      let k = 0;
      while (k < ENDPOINT_KEYS.length && !this.is(ENDPOINT_KEYS[k]!)) k++;
      if (k === ENDPOINT_KEYS.length || seen & (1 << k)) return SLOW;
      seen |= 1 << k;
      i = this.colon(i);
      if (i < 0) return SLOW;
      if (k === 0) {
        i = this.digitsOrNull(i);
        if (i < 0 || this.num > 65_535) return SLOW;
        e.port = this.num;
      } else {
        i = this.strOrNull(i);
        if (i < 0) return SLOW;
        const a = this.sa === this.sb ? -1 : this.sa;
        const z = this.sa === this.sb ? -1 : this.sb;
        if (k === 1) {
          e.serviceA = a;
          e.serviceB = z;
        } else if (k === 2) {
          e.ipv4A = a;
          e.ipv4B = z;
        } else {
          e.ipv6A = a;
          e.ipv6B = z;
        }
      }
      i = this.next(i, CLOSE_OBJECT);
      if (i < 0) return i === SLOW ? SLOW : after(i);
    }
  }

  /** Whether the tag key in [ka, kb) is new, and one `JSON.parse` keeps in place. */
  private plainNewTagKey(ka: number, kb: number): boolean {
    const b = this.b;
    const first = b[ka]!;
    // Integer-like keys would be put first by JSON.parse.
    if (kb === ka || kb - ka > SPAN_LIMITS.maxTagKeyLength || (first >= ZERO && first <= NINE)) return false;
    if (this.is(PROTO) || this.tagCount === SPAN_LIMITS.maxTags) return false;
    const at = this.tagAt;
    for (let t = 0; t < this.tagCount; t++) {
      const a = at[4 * t]!;
      if (at[4 * t + 1]! - a !== kb - ka) continue;
      let same = true;
      for (let k = 0; same && k < kb - ka; k++) same = b[a + k] === b[ka + k];
      if (same) return false;
    }
    return true;
  }

  private tags(i: number): number {
    i = this.opening(i, OPEN_OBJECT, CLOSE_OBJECT);
    if (i < 0) return i === SLOW ? SLOW : after(i);
    for (;;) {
      i = this.str(i);
      const ka = this.sa;
      const kb = this.sb;
      if (i < 0 || !this.plainNewTagKey(ka, kb)) return SLOW;
      if (this.is(ERROR)) this.error = true;
      i = this.colon(i);
      if (i >= 0) i = this.str(i);
      if (i < 0 || this.sb - this.sa > SPAN_LIMITS.maxTagValueLength) return SLOW;
      const q = 4 * this.tagCount++;
      this.tagAt[q] = ka;
      this.tagAt[q + 1] = kb;
      this.tagAt[q + 2] = this.sa;
      this.tagAt[q + 3] = this.sb;
      i = this.next(i, CLOSE_OBJECT);
      if (i < 0) return i === SLOW ? SLOW : after(i);
    }
  }

  private annotations(i: number): number {
    i = this.opening(i, OPEN_ARRAY, CLOSE_ARRAY);
    if (i < 0) return i === SLOW ? SLOW : after(i);
    for (;;) {
      if (this.b[i] !== OPEN_OBJECT || this.annCount === SPAN_LIMITS.maxAnnotations) return SLOW;
      i = this.annotation(this.ws(i + 1), 4 * this.annCount++);
      if (i < 0) return SLOW;
      i = this.ws(i);
      if (this.b[i] === CLOSE_ARRAY) return i + 1;
      if (this.b[i] !== COMMA) return SLOW;
      i = this.ws(i + 1);
    }
  }

  /** The members of an annotation from `i`, both given once: after its `}`, or SLOW. */
  private annotation(i: number, q: number): number {
    const at = this.annAt;
    let seen = 0;
    for (;;) {
      i = this.str(i);
      if (i < 0) return SLOW;
      const isTime = this.is(TIMESTAMP_KEY);
      const bit = isTime ? 1 : this.is(VALUE_KEY) ? 2 : 0;
      if (bit === 0 || seen & bit) return SLOW;
      seen |= bit;
      i = this.colon(i);
      if (i < 0) return SLOW;
      if (isTime) {
        i = this.digits(i);
        at[q] = this.na;
        at[q + 1] = this.nb;
      } else {
        i = this.str(i);
        if (this.sb === this.sa || this.sb - this.sa > SPAN_LIMITS.maxAnnotationLength) return SLOW;
        at[q + 2] = this.sa;
        at[q + 3] = this.sb;
      }
      if (i >= 0) i = this.next(i, CLOSE_OBJECT);
      if (i === SLOW) return SLOW;
      if (i < 0) return seen === 3 ? after(i) : SLOW;
    }
  }
}
