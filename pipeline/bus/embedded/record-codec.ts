/**
 * The on-disk record format of the embedded bus, as pure functions.
 *
 * A frame is `length u32 | crc32 u32 | payload`, big-endian, where `length` counts the payload
 * bytes and the CRC-32 (IEEE, as zlib) covers the payload. The payload is
 *
 * ```
 * magic u8 (=1) | offset u64 | ts u64 (epoch ms) | keyLen u32 (0xffffffff = no key) | key utf8
 * | headerCount u32 | { nameLen u32 | name utf8 | valueLen u32 | value utf8 } * headerCount
 * | valueLen u32 | value bytes
 * ```
 */
import * as zlib from 'node:zlib';
import type { BusMessage, BusRecord } from '../../../core/ports.ts';

export const FRAME_HEADER_BYTES = 8;
export const MAGIC = 1;
/** magic + offset + ts + keyLen + headerCount + valueLen */
export const MIN_PAYLOAD_BYTES = 1 + 8 + 8 + 4 + 4 + 4;
/** A frame longer than this is treated as a torn length field, and refused on publish. */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;
const NO_KEY = 0xffffffff;
const TWO_32 = 2 ** 32;

export type RecordToEncode = BusMessage & { offset: number; ts: number };

export type DecodeResult =
  | { kind: 'ok'; record: BusRecord; next: number }
  /** The frame does not fit in the bytes given; `frameBytes` is its full size when known. */
  | { kind: 'partial'; frameBytes: number | undefined }
  | { kind: 'corrupt'; reason: string };

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE) in plain JS, for Node versions without `zlib.crc32`. */
export function tableCrc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = typeof zlib.crc32 === 'function' ? zlib.crc32 : undefined;

export function crc32(data: Uint8Array): number {
  return nativeCrc32 ? nativeCrc32(data) : tableCrc32(data);
}

/** Bytes the frame of `record` takes on disk. */
export function frameSize(record: BusMessage): number {
  let size = FRAME_HEADER_BYTES + MIN_PAYLOAD_BYTES + record.value.length;
  if (record.key !== undefined) size += Buffer.byteLength(record.key);
  if (record.headers)
    for (const [name, value] of Object.entries(record.headers))
      size += 8 + Buffer.byteLength(name) + Buffer.byteLength(value);
  return size;
}

function writeU64(buf: Buffer, value: number, pos: number): number {
  buf.writeUInt32BE(Math.floor(value / TWO_32), pos);
  buf.writeUInt32BE(value >>> 0, pos + 4);
  return pos + 8;
}

function readU64(buf: Buffer, pos: number): number {
  return buf.readUInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

function writeString(buf: Buffer, text: string, pos: number): number {
  const n = buf.write(text, pos + 4, 'utf8');
  buf.writeUInt32BE(n, pos);
  return pos + 4 + n;
}

/** Writes the frame of `message` into `buf` at `pos`; returns the position after it. */
export function encodeFrame(
  buf: Buffer,
  pos: number,
  offset: number,
  ts: number,
  message: BusMessage,
): number {
  const start = pos + FRAME_HEADER_BYTES;
  let p = start;
  buf[p++] = MAGIC;
  p = writeU64(buf, offset, p);
  p = writeU64(buf, ts, p);
  if (message.key === undefined) p = buf.writeUInt32BE(NO_KEY, p);
  else p = writeString(buf, message.key, p);
  if (message.headers === undefined) p = buf.writeUInt32BE(0, p);
  else {
    const headers = Object.entries(message.headers);
    p = buf.writeUInt32BE(headers.length, p);
    for (const [name, value] of headers) p = writeString(buf, value, writeString(buf, name, p));
  }
  const value = message.value;
  p = buf.writeUInt32BE(value.length, p);
  buf.set(value, p);
  p += value.length;
  buf.writeUInt32BE(p - start, pos);
  buf.writeUInt32BE(crc32(buf.subarray(start, p)), pos + 4);
  return p;
}

/** Encodes records into one buffer, frames back to back. */
export function encodeFrames(records: RecordToEncode[]): Buffer {
  let total = 0;
  for (const r of records) total += frameSize(r);
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const r of records) pos = encodeFrame(buf, pos, r.offset, r.ts, r);
  return buf;
}

