/**
 * Zipkin v2 JSON (`zipkin2-api.yaml`, `ListOfSpans`), both ways: `decodeZipkinSpans` for
 * `POST /api/v2/spans`, `toZipkinSpan` for the query API.
 *
 * Mapping: `id` → spanId, `localEndpoint.serviceName` → service, `localEndpoint.ipv4|ipv6` →
 * localIp, `localEndpoint.port` → localPort, `remoteEndpoint.ipv4|ipv6` → peerIp, `.port` →
 * peerPort, `.serviceName` → remoteService, kind absent → `local`, `tags.error` present → error.
 * 64-bit trace ids are left-padded to 128 bits, short span ids to 64; ids are lower-cased.
 * Unlike Zipkin's server, span and service names keep their case.
 */
import type { SpanKind } from '../../core/model.ts';
import {
  checkBuiltSpan,
  type DecodeResult,
  isTimestamp,
  isZeroId,
  normalizeId,
  type SpanError,
  type TraceSpan,
} from '../model.ts';

export type ZipkinEndpoint = { serviceName?: string; ipv4?: string; ipv6?: string; port?: number };
export type ZipkinAnnotation = { timestamp: number; value: string };
export type ZipkinKind = 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';

/** A span as `zipkin2-api.yaml` defines it. */
export type ZipkinSpan = {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: ZipkinKind;
  timestamp?: number;
  duration?: number;
  debug?: boolean;
  shared?: boolean;
  localEndpoint?: ZipkinEndpoint;
  remoteEndpoint?: ZipkinEndpoint;
  annotations?: ZipkinAnnotation[];
  tags?: Record<string, string>;
};

const KIND_IN: Record<string, SpanKind> = {
  CLIENT: 'client',
  SERVER: 'server',
  PRODUCER: 'producer',
  CONSUMER: 'consumer',
};
const KIND_OUT: Record<SpanKind, ZipkinKind | undefined> = {
  client: 'CLIENT',
  server: 'SERVER',
  producer: 'PRODUCER',
  consumer: 'CONSUMER',
  local: undefined,
};

type Fail = { field: string; message: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const ENDPOINT_TEXT = ['serviceName', 'ipv4', 'ipv6'] as const;

function endpoint(v: unknown, field: string): { ok: true; value: ZipkinEndpoint | undefined } | Fail {
  if (v === undefined || v === null) return { ok: true, value: undefined };
  if (!isObject(v)) return { field, message: `${field} must be an object` };
  const out: ZipkinEndpoint = {};
  for (let i = 0; i < ENDPOINT_TEXT.length; i++) {
    const k = ENDPOINT_TEXT[i]!;
    const x = v[k];
    if (x === undefined || x === null || x === '') continue;
    if (typeof x !== 'string') return { field: `${field}.${k}`, message: `${field}.${k} must be a string` };
    out[k] = x;
  }
  const port = v['port'];
  if (port !== undefined && port !== null && port !== 0) {
    if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65_535)
      return { field: `${field}.port`, message: `${field}.port must be an integer 0-65535` };
    out.port = port as number;
  }
  return { ok: true, value: out };
}

