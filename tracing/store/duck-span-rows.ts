/**
 * How spans map to rows of the span table, both ways: the schema, the appender's columns, the
 * insert that lets DuckDB read bus records itself, and rows read back into spans.
 */
import { BIGINT, BOOLEAN, INTEGER, VARCHAR } from '@duckdb/node-api';
import type { SpanKind, Tags } from '../../core/model.ts';
import type { TraceSpan } from '../model.ts';

/**
 * The span table. Columns whose values are of one sort name their compression, so DuckDB does not
 * try every method on every row group it writes (0.6–1 µs of CPU a span less for the same bytes on
 * disk, `bench/README.md`): random ids FSST; kinds, services and addresses, of which a row group
 * holds few, a dictionary; integers bit-packing. Span names are left to DuckDB's choice like the
 * trace id, tags and annotations: a dictionary of names that are all different (a path with an id
 * in it) takes four times the bytes of FSST.
 */
export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS spans (seq BIGINT USING COMPRESSION bitpacking, trace_id VARCHAR,
     span_id VARCHAR USING COMPRESSION fsst, parent_id VARCHAR USING COMPRESSION fsst, name VARCHAR,
     kind VARCHAR USING COMPRESSION dictionary, service VARCHAR USING COMPRESSION dictionary,
     start BIGINT USING COMPRESSION bitpacking, duration BIGINT USING COMPRESSION bitpacking,
     local_ip VARCHAR USING COMPRESSION dictionary, local_port INTEGER,
     peer_ip VARCHAR USING COMPRESSION dictionary, peer_port INTEGER,
     remote_service VARCHAR USING COMPRESSION dictionary, error BOOLEAN USING COMPRESSION bitpacking,
     shared BOOLEAN, debug BOOLEAN, tags VARCHAR, annotations VARCHAR)`,
  'CREATE TABLE IF NOT EXISTS links (bucket BIGINT, parent VARCHAR, child VARCHAR, calls BIGINT, errors BIGINT)',
  'CREATE TABLE IF NOT EXISTS checkpoints (stream VARCHAR PRIMARY KEY, off BIGINT)',
];

export const SPAN_TYPES = [
  BIGINT,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  BIGINT,
  BIGINT,
  VARCHAR,
  INTEGER,
  VARCHAR,
  INTEGER,
  VARCHAR,
  BOOLEAN,
  BOOLEAN,
  BOOLEAN,
  VARCHAR,
  VARCHAR,
];
export const SPAN_COLUMNS =
  'seq, trace_id, span_id, parent_id, name, kind, service, start, duration, local_ip, local_port, peer_ip, peer_port, remote_service, error, shared, debug, tags, annotations';

/**
 * Inserts the rows of bus records (`encodeSpans`' rows, one a line, as UTF-8 bytes) numbered from
 * `$2`, parsed by DuckDB: one JSON parse per row (`json_extract_string` with all paths at once),
 * on DuckDB's thread instead of the event loop, and cheaper than building appender chunks in
 * JavaScript. Splitting lines instead of parsing one JSON array of the rows saves about 1 µs of
 * CPU a span (`bench/README.md`).
 * Annotations travel flat (`[ts, value, ...]`) and are stored as `[{"ts", "value"}]`.
 */
export const INSERT_RECORD = `INSERT INTO spans (seq, trace_id, span_id, parent_id, name, kind, service, start, duration,
    local_ip, peer_ip, peer_port, tags, annotations, error, shared, debug, remote_service, local_port)
  SELECT $2 + i, r[1], r[2], r[3], r[4], ['client', 'server', 'producer', 'consumer', 'local'][r[5]::INTEGER + 1],
    r[6], r[7]::BIGINT, r[8]::BIGINT, r[9], r[10], r[11]::INTEGER, r[12],
    CASE WHEN r[13] = '[]' THEN '[]' ELSE to_json(list_transform(range(0, json_array_length(r[13])::BIGINT, 2),
      k -> {ts: (r[13]->>k::INTEGER)::BIGINT, value: r[13]->>(k + 1)::INTEGER}))::VARCHAR END,
    (r[14]::INTEGER & 1) <> 0, (r[14]::INTEGER & 2) <> 0, (r[14]::INTEGER & 4) <> 0, r[15], r[16]::INTEGER
  FROM (SELECT json_extract_string(unnest(rows), [${Array.from({ length: 16 }, (_, i) => `'$[${i}]'`).join(', ')}]) AS r,
      generate_subscripts(rows, 1) - 1 AS i
    FROM (SELECT string_split(decode($1), chr(10)) AS rows))`;

/** Columns of `size` spans from `off`, numbered from `seq`, in `SPAN_TYPES` order, for the appender. */
export function spanColumns(
  spans: readonly TraceSpan[],
  off: number,
  size: number,
  seq: number,
): unknown[][] {
  const cols: unknown[][] = SPAN_TYPES.map(() => new Array(size));
  for (let i = 0; i < size; i++) {
    const s = spans[off + i]!;
    cols[0]![i] = BigInt(seq + i);
    cols[1]![i] = s.traceId;
    cols[2]![i] = s.spanId;
    cols[3]![i] = s.parentId ?? null;
    cols[4]![i] = s.name;
    cols[5]![i] = s.kind;
    cols[6]![i] = s.service;
    cols[7]![i] = BigInt(s.start);
    cols[8]![i] = BigInt(s.duration);
    cols[9]![i] = s.localIp ?? null;
    cols[10]![i] = s.localPort ?? null;
    cols[11]![i] = s.peerIp ?? null;
    cols[12]![i] = s.peerPort ?? null;
    cols[13]![i] = s.remoteService ?? null;
    cols[14]![i] = s.error;
    cols[15]![i] = s.shared === true;
    cols[16]![i] = s.debug === true;
    cols[17]![i] = JSON.stringify(s.tags);
    cols[18]![i] = JSON.stringify(s.annotations);
  }
  return cols;
}

export type Row = readonly unknown[];

function str(v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

export function toSpans(rows: readonly Row[]): TraceSpan[] {
  const out = new Array<TraceSpan>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const s: TraceSpan = {
      traceId: String(r[1]),
      spanId: String(r[2]),
      name: String(r[4]),
      kind: String(r[5]) as SpanKind,
      service: String(r[6]),
      start: Number(r[7]),
      duration: Number(r[8]),
      tags: JSON.parse(String(r[17])) as Tags,
      annotations: JSON.parse(String(r[18])) as TraceSpan['annotations'],
      error: r[14] === true,
    };
    const parentId = str(r[3]);
    if (parentId !== undefined) s.parentId = parentId;
    const localIp = str(r[9]);
    if (localIp !== undefined) s.localIp = localIp;
    if (r[10] !== null) s.localPort = Number(r[10]);
    const peerIp = str(r[11]);
    if (peerIp !== undefined) s.peerIp = peerIp;
    if (r[12] !== null) s.peerPort = Number(r[12]);
    const remote = str(r[13]);
    if (remote !== undefined) s.remoteService = remote;
    if (r[15] === true) s.shared = true;
    if (r[16] === true) s.debug = true;
    out[i] = s;
  }
  return out;
}