class Corrupt extends Error {}

function readString(buf: Buffer, pos: number, end: number): [string, number] {
  if (pos + 4 > end) throw new Corrupt('string length past the payload');
  const n = buf.readUInt32BE(pos);
  if (pos + 4 + n > end) throw new Corrupt('string past the payload');
  return [buf.toString('utf8', pos + 4, pos + 4 + n), pos + 4 + n];
}

function decodePayload(buf: Buffer, start: number, end: number, topic: string): BusRecord {
  if (buf[start] !== MAGIC) throw new Corrupt(`unknown magic ${buf[start]}`);
  let p = start + 17;
  let key: string | undefined;
  if (buf.readUInt32BE(p) === NO_KEY) p += 4;
  else [key, p] = readString(buf, p, end);
  if (p + 4 > end) throw new Corrupt('header count past the payload');
  const count = buf.readUInt32BE(p);
  p += 4;
  let headers: Record<string, string> | undefined;
  for (let i = 0; i < count; i++) {
    const [name, afterName] = readString(buf, p, end);
    const [value, afterValue] = readString(buf, afterName, end);
    headers ??= {};
    headers[name] = value;
    p = afterValue;
  }
  if (p + 4 > end) throw new Corrupt('value length past the payload');
  const valueLen = buf.readUInt32BE(p);
  p += 4;
  if (p + valueLen !== end) throw new Corrupt('value length does not match the frame length');
  const record: BusRecord = {
    topic,
    partition: 0,
    offset: readU64(buf, start + 1),
    ts: readU64(buf, start + 9),
    value: buf.subarray(p, end),
  };
  if (key !== undefined) record.key = key;
  if (headers !== undefined) record.headers = headers;
  return record;
}

/**
 * Decodes the frame at `pos`, looking at bytes before `end` only, into a record of `topic`,
 * partition 0. The record's value is a view into `buf`, not a copy.
 */
export function decodeFrame(buf: Buffer, pos: number, end: number, topic = ''): DecodeResult {
  if (pos + FRAME_HEADER_BYTES > end) return { kind: 'partial', frameBytes: undefined };
  const length = buf.readUInt32BE(pos);
  if (length < MIN_PAYLOAD_BYTES || length > MAX_PAYLOAD_BYTES)
    return { kind: 'corrupt', reason: `bad frame length ${length}` };
  const frameBytes = FRAME_HEADER_BYTES + length;
  if (pos + frameBytes > end) return { kind: 'partial', frameBytes };
  const start = pos + FRAME_HEADER_BYTES;
  const stop = start + length;
  if (crc32(buf.subarray(start, stop)) !== buf.readUInt32BE(pos + 4))
    return { kind: 'corrupt', reason: 'CRC mismatch' };
  try {
    return { kind: 'ok', record: decodePayload(buf, start, stop, topic), next: stop };
  } catch (e) {
    if (e instanceof Corrupt) return { kind: 'corrupt', reason: e.message };
    throw e;
  }
}

/** The timestamp of a frame, from its first bytes, without checking the CRC. */
export function peekTimestamp(buf: Buffer): number | undefined {
  const at = FRAME_HEADER_BYTES + 1 + 8;
  return buf.length >= at + 8 ? readU64(buf, at) : undefined;
}

/** Bytes `peekTimestamp` needs. */
export const PEEK_BYTES = FRAME_HEADER_BYTES + 1 + 16;

const SEGMENT_NAME = /^(\d{20})\.log$/;

/** `00000000000000001234.log` for base offset 1234. */
export function segmentFileName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0') + '.log';
}

/** The base offset a segment file name carries, or undefined for other files. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}