function tagValue(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

// At module level, not per span: tsx wraps every closure it creates in a naming call.
function bad(field: string, message: string): { ok: false } & Fail {
  return { ok: false, field, message };
}

/** Checks `timestamp` or `duration` of a span: absent, or integer µs. */
function badTime(input: Record<string, unknown>, f: 'timestamp' | 'duration'): boolean {
  const v = input[f];
  return v !== undefined && v !== null && !isTimestamp(v);
}

/** Checks `debug` or `shared`: absent, or a boolean. */
function badFlag(input: Record<string, unknown>, f: 'debug' | 'shared'): boolean {
  const v = input[f];
  return v !== undefined && v !== null && typeof v !== 'boolean';
}

/** Decodes one Zipkin v2 span; the error names the field as Zipkin spells it. */
export function decodeZipkinSpan(input: unknown): { ok: true; span: TraceSpan } | ({ ok: false } & Fail) {
  if (!isObject(input)) return bad('', 'A span must be an object');
  const traceId = normalizeId(input['traceId'], 32);
  if (traceId === undefined) return bad('traceId', 'traceId must be 16 or 32 hex digits');
  const id = normalizeId(input['id'], 16);
  if (id === undefined) return bad('id', 'id must be 16 hex digits');
  let parentId: string | undefined;
  if (input['parentId'] !== undefined && input['parentId'] !== null) {
    parentId = normalizeId(input['parentId'], 16);
    if (parentId === undefined) return bad('parentId', 'parentId must be 16 hex digits');
  }
  const rawKind = input['kind'];
  let kind: SpanKind = 'local';
  if (rawKind !== undefined && rawKind !== null) {
    const k = typeof rawKind === 'string' ? KIND_IN[rawKind.toUpperCase()] : undefined;
    if (!k) return bad('kind', 'kind must be CLIENT, SERVER, PRODUCER or CONSUMER');
    kind = k;
  }
  const name = input['name'] ?? '';
  if (typeof name !== 'string') return bad('name', 'name must be a string');
  if (badTime(input, 'timestamp'))
    return bad('timestamp', 'timestamp must be a non-negative integer of microseconds');
  if (badTime(input, 'duration'))
    return bad('duration', 'duration must be a non-negative integer of microseconds');
  const local = endpoint(input['localEndpoint'], 'localEndpoint');
  if (!('ok' in local)) return bad(local.field, local.message);
  const remote = endpoint(input['remoteEndpoint'], 'remoteEndpoint');
  if (!('ok' in remote)) return bad(remote.field, remote.message);
  const service = local.value?.serviceName;
  if (service === undefined) return bad('localEndpoint.serviceName', 'localEndpoint.serviceName is required');

  const tags: Record<string, string> = {};
  const rawTags = input['tags'];
  if (rawTags !== undefined && rawTags !== null) {
    if (!isObject(rawTags)) return bad('tags', 'tags must be an object of strings');
    for (const k in rawTags) {
      if (k === '__proto__') return bad('tags', 'a tag may not be named __proto__');
      const s = tagValue(rawTags[k]);
      if (s === undefined) return bad(`tags.${k}`, `tag ${k} must be a string`);
      tags[k] = s;
    }
  }
  const annotations: { ts: number; value: string }[] = [];
  const rawAnn = input['annotations'];
  if (rawAnn !== undefined && rawAnn !== null) {
    if (!Array.isArray(rawAnn)) return bad('annotations', 'annotations must be an array');
    for (let i = 0; i < rawAnn.length; i++) {
      const a = rawAnn[i] as unknown;
      if (!isObject(a)) return bad(`annotations[${i}]`, 'an annotation must be {timestamp, value}');
      if (!isTimestamp(a['timestamp']))
        return bad(`annotations[${i}].timestamp`, 'timestamp must be epoch microseconds');
      if (typeof a['value'] !== 'string' || a['value'] === '')
        return bad(`annotations[${i}].value`, 'value must be a non-empty string');
      annotations.push({ ts: a['timestamp'] as number, value: a['value'] });
    }
  }
  if (badFlag(input, 'debug')) return bad('debug', 'debug must be true or false');
  if (badFlag(input, 'shared')) return bad('shared', 'shared must be true or false');
  const span: TraceSpan = {
    traceId,
    spanId: id,
    name,
    kind,
    service,
    start: (input['timestamp'] as number | null | undefined) ?? 0,
    duration: (input['duration'] as number | null | undefined) ?? 0,
    tags,
    annotations,
    error: 'error' in tags,
  };
  if (parentId !== undefined && parentId !== id && !isZeroId(parentId)) span.parentId = parentId;
  const l = local.value;
  const r = remote.value;
  const localIp = l?.ipv4 ?? l?.ipv6;
  if (localIp !== undefined) span.localIp = localIp;
  if (l?.port !== undefined) span.localPort = l.port;
  const peerIp = r?.ipv4 ?? r?.ipv6;
  if (peerIp !== undefined) span.peerIp = peerIp;
  if (r?.port !== undefined) span.peerPort = r.port;
  if (r?.serviceName !== undefined) span.remoteService = r.serviceName;
  if (input['shared'] === true) span.shared = true;
  if (input['debug'] === true) span.debug = true;
  const wrong = checkBuiltSpan(span);
  if (wrong) return bad(zipkinField(wrong.field), wrong.message);
  return { ok: true, span };
}

/** Our field name → Zipkin's, for error messages. */
function zipkinField(field: string): string {
  const map: Record<string, string> = {
    spanId: 'id',
    service: 'localEndpoint.serviceName',
    start: 'timestamp',
    localIp: 'localEndpoint.ipv4',
    localPort: 'localEndpoint.port',
    peerIp: 'remoteEndpoint.ipv4',
    peerPort: 'remoteEndpoint.port',
    remoteService: 'remoteEndpoint.serviceName',
  };
  return map[field] ?? field.replace(/^annotations\[(\d+)\]\.ts$/, 'annotations[$1].timestamp');
}

/** Decodes a `ListOfSpans` body (already JSON-parsed). A body that is not an array is one error at index -1. */
export function decodeZipkinSpans(body: unknown): DecodeResult {
  if (!Array.isArray(body))
    return {
      spans: [],
      indexes: [],
      errors: [{ index: -1, field: '', message: 'The body must be a JSON array of spans' }],
    };
  const spans: TraceSpan[] = [];
  const indexes: number[] = [];
  const errors: SpanError[] = [];
  for (let i = 0; i < body.length; i++) {
    const r = decodeZipkinSpan(body[i]);
    if (r.ok) {
      spans.push(r.span);
      indexes.push(i);
    } else errors.push({ index: i, field: r.field, message: r.message });
  }
  return { spans, indexes, errors };
}

function ipEndpoint(
  ip: string | undefined,
  port: number | undefined,
  service?: string,
): ZipkinEndpoint | undefined {
  if (ip === undefined && port === undefined && service === undefined) return undefined;
  const e: ZipkinEndpoint = {};
  if (service !== undefined) e.serviceName = service;
  if (ip !== undefined) {
    if (ip.includes(':')) e.ipv6 = ip;
    else e.ipv4 = ip;
  }
  if (port !== undefined) e.port = port;
  return e;
}

/** One span in Zipkin v2 JSON, with the field names and casing of `zipkin2-api.yaml`. */
export function toZipkinSpan(span: TraceSpan): ZipkinSpan {
  const out: ZipkinSpan = { traceId: span.traceId, id: span.spanId };
  if (span.parentId !== undefined) out.parentId = span.parentId;
  const kind = KIND_OUT[span.kind];
  if (kind) out.kind = kind;
  out.name = span.name;
  if (span.start > 0) out.timestamp = span.start;
  if (span.duration > 0) out.duration = span.duration;
  out.localEndpoint = ipEndpoint(span.localIp, span.localPort, span.service)!;
  const remote = ipEndpoint(span.peerIp, span.peerPort, span.remoteService);
  if (remote) out.remoteEndpoint = remote;
  if (span.annotations.length > 0)
    out.annotations = span.annotations.map((a) => ({ timestamp: a.ts, value: a.value }));
  const tags = span.error && !('error' in span.tags) ? { ...span.tags, error: 'true' } : span.tags;
  if (Object.keys(tags).length > 0) out.tags = tags;
  if (span.debug) out.debug = true;
  if (span.shared) out.shared = true;
  return out;
}
