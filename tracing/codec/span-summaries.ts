/**
 * Version 2 of the spans bus record: the version-1 JSON rows (what DuckDB and trace-by-id read),
 * followed by a summary of each span that the consumer reads without parsing the JSON. A summary
 * holds what the assembler and the span store's index need: ids, name, kind, service, remote
 * service, local IP, start, duration, the flags, and where the span's row ends in the JSON. The
 * consumer then builds no tags, annotations or peer fields; those stay in the JSON for the store.
 *
 * Written by `record-writer.ts`. Layout, little-endian:
 *
 *     0x02 · u32 J · J bytes: the version-1 JSON `[row,...]`
 *     u32 N (spans) · u32 S · S bytes: JSON array of the strings the summaries name (each name,
 *       service and address once, a trace id once per run of its spans, span ids as they come)
 *     N × 8 i32: end of the row in the JSON (exclusive), then the indexes in that array of
 *       traceId, spanId, parentId, name, service, remoteService, localIp (−1 for none)
 *     N × 2 f64: start, duration (µs)
 *     N × 2 u8: kind (`SPAN_KINDS` index), flags (1 error, 2 shared, 4 debug)
 */
import { HubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';
import { SPAN_KINDS, type TraceSpan } from '../model.ts';

export const SUMMARY_VERSION = 2;
/** Per span: `SUMMARY_INTS` 32-bit integers, two doubles, two bytes. */
export const SUMMARY_INTS = 8;
const INTS = SUMMARY_INTS;
export const SUMMARY_BYTES = 4 * INTS + 16 + 2;

/** What a summary puts where tags and annotations would be: shared, frozen, empty. */
const NO_TAGS: Tags = Object.freeze({}) as Tags;
const NO_ANNOTATIONS: { ts: number; value: string }[] = Object.freeze([]) as unknown as {
  ts: number;
  value: string;
}[];

function bad(message: string): HubError {
  return new HubError('BAD_REQUEST', `A version-2 spans record is damaged: ${message}`);
}

type Layout = { json: Buffer; n: number; table: number; tableBytes: number; fixed: number };

function layout(record: Uint8Array): Layout {
  const buf = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (buf.length < 13 || buf[0] !== SUMMARY_VERSION) throw bad('no version-2 header');
  const jsonBytes = buf.readUInt32LE(1);
  const after = 5 + jsonBytes;
  if (after + 8 > buf.length) throw bad('the JSON rows run past its end');
  const n = buf.readUInt32LE(after);
  const tableBytes = buf.readUInt32LE(after + 4);
  const table = after + 8;
  const fixed = table + tableBytes;
  if (fixed + n * SUMMARY_BYTES !== buf.length) throw bad(`${n} summaries do not fit its length`);
  return { json: buf.subarray(5, after), n, table, tableBytes, fixed };
}

/** Whether a record is version 2 (else it is version 1: the JSON rows alone). */
export function hasSummaries(record: Uint8Array | string): boolean {
  return typeof record !== 'string' && record[0] === SUMMARY_VERSION;
}

/** The version-1 JSON rows of a version-2 record (a view, not a copy). */
export function summaryJson(record: Uint8Array): Buffer {
  return layout(record).json;
}

/** Start and end (exclusive) in `summaryJson` of every row of a version-2 record. */
export function summaryRowRanges(record: Uint8Array): { starts: number[]; ends: number[] } {
  const { n, fixed } = layout(record);
  const buf = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  const starts = new Array<number>(n);
  const ends = new Array<number>(n);
  let start = 1;
  for (let i = 0; i < n; i++) {
    const end = buf.readInt32LE(fixed + i * 4 * INTS);
    starts[i] = start;
    ends[i] = end;
    start = end + 1;
  }
  return { starts, ends };
}

/**
 * The spans of a version-2 record from their summaries: tags and annotations empty (frozen),
 * peer IP and port and local port absent. Throws a HubError when the record is damaged.
 */
export function decodeSummaries(record: Uint8Array): TraceSpan[] {
  const { n, table, tableBytes, fixed } = layout(record);
  const buf = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  let strings: unknown;
  try {
    strings = JSON.parse(buf.toString('utf8', table, table + tableBytes));
  } catch (e) {
    throw bad(`its string table is not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(strings)) throw bad('its string table is not an array');
  const str = (i: number): string => {
    const s = (strings as unknown[])[i];
    if (typeof s !== 'string') throw bad(`string ${i} is missing`);
    return s;
  };
  const out = new Array<TraceSpan>(n);
  const view = new DataView(buf.buffer, buf.byteOffset + fixed, n * SUMMARY_BYTES);
  const floatsAt = n * 4 * INTS;
  const bytesAt = floatsAt + n * 16;
  for (let i = 0; i < n; i++) {
    const q = i * 4 * INTS;
    const kind = SPAN_KINDS[view.getUint8(bytesAt + 2 * i)];
    if (kind === undefined) throw bad(`span ${i} has kind ${view.getUint8(bytesAt + 2 * i)}`);
    const flags = view.getUint8(bytesAt + 2 * i + 1);
    const s: TraceSpan = {
      traceId: str(view.getInt32(q + 4, true)),
      spanId: str(view.getInt32(q + 8, true)),
      name: str(view.getInt32(q + 16, true)),
      kind,
      service: str(view.getInt32(q + 20, true)),
      start: view.getFloat64(floatsAt + 16 * i, true),
      duration: view.getFloat64(floatsAt + 16 * i + 8, true),
      tags: NO_TAGS,
      annotations: NO_ANNOTATIONS,
      error: (flags & 1) !== 0,
    };
    const parentId = view.getInt32(q + 12, true);
    if (parentId >= 0) s.parentId = str(parentId);
    const localIp = view.getInt32(q + 28, true);
    if (localIp >= 0) s.localIp = str(localIp);
    const remote = view.getInt32(q + 24, true);
    if (remote >= 0) s.remoteService = str(remote);
    if (flags & 2) s.shared = true;
    if (flags & 4) s.debug = true;
    out[i] = s;
  }
  return out;
}
