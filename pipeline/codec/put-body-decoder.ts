/**
 * `/api/put` bodies decoded straight from their bytes, with a memory of the series seen.
 *
 * A client sends the same `"metric"` and `"tags"` text for a series batch after batch. The
 * decoder scans each data point object of the body for the byte ranges of its `metric` string and
 * `tags` object. When both ranges are byte for byte those of a series it decoded (and found valid)
 * before, only the timestamp and value are read: no JSON objects, no strings, no validation of
 * names. Every other point (a new series, a missing or odd field, a bad timestamp or value) is
 * parsed alone with `JSON.parse` and goes through `decodePutPoint`, so its point or error is
 * exactly the one the whole-body path gives.
 *
 * The result is undefined when the body is not a JSON array of objects (or one object) that this
 * scanner follows: nested values other than `tags`, a `tags` object whose values are not strings,
 * a number JSON does not allow, text after the end. The caller then takes the whole-body path,
 * which also gives JSON.parse's error for a body that does not parse.
 *
 * Identical bytes decode to identical values, so a remembered series is never wrong for its
 * bytes; the same series written with other spacing or key order is another entry, found valid
 * once more.
 */
import { LIMITS, type MetricPoint, type Tags } from '../../core/model.ts';
import { decodePutPoint, type PutDecoded, type RejectReason, reasonOf, toEpochMs } from './opentsdb-put.ts';

/** A series decoded before: its `metric` token and `tags` object as they came, and its values. */
type Known = {
  /** The `metric` string token's bytes, then the `tags` object's. */
  readonly raw: Buffer;
  readonly metricBytes: number;
  readonly metric: string;
  readonly tags: Readonly<Tags>;
  /** The next series of the same hash. */
  next: Known | undefined;
  /** The series of the point that came after one of this series last time. */
  follower: Known | undefined;
};

export type PutBodyDecoder = (body: Buffer) => (PutDecoded & { reasons: RejectReason[] }) | undefined;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Powers of ten a double holds exactly: a mantissa below 2^53 times or over one is correctly rounded. */
const EXACT_POWERS = Array.from({ length: 23 }, (_, e) => 10 ** e);
const MAX_EXACT_DIGITS = 15;

const METRIC = Buffer.from('"metric"');
const TIMESTAMP = Buffer.from('"timestamp"');
const VALUE = Buffer.from('"value"');
const TAGS = Buffer.from('"tags"');
const WORDS = ['true', 'false', 'null'].map((w) => Buffer.from(w));

/** Scanning stops: the body is not one this decoder follows. */
class NotFollowed extends Error {}
const NOT_FOLLOWED = new NotFollowed();

// The scanning functions take the body and a position and return the position after what they
// read (state in arguments and locals, which the JIT keeps in registers). They throw NOT_FOLLOWED.

function skipSpace(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return i;
    i++;
  }
}

function expect(b: Uint8Array, i: number, c: number): number {
  if (b[i] !== c) throw NOT_FOLLOWED;
  return i + 1;
}

/** Past the string token at `i`. */
function skipString(b: Uint8Array, i: number): number {
  if (b[i] !== QUOTE) throw NOT_FOLLOWED;
  const n = b.length;
  i++;
  while (i < n) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c < SPACE) throw NOT_FOLLOWED;
    i += c === BACKSLASH ? 2 : 1;
  }
  throw NOT_FOLLOWED;
}

/** Whether b[start, end) is `token`. */
function isToken(b: Uint8Array, start: number, end: number, token: Uint8Array): boolean {
  if (end - start !== token.length) return false;
  for (let j = 0; j < token.length; j++) if (b[start + j] !== token[j]) return false;
  return true;
}

function skipDigits(b: Uint8Array, i: number): number {
  const start = i;
  for (let c = b[i]; c !== undefined && c >= ZERO && c <= NINE; c = b[++i]);
  if (i === start) throw NOT_FOLLOWED;
  return i;
}

/** Past the JSON number token at `i` (its grammar, strictly). */
function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) {
    i++;
    const c = b[i];
    if (c !== undefined && c >= ZERO && c <= NINE) throw NOT_FOLLOWED;
  } else i = skipDigits(b, i);
  if (b[i] === DOT) i = skipDigits(b, i + 1);
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === MINUS || b[i] === PLUS) i++;
    i = skipDigits(b, i);
  }
  return i;
}

