/**
 * How batches of points travel on the Bus. Two record versions, told apart by the first byte:
 *
 * - v1, JSON (what the Kafka bus documents, and what older hubs wrote): a compact UTF-8 JSON array
 *   of `[metric, tags, ts, value]` rows. Its first byte is `[` (or JSON whitespace).
 * - v2, binary: `0x02 | count u32 LE | count × ts f64 LE | count × value f64 LE
 *   | the points' series keys (`metric{k=v,...}`, tags sorted, as `seriesKey`) in UTF-8, joined by
 *   "\n"`. It spares the JSON round trip and carries the series key, built once at admission, to
 *   the store. Only points whose names hold none of `{ } , = \n` can be written this way (every
 *   validated name), so that the key reads back into the metric and tags unambiguously.
 *
 * The embedded bus carries v3 (`series-refs.ts`), which names a series by a number after its key.
 */
import { HubError } from '../../core/errors.ts';
import { type MetricPoint, type PointColumns, seriesKey, type Tags } from '../../core/model.ts';

export const BINARY_RECORD_VERSION = 2;
const HEADER_BYTES = 5;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodePoints(points: readonly MetricPoint[]): Uint8Array {
  const rows = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    rows[i] = [p.metric, p.tags, p.ts, p.value];
  }
  return Buffer.from(JSON.stringify(rows));
}

/** Whether a name can stand in a v2 series key: none of the characters the key is parsed by. */
export function isKeySafe(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // { } , = \n
    if (c === 123 || c === 125 || c === 44 || c === 61 || c === 10) return false;
  }
  return true;
}

/** The series key of a point if all its names are key-safe, else undefined. */
export function safeSeriesKey(p: MetricPoint): string | undefined {
  if (!isKeySafe(p.metric)) return undefined;
  for (const k in p.tags) if (!isKeySafe(k) || !isKeySafe(p.tags[k]!)) return undefined;
  return seriesKey(p.metric, p.tags);
}

/**
 * A v2 record of `points`, whose series keys are `keys` (same order; every name key-safe, as the
 * caller guarantees).
 */
export function encodeBinaryPoints(points: readonly MetricPoint[], keys: readonly string[]): Uint8Array {
  const n = points.length;
  const ts = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ts[i] = points[i]!.ts;
    values[i] = points[i]!.value;
  }
  return encodeBinaryColumns({ ts, values }, keys);
}

/** `encodeBinaryPoints` for points as columns. */
export function encodeBinaryColumns(
  columns: Pick<PointColumns, 'ts' | 'values'>,
  keys: readonly string[],
): Uint8Array {
  const n = columns.ts.length;
  const text = textPieces(keys);
  let textBytes = 0;
  for (const piece of text) textBytes += Buffer.byteLength(piece);
  const numbers = new Float64Array(2 * n);
  numbers.set(columns.ts);
  numbers.set(columns.values, n);
  const out = Buffer.allocUnsafe(HEADER_BYTES + 16 * n + textBytes);
  out[0] = BINARY_RECORD_VERSION;
  out.writeUInt32LE(n, 1);
  if (LITTLE_ENDIAN) out.set(new Uint8Array(numbers.buffer), HEADER_BYTES);
  else for (let i = 0; i < 2 * n; i++) out.writeDoubleLE(numbers[i]!, HEADER_BYTES + 8 * i);
  let at = HEADER_BYTES + 16 * n;
  for (const piece of text) at += out.write(piece, at);
  return out;
}

/**
 * Strings of a record's text, joined and cut to stay below `PIECE_CHARS`: V8 keeps a string of
 * more than about 128 KiB in its large-object space, which is filled at a fraction of the speed of
 * smaller ones (1,000 keys of a container's tags are about 190 KB).
 */
const PIECE_CHARS = 32_768;

/** The keys joined by "\n", in pieces (each piece but the last ends with the "\n"). */
export function textPieces(keys: readonly string[]): string[] {
  const pieces: string[] = [];
  let from = 0;
  let chars = 0;
  for (let i = 0; i < keys.length; i++) {
    chars += keys[i]!.length + 1;
    if (chars >= PIECE_CHARS || i === keys.length - 1) {
      const last = i === keys.length - 1;
      pieces.push(keys.slice(from, i + 1).join('\n') + (last ? '' : '\n'));
      from = i + 1;
      chars = 0;
    }
  }
  return pieces;
}

/** The "\n"-separated keys of buf[from, end), read in pieces of about `PIECE_CHARS` bytes. */
export function readKeys(buf: Buffer, from: number): string[] {
  const keys: string[] = [];
  const end = buf.length;
  if (from === end) return keys;
  while (from <= end) {
    let cut = from + PIECE_CHARS >= end ? end : buf.lastIndexOf(0x0a, from + PIECE_CHARS);
    // A single key longer than a piece: cut after it.
    if (cut < from) cut = buf.indexOf(0x0a, from + PIECE_CHARS);
    if (cut < 0) cut = end;
    for (const key of buf.toString('utf8', from, cut).split('\n')) keys.push(key);
    from = cut + 1;
  }
  return keys;
}

