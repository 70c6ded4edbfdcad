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
 * A client also writes each point of a series as it wrote the last one: the same keys in the same
 * order and spacing, only the timestamp and value differ. So each remembered series also keeps the
 * bytes of its last point around those two numbers (its `PointLayout`), and a point of the series
 * the decoder expects next is first tried against them: equal bytes, two numbers, and the point is
 * read with no scanning of keys. Any difference, and the point is scanned as above.
 *
 * The good points come as columns (`PointColumns`): a point of a remembered series is its
 * `KnownSeries`, its timestamp and its value, with no object made for it.
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
import { LIMITS, type MaybeMemo, type MetricPoint, type PointColumns } from '../../core/model.ts';
import { decimalAt } from './decimal.ts';
import { decodePutPoint, type PutError, type RejectReason, reasonOf, toEpochMs } from './opentsdb-put.ts';
import { equalAt, type KnownSeries, layoutOf, type PointLayout, SeriesMemory } from './series-memory.ts';

/**
 * A body's good points as columns, and its errors. The points of a remembered series share its
 * `KnownSeries` (frozen tags, and admission's verdict once given); a point parsed alone is its own
 * series object.
 */
export type PutColumnsDecoded = {
  columns: PointColumns & { readonly series: readonly MaybeMemo[] };
  errors: PutError[];
  reasons: RejectReason[];
};

export type PutBodyDecoder = (body: Buffer) => PutColumnsDecoded | undefined;

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

/** Past a value that is not an object or array: a string, number, true, false or null. */
function skipScalar(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (isNumberStart(c)) return skipNumber(b, i);
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

function isNumberStart(c: number | undefined): boolean {
  return c === MINUS || (c !== undefined && c >= ZERO && c <= NINE);
}

export function createPutBodyDecoder(maxTags: number = LIMITS.maxTags, maxSeries = 200_000): PutBodyDecoder {
  const memory = new SeriesMemory(maxSeries);

  return (b) => {
    const series: MaybeMemo[] = [];
    const tsColumn: number[] = [];
    const values: number[] = [];
    const errors: PutError[] = [];
    const reasons: RejectReason[] = [];

    const decodeAlone = (start: number, end: number): MetricPoint | undefined => {
      let item: unknown;
      try {
        item = JSON.parse(b.toString('utf8', start, end));
      } catch {
        throw NOT_FOLLOWED;
      }
      const r = decodePutPoint(item, maxTags);
      if (r.point) {
        series.push(r.point);
        tsColumn.push(r.point.ts);
        values.push(r.point.value);
      } else {
        errors.push({ datapoint: item, error: r.error!.message });
        reasons.push(reasonOf(r.error!));
      }
      return r.point;
    };

    /** The data point object at `i`; returns the position after it. */
    const element = (i: number): number => {
      const predicted = memory.predicted();
      // Most points are written as the last point of their series was: only the numbers differ.
      if (predicted?.layout !== undefined) {
        const end = inLayout(i, predicted, predicted.layout);
        if (end >= 0) return end;
      }
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
      /** The series whose `tags` bytes were found at tStart, if the prediction held. */
      let tagsOf: KnownSeries | undefined;
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
            const same = predicted !== undefined && tStart < 0 && memory.tagsAt(b, at, predicted);
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
      const known =
        tagsOf !== undefined && memory.metricAt(b, mStart, mEnd, tagsOf)
          ? tagsOf
          : memory.find(b, mStart, mEnd, tStart, tEnd, predicted !== undefined);
      if (known === undefined) {
        const p = decodeAlone(start, i);
        if (p) {
          const remembered = memory.remember(b, mStart, mEnd, tStart, tEnd, p.metric, p.tags);
          remembered.layout = layoutOf(b, start, i, tsStart, tsEnd, vStart, vEnd);
          memory.follow(remembered);
        }
        return i;
      }
      memory.follow(known);
      if (known.layout === undefined || known === predicted)
        known.layout = layoutOf(b, start, i, tsStart, tsEnd, vStart, vEnd);
      take(known, start, i, tsStart, tsEnd, vStart, vEnd);
      return i;
    };

    /** The point b[start, end) of a remembered series, its timestamp and value where given. */
    const take = (
      known: KnownSeries,
      start: number,
      end: number,
      tsStart: number,
      tsEnd: number,
      vStart: number,
      vEnd: number,
    ): void => {
      const value = decimalAt(b, vStart, vEnd);
      const ts = Number.isFinite(value) ? toEpochMs(decimalAt(b, tsStart, tsEnd)) : undefined;
      if (ts !== undefined && Number.isInteger(ts) && ts >= LIMITS.minTs && ts <= LIMITS.maxTs) {
        series.push(known);
        tsColumn.push(ts);
        values.push(value);
      } else decodeAlone(start, end);
    };

    /**
     * The point at `start` if its bytes are those of `known`'s layout with two numbers in it: the
     * position after it, once it is taken. -1 (nothing taken) if they are not.
     */
    const inLayout = (start: number, known: KnownSeries, layout: PointLayout): number => {
      const { bytes, head, middle } = layout;
      if (!equalAt(b, start, bytes, 0, head)) return -1;
      const aStart = start + head;
      if (!isNumberStart(b[aStart])) return -1;
      // A number the general path would not follow either (it reads the same bytes to here).
      const aEnd = skipNumber(b, aStart);
      if (!equalAt(b, aEnd, bytes, head, middle)) return -1;
      const bStart = aEnd + middle;
      if (!isNumberStart(b[bStart])) return -1;
      const bEnd = skipNumber(b, bStart);
      const rest = head + middle;
      const end = bEnd + bytes.length - rest;
      if (!equalAt(b, bEnd, bytes, rest, bytes.length - rest)) return -1;
      memory.follow(known);
      if (layout.tsFirst) take(known, start, end, aStart, aEnd, bStart, bEnd);
      else take(known, start, end, bStart, bEnd, aStart, aEnd);
      return end;
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
      return { columns: { series, ts: tsColumn, values }, errors, reasons };
    } catch (e) {
      if (e instanceof NotFollowed) return undefined;
      throw e;
    }
  };
}