/** The value of the number token b[start, end), as JSON.parse reads it. */
function numberAt(b: Buffer, start: number, end: number): number {
  let i = start;
  const negative = b[i] === MINUS;
  if (negative) i++;
  let mantissa = 0;
  let digits = 0;
  let exponent = 0;
  let c = b[i]!;
  for (; i < end && c >= ZERO && c <= NINE; c = b[++i]!) {
    mantissa = mantissa * 10 + (c - ZERO);
    digits++;
  }
  if (c === DOT)
    for (c = b[++i]!; i < end && c >= ZERO && c <= NINE; c = b[++i]!) {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      exponent--;
    }
  // An exponent, or too many digits for the mantissa to be exact: the runtime's conversion.
  if (i < end || digits > MAX_EXACT_DIGITS || exponent < -22) return Number(b.toString('latin1', start, end));
  const magnitude = exponent < 0 ? mantissa / EXACT_POWERS[-exponent]! : mantissa;
  return negative ? -magnitude : magnitude;
}

/** Past a value that is not an object or array: a string, number, true, false or null. */
function skipScalar(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return skipNumber(b, i);
  for (const word of WORDS) if (isToken(b, i, i + word.length, word)) return i + word.length;
  throw NOT_FOLLOWED;
}

/** Past an object whose values are strings (what `tags` is in every valid point). */
function skipFlatObject(b: Uint8Array, i: number): number {
  i = skipSpace(b, expect(b, i, OPEN_BRACE));
  if (b[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    i = skipSpace(b, skipString(b, i));
    i = skipSpace(b, expect(b, i, COLON));
    i = skipSpace(b, skipString(b, i));
    if (b[i] === CLOSE_BRACE) return i + 1;
    i = skipSpace(b, expect(b, i, COMMA));
  }
}

function hashRange(b: Uint8Array, start: number, end: number, h: number): number {
  for (let j = start; j < end; j++) h = Math.imul(h ^ b[j]!, 0x01000193);
  return h;
}

function sameBytes(b: Uint8Array, start: number, raw: Uint8Array, from: number, length: number): boolean {
  for (let j = 0; j < length; j++) if (raw[from + j] !== b[start + j]) return false;
  return true;
}

export function createPutBodyDecoder(maxTags: number = LIMITS.maxTags, maxSeries = 200_000): PutBodyDecoder {
  const known = new Map<number, Known>();
  let size = 0;
  /**
   * The series of the last point decoded. Clients send their series in the same order batch after
   * batch, so its `follower` is most often the next point's series: when the bytes at a `tags`
   * object are that series' (one compare), the object is neither scanned nor hashed.
   */
  let previous: Known | undefined;

  const find = (b: Buffer, h: number, mStart: number, mEnd: number, tStart: number, tEnd: number) => {
    const mLen = mEnd - mStart;
    const tLen = tEnd - tStart;
    for (let k = known.get(h); k !== undefined; k = k.next)
      if (
        k.metricBytes === mLen &&
        k.raw.length === mLen + tLen &&
        sameBytes(b, mStart, k.raw, 0, mLen) &&
        sameBytes(b, tStart, k.raw, mLen, tLen)
      )
        return k;
    return undefined;
  };

  const remember = (
    b: Buffer,
    h: number,
    mStart: number,
    mEnd: number,
    tStart: number,
    tEnd: number,
    p: MetricPoint,
  ) => {
    if (size >= maxSeries) {
      known.clear();
      size = 0;
      previous = undefined;
    }
    const entry: Known = {
      raw: Buffer.concat([b.subarray(mStart, mEnd), b.subarray(tStart, tEnd)]),
      metricBytes: mEnd - mStart,
      metric: p.metric,
      tags: Object.freeze({ ...p.tags }),
      next: known.get(h),
      follower: undefined,
    };
    known.set(h, entry);
    size++;
    return entry;
  };

  /** Whether the bytes at `at` are the `tags` object of `series`. */
  const tagsAt = (b: Buffer, at: number, series: Known) => {
    const end = at + series.raw.length - series.metricBytes;
    return end <= b.length && b.compare(series.raw, series.metricBytes, series.raw.length, at, end) === 0;
  };

  return (b) => {
    const points: MetricPoint[] = [];
    const errors: PutDecoded['errors'] = [];
    const reasons: RejectReason[] = [];

    const decodeAlone = (start: number, end: number): MetricPoint | undefined => {
      let item: unknown;
      try {
        item = JSON.parse(b.toString('utf8', start, end));
      } catch {
        throw NOT_FOLLOWED;
      }
      const r = decodePutPoint(item, maxTags);
      if (r.point) points.push(r.point);
      else {
        errors.push({ datapoint: item, error: r.error!.message });
        reasons.push(reasonOf(r.error!));
      }
      return r.point;
    };

    const follow = (series: Known) => {
      if (previous !== undefined) previous.follower = series;
      previous = series;
    };

    /** The data point object at `i`; returns the position after it. */
    const element = (i: number): number => {
      const start = i;
      let mStart = -1;
      let mEnd = -1;
      let tStart = -1;
      let tEnd = -1;
      let tsStart = -1;
      let tsEnd = -1;
      let vStart = -1;
      let vEnd = -1;
      // Set by anything the fast path does not take: the point is parsed alone.
      let alone = false;
      const predicted = previous?.follower;
      /** The series whose `tags` bytes were found at tStart, if the prediction held. */
      let tagsOf: Known | undefined;
      i = skipSpace(b, expect(b, i, OPEN_BRACE));
      if (b[i] === CLOSE_BRACE) i++;
      else
        for (;;) {
          const keyStart = i;
          i = skipString(b, i);
          const keyEnd = i;
          i = skipSpace(b, expect(b, skipSpace(b, i), COLON));
          const c = b[i];
          if (c === QUOTE) {
            const at = i;
            i = skipString(b, i);
            if (mStart < 0 && isToken(b, keyStart, keyEnd, METRIC)) {
              mStart = at;
              mEnd = i;
            } else alone = true;
          } else if (c === OPEN_BRACE) {
            const at = i;
            // Bytes equal to a series' tags are a whole object (they were scanned once).
            const same = predicted !== undefined && tStart < 0 && tagsAt(b, at, predicted);
            i = same ? at + predicted.raw.length - predicted.metricBytes : skipFlatObject(b, i);
            if (tStart < 0 && isToken(b, keyStart, keyEnd, TAGS)) {
              tStart = at;
              tEnd = i;
              if (same) tagsOf = predicted;
            } else alone = true;
          } else {
            const at = i;
            i = skipScalar(b, i);
            if (c === QUOTE || c === 0x74 || c === 0x66 || c === 0x6e) alone = true;
            else if (tsStart < 0 && isToken(b, keyStart, keyEnd, TIMESTAMP)) {
              tsStart = at;
              tsEnd = i;
            } else if (vStart < 0 && isToken(b, keyStart, keyEnd, VALUE)) {
              vStart = at;
              vEnd = i;
            } else alone = true;
          }
          i = skipSpace(b, i);
          if (b[i] === CLOSE_BRACE) {
            i++;
            break;
          }
          i = skipSpace(b, expect(b, i, COMMA));
        }
      if (alone || mStart < 0 || tStart < 0 || tsStart < 0 || vStart < 0) {
        decodeAlone(start, i);
        return i;
      }
      let series: Known | undefined;
      if (
        tagsOf !== undefined &&
        tagsOf.metricBytes === mEnd - mStart &&
        sameBytes(b, mStart, tagsOf.raw, 0, tagsOf.metricBytes)
      )
        series = tagsOf;
      else {
        const h = hashRange(b, tStart, tEnd, hashRange(b, mStart, mEnd, 0x811c9dc5)) >>> 0;
        series = find(b, h, mStart, mEnd, tStart, tEnd);
        if (series === undefined) {
          const p = decodeAlone(start, i);
          if (p) follow(remember(b, h, mStart, mEnd, tStart, tEnd, p));
          return i;
        }
      }
      follow(series);
      const value = numberAt(b, vStart, vEnd);
      const ts = Number.isFinite(value) ? toEpochMs(numberAt(b, tsStart, tsEnd)) : undefined;
      if (ts !== undefined && Number.isInteger(ts) && ts >= LIMITS.minTs && ts <= LIMITS.maxTs)
        points.push({ metric: series.metric, tags: series.tags as Tags, ts, value });
      else decodeAlone(start, i);
      return i;
    };

    try {
      let i = skipSpace(b, 0);
      if (b[i] === OPEN_BRACKET) {
        i = skipSpace(b, i + 1);
        if (b[i] === CLOSE_BRACKET) i++;
        else
          for (;;) {
            i = skipSpace(b, element(i));
            if (b[i] === CLOSE_BRACKET) {
              i++;
              break;
            }
            i = skipSpace(b, expect(b, i, COMMA));
          }
      } else i = element(i);
      if (skipSpace(b, i) !== b.length) return undefined;
      return { points, errors, reasons };
    } catch (e) {
      if (e instanceof NotFollowed) return undefined;
      throw e;
    }
  };
}
