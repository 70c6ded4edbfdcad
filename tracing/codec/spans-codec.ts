/**
 * How batches of spans travel on the Bus: a JSON array of rows
 * `[traceId, spanId, parentId, name, kind, service, start, duration, localIp, peerIp, peerPort,
 *   tags, annotations (flat [ts, value, ...]), flags (1 error, 2 shared, 4 debug), remoteService,
 *   localPort]`, with `null` for absent optional fields. Only validated spans are encoded.
 */
import { HubError } from '../../core/errors.ts';
import type { SpanKind, Tags } from '../../core/model.ts';
import type { TraceSpan } from '../model.ts';

const KINDS: readonly SpanKind[] = ['client', 'server', 'producer', 'consumer', 'local'];
const KIND_INDEX: Record<SpanKind, number> = { client: 0, server: 1, producer: 2, consumer: 3, local: 4 };

export function encodeSpans(spans: readonly TraceSpan[]): Uint8Array {
  const rows = new Array(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    const ann = new Array(s.annotations.length * 2);
    for (let j = 0; j < s.annotations.length; j++) {
      ann[2 * j] = s.annotations[j]!.ts;
      ann[2 * j + 1] = s.annotations[j]!.value;
    }
    rows[i] = [
      s.traceId,
      s.spanId,
      s.parentId ?? null,
      s.name,
      KIND_INDEX[s.kind],
      s.service,
      s.start,
      s.duration,
      s.localIp ?? null,
      s.peerIp ?? null,
      s.peerPort ?? null,
      s.tags,
      ann,
      (s.error ? 1 : 0) | (s.shared ? 2 : 0) | (s.debug ? 4 : 0),
      s.remoteService ?? null,
      s.localPort ?? null,
    ];
  }
  return Buffer.from(JSON.stringify(rows));
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const optStr = (v: unknown) => v === null || typeof v === 'string';
const optNum = (v: unknown) => v === null || typeof v === 'number';

function badRow(i: number): HubError {
  return new HubError('BAD_REQUEST', `Span ${i} of a spans record is not a valid row`, { where: `[${i}]` });
}

/**
 * Decodes a record written by `encodeSpans` (its bytes, or their UTF-8 text); a record that does
 * not parse throws a HubError.
 */
export function decodeSpans(record: Uint8Array | string): TraceSpan[] {
  let rows: unknown;
  try {
    rows = JSON.parse(
      typeof record === 'string'
        ? record
        : Buffer.from(record.buffer, record.byteOffset, record.byteLength).toString('utf8'),
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
      KINDS[kind] === undefined ||
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
      kind: KINDS[kind]!,
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
