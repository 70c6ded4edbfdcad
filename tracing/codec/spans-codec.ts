/**
 * How batches of spans travel on the Bus. Version 1 is a JSON array of rows
 * `[traceId, spanId, parentId, name, kind, service, start, duration, localIp, peerIp, peerPort,
 *   tags, annotations (flat [ts, value, ...]), flags (1 error, 2 shared, 4 debug), remoteService,
 *   localPort]`, with `null` for absent optional fields: what any Kafka consumer can read. Version 2
 * (`span-summaries.ts`) is the same JSON followed by a binary summary of each span, which the
 * hub's consumer reads instead of parsing the JSON; the embedded bus carries it. Only validated
 * spans are encoded.
 */
import { HubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';
import { SPAN_KINDS, type TraceSpan } from '../model.ts';
import { SpanRecordWriter } from './record-writer.ts';
import { decodeSummaries, hasSummaries, summaryJson, summaryRowRanges } from './span-summaries.ts';

/** `json`: version 1 (the rows alone); `binary`: version 2 (the rows and the summaries). */
export type SpanRecordEncoding = 'binary' | 'json';

const writers = { binary: new SpanRecordWriter(true), json: new SpanRecordWriter(false) };

/** A version-1 record: the JSON rows. */
export function encodeSpans(spans: readonly TraceSpan[]): Buffer {
  return encodeSpanRecord(spans, 'json');
}

/** Version 2 writes its numbers in the machine's byte order, which must be little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The writer of records in the given version (version 1 on a big-endian machine). */
export function recordWriter(encoding: SpanRecordEncoding): SpanRecordWriter {
  return encoding === 'json' || !LITTLE_ENDIAN ? writers.json : writers.binary;
}

/** A record in the given version (version 1 on a big-endian machine), in memory of its own. */
export function encodeSpanRecord(spans: readonly TraceSpan[], encoding: SpanRecordEncoding): Buffer {
  const writer = recordWriter(encoding);
  for (let i = 0; i < spans.length; i++) writer.addSpan(spans[i]!);
  return writer.finish();
}

const BOUNDARY = Buffer.from('],["');

function isHex(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66));
}

/**
 * Start and end (exclusive) of every row of version-1 JSON, or undefined when it is not
 * `[row,...]`. Rows are found by the bytes `],["` followed by a hex digit, which only a row
 * boundary can produce: inside a JSON string a `"` is escaped, and after a string's closing quote
 * comes `,`, `:`, `]` or `}`, never a hex digit (every row starts with its trace id).
 */
export function rowRanges(bytes: Uint8Array): { starts: number[]; ends: number[] } | undefined {
  const starts: number[] = [];
  const ends: number[] = [];
  if (bytes[0] !== 0x5b || bytes[bytes.length - 1] !== 0x5d) return undefined;
  if (bytes.length === 2) return { starts, ends };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 1;
  let from = 1;
  for (;;) {
    const at = buf.indexOf(BOUNDARY, from);
    if (at < 0) break;
    from = at + 1;
    if (!isHex(buf[at + BOUNDARY.length])) continue;
    starts.push(start);
    ends.push(at + 1);
    start = at + 2;
  }
  starts.push(start);
  ends.push(buf.length - 1);
  return { starts, ends };
}

/** The JSON rows of a record of either version (a view of it, not a copy). */
export function spansJson(record: Uint8Array): Uint8Array {
  return hasSummaries(record) ? summaryJson(record) : record;
}

/**
 * A record's JSON rows (a view) and where each row is in them: told by a version-2 record, found
 * by `rowRanges` in a version-1 one. Undefined when the record is not as either version writes it.
 */
export function recordRows(
  record: Uint8Array,
): { json: Buffer; starts: number[]; ends: number[] } | undefined {
  try {
    const rows = spansJson(record);
    const json = Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
    const ranges = hasSummaries(record) ? summaryRowRanges(record) : rowRanges(json);
    return ranges && { json, ...ranges };
  } catch {
    return undefined;
  }
}

/**
 * What the consumer needs of a record: the summaries of a version-2 record (no tags, annotations
 * or peer fields: `decodeSummaries`), every field of a version-1 record.
 */
export function decodeSpansLight(record: Uint8Array | string): TraceSpan[] {
  return hasSummaries(record) ? decodeSummaries(record as Uint8Array) : decodeSpans(record);
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const optStr = (v: unknown) => v === null || typeof v === 'string';
const optNum = (v: unknown) => v === null || typeof v === 'number';

function badRow(i: number): HubError {
  return new HubError('BAD_REQUEST', `Span ${i} of a spans record is not a valid row`, { where: `[${i}]` });
}

/**
 * Decodes every field of a record of either version (its bytes, or the UTF-8 text of version
 * 1); a record that does not parse throws a HubError.
 */
export function decodeSpans(record: Uint8Array | string): TraceSpan[] {
  let rows: unknown;
  const json = typeof record === 'string' ? record : spansJson(record);
  try {
    rows = JSON.parse(
      typeof json === 'string'
        ? json
        : Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'),
    );
  } catch (e) {
    throw new HubError('BAD_REQUEST', `A spans record is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!Array.isArray(rows)) throw new HubError('BAD_REQUEST', 'A spans record must be a JSON array');
  const out = new Array<TraceSpan>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as unknown[];
    if (!Array.isArray(r) || r.length !== 16) throw badRow(i);
    const [
      traceId,
      spanId,
      parentId,
      name,
      kind,
      service,
      start,
      duration,
      localIp,
      peerIp,
      peerPort,
      tags,
      ann,
      flags,
    ] = r;
    const remoteService = r[14];
    const localPort = r[15];
    if (
      !isStr(traceId) ||
      !isStr(spanId) ||
      !optStr(parentId) ||
      !isStr(name) ||
      typeof kind !== 'number' ||
      SPAN_KINDS[kind] === undefined ||
      !isStr(service) ||
      typeof start !== 'number' ||
      typeof duration !== 'number' ||
      !optStr(localIp) ||
      !optStr(peerIp) ||
      !optNum(peerPort) ||
      tags === null ||
      typeof tags !== 'object' ||
      !Array.isArray(ann) ||
      typeof flags !== 'number' ||
      !optStr(remoteService) ||
      !optNum(localPort)
    )
      throw badRow(i);
    const annotations = new Array<{ ts: number; value: string }>(ann.length >> 1);
    for (let j = 0; j < annotations.length; j++)
      annotations[j] = { ts: ann[2 * j] as number, value: ann[2 * j + 1] as string };
    const s: TraceSpan = {
      traceId,
      spanId,
      name,
      kind: SPAN_KINDS[kind]!,
      service,
      start,
      duration,
      tags: tags as Tags,
      annotations,
      error: (flags & 1) !== 0,
    };
    if (parentId !== null) s.parentId = parentId as string;
    if (localIp !== null) s.localIp = localIp as string;
    if (peerIp !== null) s.peerIp = peerIp as string;
    if (peerPort !== null) s.peerPort = peerPort as number;
    if (remoteService !== null) s.remoteService = remoteService as string;
    if (localPort !== null) s.localPort = localPort as number;
    if (flags & 2) s.shared = true;
    if (flags & 4) s.debug = true;
    out[i] = s;
  }
  return out;
}
