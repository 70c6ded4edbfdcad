/**
 * The bus-record row (`spans-codec.ts`, version 1) of a span read by `zipkin-span-bytes.ts`,
 * written into a record writer's `rows` from the body's bytes, with its summary marks. What is
 * written is `JSON.stringify` of the row `decodeZipkinSpan` would give, byte for byte: the body's
 * strings are plain ASCII without escapes, so copying them is stringifying them.
 */
import { SPAN_LIMITS } from '../model.ts';
import { bytesOf } from './json-bytes.ts';
import type { SpanRecordWriter } from './record-writer.ts';
import type { ZipkinSpanBytes } from './zipkin-span-bytes.ts';

// Byte values and `SLOW` of `json-bytes.ts`, as constants of this module (see there).
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const QUOTE = 0x22;
const ZERO = 0x30;

const NULL = bytesOf('null');

const isHex = (c: number) => (c >= ZERO && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** The checks of `decodeZipkinSpan` and `checkBuiltSpan` that the bytes read do not make by themselves. */
function withinLimits(s: ZipkinSpanBytes): boolean {
  const { local, remote } = s;
  const traceLen = s.traceB - s.traceA;
  const idLen = s.idB - s.idA;
  const parentLen = s.parentB - s.parentA;
  return (
    s.traceA >= 0 &&
    traceLen > 0 &&
    traceLen <= 32 &&
    s.idA >= 0 &&
    idLen > 0 &&
    idLen <= 16 &&
    (s.parentA < 0 || (parentLen > 0 && parentLen <= 16)) &&
    local.serviceA >= 0 &&
    local.serviceB - local.serviceA <= SPAN_LIMITS.maxServiceLength &&
    s.nameB - s.nameA <= SPAN_LIMITS.maxNameLength &&
    remote.serviceB - remote.serviceA <= SPAN_LIMITS.maxServiceLength &&
    local.ipB - local.ipA <= 64 &&
    remote.ipB - remote.ipA <= 64
  );
}

/** Writes the id in body[a, z) lower-cased and left-padded with zeros to `width`; −1 if not hex. */
function id(r: Uint8Array, p: number, b: Uint8Array, a: number, z: number, width: number): number {
  for (let k = z - a; k < width; k++) r[p++] = ZERO;
  for (let k = a; k < z; k++) {
    const c = b[k]!;
    if (!isHex(c)) return -1;
    r[p++] = c | 0x20;
  }
  return p;
}

function put(r: Uint8Array, p: number, w: Uint8Array): number {
  for (let k = 0; k < w.length; k++) r[p++] = w[k]!;
  return p;
}

/** `"…"` of body[a, z); `""` when a is −1. */
function quoted(r: Uint8Array, p: number, b: Uint8Array, a: number, z: number): number {
  r[p++] = QUOTE;
  if (a >= 0) for (let k = a; k < z; k++) r[p++] = b[k]!;
  r[p++] = QUOTE;
  return p;
}

function quotedOrNull(r: Uint8Array, p: number, b: Uint8Array, a: number, z: number): number {
  return a < 0 ? put(r, p, NULL) : quoted(r, p, b, a, z);
}

/** The digits in body[a, z), or 0 when a is −1. */
function digits(r: Uint8Array, p: number, b: Uint8Array, a: number, z: number): number {
  if (a < 0) {
    r[p++] = ZERO;
    return p;
  }
  for (let k = a; k < z; k++) r[p++] = b[k]!;
  return p;
}

/** A port, or null for 0. */
function port(r: Uint8Array, p: number, v: number): number {
  if (v === 0) return put(r, p, NULL);
  const n = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10_000 ? 4 : 5;
  for (let k = n - 1; k >= 0; k--) {
    r[p + k] = ZERO + (v % 10);
    v = Math.floor(v / 10);
  }
  return p + n;
}

/**
 * Writes the ids of the row from `p` (after its `[`): trace id, span id and parent id (null when
 * absent, the span's own id or all zeros), each with the comma after it. Returns where the row
 * goes on, or −1 when an id is not hex; the marks of the ids are set in `w.mark`.
 */
function writeIds(s: ZipkinSpanBytes, b: Uint8Array, w: SpanRecordWriter, p: number): number {
  const r = w.rows;
  const m = w.mark;
  r[p++] = QUOTE;
  m.traceAt = p;
  p = id(r, p, b, s.traceA, s.traceB, 32);
  if (p < 0) return -1;
  r[p++] = QUOTE;
  r[p++] = COMMA;
  r[p++] = QUOTE;
  m.spanAt = p;
  p = id(r, p, b, s.idA, s.idB, 16);
  if (p < 0) return -1;
  r[p++] = QUOTE;
  r[p++] = COMMA;
  m.parentAt = -1;
  if (s.parentA >= 0) {
    const at = p + 1;
    r[p++] = QUOTE;
    p = id(r, p, b, s.parentA, s.parentB, 16);
    if (p < 0) return -1;
    r[p++] = QUOTE;
    let self = true;
    let zero = true;
    for (let k = 0; k < 16; k++) {
      if (r[at + k] !== r[m.spanAt + k]) self = false;
      if (r[at + k] !== ZERO) zero = false;
    }
    if (self || zero) p = at - 1;
    else m.parentAt = at;
  }
  if (m.parentAt < 0) p = put(r, p, NULL);
  r[p++] = COMMA;
  return p;
}

/** Writes the rest of the row from `p`: name to local port, and `]`. */
function writeFields(s: ZipkinSpanBytes, b: Uint8Array, w: SpanRecordWriter, p: number): number {
  const r = w.rows;
  const m = w.mark;
  const { local, remote } = s;
  m.nameAt = p + 1;
  p = quoted(r, p, b, s.nameA, s.nameB);
  m.nameEnd = p - 1;
  r[p++] = COMMA;
  r[p++] = ZERO + s.kind;
  r[p++] = COMMA;
  m.serviceAt = p + 1;
  p = quoted(r, p, b, local.serviceA, local.serviceB);
  m.serviceEnd = p - 1;
  r[p++] = COMMA;
  p = digits(r, p, b, s.tsA, s.tsB);
  r[p++] = COMMA;
  p = digits(r, p, b, s.durA, s.durB);
  r[p++] = COMMA;
  m.localIpAt = local.ipA < 0 ? -1 : p + 1;
  p = quotedOrNull(r, p, b, local.ipA, local.ipB);
  m.localIpEnd = p - 1;
  r[p++] = COMMA;
  p = quotedOrNull(r, p, b, remote.ipA, remote.ipB);
  r[p++] = COMMA;
  p = port(r, p, remote.port);
  r[p++] = COMMA;
  r[p++] = OPEN_OBJECT;
  const tags = s.tagAt;
  for (let t = 0; t < s.tagCount; t++) {
    if (t > 0) r[p++] = COMMA;
    p = quoted(r, p, b, tags[4 * t]!, tags[4 * t + 1]!);
    r[p++] = COLON;
    p = quoted(r, p, b, tags[4 * t + 2]!, tags[4 * t + 3]!);
  }
  r[p++] = CLOSE_OBJECT;
  r[p++] = COMMA;
  r[p++] = OPEN_ARRAY;
  const ann = s.annAt;
  for (let a = 0; a < s.annCount; a++) {
    if (a > 0) r[p++] = COMMA;
    p = digits(r, p, b, ann[4 * a]!, ann[4 * a + 1]!);
    r[p++] = COMMA;
    p = quoted(r, p, b, ann[4 * a + 2]!, ann[4 * a + 3]!);
  }
  r[p++] = CLOSE_ARRAY;
  r[p++] = COMMA;
  m.flags = s.flags | (s.error ? 1 : 0);
  r[p++] = ZERO + m.flags;
  r[p++] = COMMA;
  m.remoteAt = remote.serviceA < 0 ? -1 : p + 1;
  p = quotedOrNull(r, p, b, remote.serviceA, remote.serviceB);
  m.remoteEnd = p - 1;
  r[p++] = COMMA;
  p = port(r, p, local.port);
  r[p++] = CLOSE_ARRAY;
  return p;
}

/**
 * Writes the row of the span read from body[start, end) and ends it in the writer; false, with
 * nothing written, when the span does not pass `decodeZipkinSpan`'s checks.
 */
export function writeZipkinRow(
  s: ZipkinSpanBytes,
  body: Uint8Array,
  w: SpanRecordWriter,
  start: number,
  end: number,
): boolean {
  if (!withinLimits(s)) return false;
  // A row is at most its span's bytes, the ids' padding and the row's own punctuation.
  w.reserve(end - start + 256);
  let p = w.p;
  if (w.n > 0) w.rows[p++] = COMMA;
  w.rows[p++] = OPEN_ARRAY;
  // Nothing written counts until `endRow`: an id that is not hex leaves the writer as it was.
  p = writeIds(s, body, w, p);
  if (p < 0) return false;
  w.p = writeFields(s, body, w, p);
  const m = w.mark;
  m.start = s.ts;
  m.duration = s.dur;
  m.kind = s.kind;
  w.endRow();
  return true;
}