/** A series read from a v2 record: its key, metric and tags (frozen, shared by its points). */
export type SeriesRef = { key: string; metric: string; tags: Readonly<Tags> };

/**
 * Series already read, by key, so that each point of a known series shares one frozen tags object
 * instead of parsing its key again. Cleared when it holds `max` series.
 */
export class SeriesCache {
  private readonly refs = new Map<string, SeriesRef>();
  constructor(private readonly max = 1_000_000) {}

  get(key: string): SeriesRef {
    let ref = this.refs.get(key);
    if (ref === undefined) {
      ref = parseSeriesKey(key);
      if (this.refs.size >= this.max) this.refs.clear();
      this.refs.set(key, ref);
    }
    return ref;
  }
}

/** `metric{k=v,...}` back into its parts; a HubError for anything else. */
export function parseSeriesKey(key: string): SeriesRef {
  const brace = key.indexOf('{');
  if (brace <= 0 || key.charCodeAt(key.length - 1) !== 125)
    throw new HubError('BAD_REQUEST', `A points record holds a bad series key "${key.slice(0, 200)}"`);
  const tags: Tags = {};
  const inner = key.slice(brace + 1, -1);
  if (inner !== '')
    for (const pair of inner.split(',')) {
      const eq = pair.indexOf('=');
      if (eq < 0)
        throw new HubError(
          'BAD_REQUEST',
          `A points record holds a bad tag "${pair}" in "${key.slice(0, 200)}"`,
        );
      tags[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  return { key, metric: key.slice(0, brace), tags: Object.freeze(tags) };
}

/** Points and their series keys, as `decodePointsWithKeys` gives them. */
export type DecodedPoints = { points: MetricPoint[]; keys: string[] | undefined };

/** Decodes a record of either version; `keys` is set for v2 records. */
export function decodePointsWithKeys(bytes: Uint8Array, cache?: SeriesCache): DecodedPoints {
  if (bytes.length > 0 && bytes[0] === BINARY_RECORD_VERSION) return decodeBinary(bytes, cache);
  return { points: decodeJson(bytes), keys: undefined };
}

export function decodePoints(bytes: Uint8Array, cache?: SeriesCache): MetricPoint[] {
  return decodePointsWithKeys(bytes, cache).points;
}

function decodeBinary(bytes: Uint8Array, cache: SeriesCache | undefined): DecodedPoints {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES) throw new HubError('BAD_REQUEST', 'A binary points record is truncated');
  const n = buf.readUInt32LE(1);
  const textAt = HEADER_BYTES + 16 * n;
  if (textAt > buf.length)
    throw new HubError('BAD_REQUEST', `A binary points record of ${n} points is truncated`);
  const numbers = new Float64Array(2 * n);
  if (LITTLE_ENDIAN) new Uint8Array(numbers.buffer).set(buf.subarray(HEADER_BYTES, textAt));
  else for (let i = 0; i < 2 * n; i++) numbers[i] = buf.readDoubleLE(HEADER_BYTES + 8 * i);
  const keys = n === 0 ? [] : readKeys(buf, textAt);
  if (keys.length !== n)
    throw new HubError(
      'BAD_REQUEST',
      `A binary points record has ${keys.length} series keys for ${n} points`,
    );
  const points = new Array<MetricPoint>(n);
  for (let i = 0; i < n; i++) {
    const ref = cache ? cache.get(keys[i]!) : parseSeriesKey(keys[i]!);
    points[i] = { metric: ref.metric, tags: ref.tags as Tags, ts: numbers[i]!, value: numbers[n + i]! };
  }
  return { points, keys };
}

function decodeJson(bytes: Uint8Array): MetricPoint[] {
  let rows: unknown;
  try {
    rows = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    throw new HubError('BAD_REQUEST', `A points record is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!Array.isArray(rows)) throw new HubError('BAD_REQUEST', 'A points record must be a JSON array');
  const out = new Array<MetricPoint>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as unknown;
    if (!Array.isArray(row) || row.length !== 4)
      throw new HubError('BAD_REQUEST', `Point ${i} of a points record is not [metric, tags, ts, value]`, {
        where: `[${i}]`,
      });
    const [metric, tags, ts, value] = row as [string, Tags, number, number];
    if (
      typeof metric !== 'string' ||
      typeof ts !== 'number' ||
      typeof value !== 'number' ||
      tags === null ||
      typeof tags !== 'object'
    )
      throw new HubError('BAD_REQUEST', `Point ${i} of a points record has a field of the wrong type`, {
        where: `[${i}]`,
      });
    out[i] = { metric, tags, ts, value };
  }
  return out;
}
