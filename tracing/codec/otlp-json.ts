/**
 * OTLP/HTTP JSON traces (`ExportTraceServiceRequest`, protobuf JSON mapping): hex trace and span
 * ids, 64-bit integers as strings, enums as numbers or names.
 *
 * Mapping: resource `service.name` → service (default `unknown_service`), other resource
 * attributes and span attributes → tags (span wins), kind 1 internal → local, 2 server, 3 client,
 * 4 producer, 5 consumer; status code 2 (ERROR) → error with `tags.error` = the status message;
 * events → annotations; `net.peer.ip` | `network.peer.address` | `server.address` (an IP) →
 * peerIp; `net.peer.port` | `network.peer.port` | `server.port` → peerPort; `peer.service` →
 * remoteService; `net.host.ip` | `network.local.address` → localIp.
 */
import type { SpanKind } from '../../core/model.ts';
import {
  checkSpan,
  type DecodeResult,
  isZeroId,
  normalizeId,
  type SpanError,
  type TraceSpan,
} from '../model.ts';

const KINDS: Record<string, SpanKind> = {
  '0': 'local',
  '1': 'local',
  '2': 'server',
  '3': 'client',
  '4': 'producer',
  '5': 'consumer',
  SPAN_KIND_UNSPECIFIED: 'local',
  SPAN_KIND_INTERNAL: 'local',
  SPAN_KIND_SERVER: 'server',
  SPAN_KIND_CLIENT: 'client',
  SPAN_KIND_PRODUCER: 'producer',
  SPAN_KIND_CONSUMER: 'consumer',
};

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6 = /^[0-9a-fA-F:.]+$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isIp(s: string): boolean {
  return IPV4.test(s) || (s.includes(':') && IPV6.test(s));
}

type Bad = { bad: true; field: string; message: string };
const bad = (field: string, message: string): Bad => ({ bad: true, field, message });

/** An `AnyValue` as a tag string: scalars as text, arrays and maps as JSON. */
export function anyValueToString(v: unknown, field: string, depth = 0): string | Bad {
  if (!isObject(v)) return bad(field, `${field} must be an AnyValue object`);
  if (depth > 8) return bad(field, `${field} is nested too deep`);
  if ('stringValue' in v) {
    const s = v['stringValue'];
    return typeof s === 'string' ? s : bad(field, `${field}.stringValue must be a string`);
  }
  if ('intValue' in v) {
    const i = v['intValue'];
    if (typeof i === 'number' && Number.isInteger(i)) return String(i);
    if (typeof i === 'string' && /^-?\d{1,20}$/.test(i)) return String(BigInt(i));
    return bad(field, `${field}.intValue must be an integer (a string of digits)`);
  }
  if ('doubleValue' in v) {
    const d = v['doubleValue'];
    if (typeof d === 'number') return String(d);
    if (typeof d === 'string' && d.trim() !== '' && !Number.isNaN(Number(d))) return String(Number(d));
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return d;
    return bad(field, `${field}.doubleValue must be a number`);
  }
  if ('boolValue' in v) {
    const b = v['boolValue'];
    return typeof b === 'boolean' ? String(b) : bad(field, `${field}.boolValue must be true or false`);
  }
  if ('bytesValue' in v) {
    const b = v['bytesValue'];
    return typeof b === 'string' ? b : bad(field, `${field}.bytesValue must be a base64 string`);
  }
  if ('arrayValue' in v) {
    const a = v['arrayValue'];
    const values = isObject(a) ? (a['values'] ?? []) : undefined;
    if (!Array.isArray(values)) return bad(field, `${field}.arrayValue must be {values: [...]}`);
    const out: unknown[] = [];
    for (let i = 0; i < values.length; i++) {
      const s = anyValueToString(values[i], `${field}.arrayValue.values[${i}]`, depth + 1);
      if (typeof s !== 'string') return s;
      out.push(s);
    }
    return JSON.stringify(out);
  }
  if ('kvlistValue' in v) {
    const kv = v['kvlistValue'];
    const values = isObject(kv) ? (kv['values'] ?? []) : undefined;
    if (!Array.isArray(values)) return bad(field, `${field}.kvlistValue must be {values: [...]}`);
    const out: Record<string, string> = {};
    const r = attributesInto(values, out, `${field}.kvlistValue.values`, depth + 1);
    return r ?? JSON.stringify(out);
  }
  return ''; // An empty AnyValue: OTLP's "no value".
}

function attributesInto(
  list: unknown,
  into: Record<string, string>,
  field: string,
  depth = 0,
): Bad | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) return bad(field, `${field} must be an array of {key, value}`);
  for (let i = 0; i < list.length; i++) {
    const kv = list[i] as unknown;
    if (!isObject(kv) || typeof kv['key'] !== 'string' || kv['key'] === '' || kv['key'] === '__proto__')
      return bad(
        `${field}[${i}]`,
        `${field}[${i}] must be {key, value} with a non-empty key (not __proto__)`,
      );
    const s = kv['value'] === undefined ? '' : anyValueToString(kv['value'], `${field}[${i}].value`, depth);
    if (typeof s !== 'string') return s;
    into[kv['key']] = s;
  }
  return undefined;
}

/** Nanoseconds (a string or a number) to microseconds, exact for strings. */
function nanosToMicros(v: unknown): bigint | undefined {
  if (typeof v === 'string' && /^\d{1,25}$/.test(v)) return BigInt(v) / 1000n;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v) / 1000n;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.floor(v / 1000));
  return undefined;
}

function nanosRemainder(v: unknown): bigint {
  if (typeof v === 'string' && /^\d{1,25}$/.test(v)) return BigInt(v) % 1000n;
  return 0n;
}

function take(tags: Record<string, string>, ...keys: string[]): string | undefined {
  for (const k of keys) if (tags[k] !== undefined && tags[k] !== '') return tags[k];
  return undefined;
}

function decodeEvents(events: unknown): { ts: number; value: string }[] | Bad {
  if (events === undefined || events === null) return [];
  if (!Array.isArray(events)) return bad('events', 'events must be an array');
  const out: { ts: number; value: string }[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as unknown;
    if (!isObject(e)) return bad(`events[${i}]`, 'an event must be an object');
    const ts = nanosToMicros(e['timeUnixNano']);
    if (ts === undefined)
      return bad(`events[${i}].timeUnixNano`, 'timeUnixNano must be nanoseconds (a string of digits)');
    const name = typeof e['name'] === 'string' && e['name'] !== '' ? e['name'] : 'event';
    const attrs: Record<string, string> = {};
    const r = attributesInto(e['attributes'], attrs, `events[${i}].attributes`);
    if (r) return r;
    const value = Object.keys(attrs).length > 0 ? `${name} ${JSON.stringify(attrs)}` : name;
    out.push({ ts: Number(ts), value });
  }
  return out;
}

/** Decodes one OTLP span under a resource whose attributes are `resourceTags`. */
export function decodeOtlpSpan(
  input: unknown,
  service: string,
  resourceTags: Record<string, string>,
): { ok: true; span: TraceSpan } | { ok: false; field: string; message: string } {
  const fail = (b: Bad) => ({ ok: false as const, field: b.field, message: b.message });
  if (!isObject(input)) return fail(bad('', 'A span must be an object'));
  const traceId = normalizeId(input['traceId'], 32);
  if (traceId === undefined || (input['traceId'] as string).length !== 32 || isZeroId(traceId))
    return fail(bad('traceId', 'traceId must be 32 hex digits (16 bytes), not all zero'));
  const spanId = normalizeId(input['spanId'], 16);
  if (spanId === undefined || (input['spanId'] as string).length !== 16 || isZeroId(spanId))
    return fail(bad('spanId', 'spanId must be 16 hex digits (8 bytes), not all zero'));
  const rawParent = input['parentSpanId'];
  let parentId: string | undefined;
  if (rawParent !== undefined && rawParent !== null && rawParent !== '') {
    parentId = normalizeId(rawParent, 16);
    if (parentId === undefined || (rawParent as string).length !== 16)
      return fail(bad('parentSpanId', 'parentSpanId must be 16 hex digits (8 bytes) or empty'));
  }
  const kind = input['kind'] === undefined || input['kind'] === null ? 'local' : KINDS[String(input['kind'])];
  if (!kind) return fail(bad('kind', 'kind must be 0-5 or a SPAN_KIND_* name'));
  const name = input['name'] ?? '';
  if (typeof name !== 'string') return fail(bad('name', 'name must be a string'));
  const start = nanosToMicros(input['startTimeUnixNano']);
  if (start === undefined)
    return fail(bad('startTimeUnixNano', 'startTimeUnixNano must be nanoseconds (a string of digits)'));
  const end = nanosToMicros(input['endTimeUnixNano']);
  if (end === undefined)
    return fail(bad('endTimeUnixNano', 'endTimeUnixNano must be nanoseconds (a string of digits)'));
  if (end < start) return fail(bad('endTimeUnixNano', 'endTimeUnixNano is before startTimeUnixNano'));
  let duration = end - start;
  if (
    duration === 0n &&
    nanosRemainder(input['endTimeUnixNano']) > nanosRemainder(input['startTimeUnixNano'])
  )
    duration = 1n; // Zipkin rounds sub-microsecond durations up to 1.

  const tags: Record<string, string> = { ...resourceTags };
  const attrError = attributesInto(input['attributes'], tags, 'attributes');
  if (attrError) return fail(attrError);
  const annotations = decodeEvents(input['events']);
  if (!Array.isArray(annotations)) return fail(annotations);

  let error = false;
  const status = input['status'];
  if (status !== undefined && status !== null) {
    if (!isObject(status)) return fail(bad('status', 'status must be an object'));
    const code = status['code'];
    if (
      code !== undefined &&
      code !== null &&
      ![0, 1, 2, '0', '1', '2'].includes(code as number) &&
      !['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'].includes(code as string)
    )
      return fail(bad('status.code', 'status.code must be 0 (unset), 1 (ok) or 2 (error)'));
    error = code === 2 || code === '2' || code === 'STATUS_CODE_ERROR';
    if (error) tags['error'] = typeof status['message'] === 'string' ? status['message'] : '';
  }
  const peer = take(tags, 'net.peer.ip', 'network.peer.address', 'server.address', 'net.peer.name');
  const port = Number(take(tags, 'net.peer.port', 'network.peer.port', 'server.port'));
  const localIp = take(tags, 'net.host.ip', 'network.local.address', 'host.ip');
  const span: Record<string, unknown> = {
    traceId,
    spanId,
    parentId,
    name,
    kind,
    service,
    start: Number(start),
    duration: Number(duration),
    localIp: localIp !== undefined && isIp(localIp) ? localIp : undefined,
    peerIp: peer !== undefined && isIp(peer) ? peer : undefined,
    peerPort: Number.isInteger(port) && port > 0 && port <= 65_535 ? port : undefined,
    remoteService: take(tags, 'peer.service'),
    tags,
    annotations,
    error,
  };
  for (const k of Object.keys(span)) if (span[k] === undefined) delete span[k];
  const checked = checkSpan(span);
  if (!checked.ok) return { ok: false, field: checked.error.field, message: checked.error.message };
  return { ok: true, span: checked.value };
}

/**
 * Decodes an `ExportTraceServiceRequest` (already JSON-parsed). Spans are numbered in document
 * order across resources and scopes; a bad resource or scope refuses each of its spans.
 */
export function decodeOtlpTraces(body: unknown): DecodeResult {
  const spans: TraceSpan[] = [];
  const indexes: number[] = [];
  const errors: SpanError[] = [];
  if (!isObject(body))
    return {
      spans,
      indexes,
      errors: [{ index: -1, field: '', message: 'The body must be an ExportTraceServiceRequest object' }],
    };
  const resourceSpans = body['resourceSpans'] ?? [];
  if (!Array.isArray(resourceSpans))
    return {
      spans,
      indexes,
      errors: [{ index: -1, field: 'resourceSpans', message: 'resourceSpans must be an array' }],
    };
  let index = 0;
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs = resourceSpans[r] as unknown;
    const rPath = `resourceSpans[${r}]`;
    const resourceTags: Record<string, string> = {};
    let resourceError: Bad | undefined;
    if (!isObject(rs)) resourceError = bad(rPath, `${rPath} must be an object`);
    else if (rs['resource'] !== undefined && rs['resource'] !== null) {
      const res = rs['resource'];
      resourceError = isObject(res)
        ? attributesInto(res['attributes'], resourceTags, `${rPath}.resource.attributes`)
        : bad(`${rPath}.resource`, 'resource must be an object');
    }
    const service = resourceTags['service.name'] || 'unknown_service';
    delete resourceTags['service.name'];
    const scopes = isObject(rs) ? (rs['scopeSpans'] ?? rs['instrumentationLibrarySpans'] ?? []) : [];
    if (!Array.isArray(scopes)) {
      errors.push({ index, field: 'scopeSpans', message: 'scopeSpans must be an array', path: rPath });
      continue;
    }
    for (let s = 0; s < scopes.length; s++) {
      const ss = scopes[s] as unknown;
      const sPath = `${rPath}.scopeSpans[${s}]`;
      const list = isObject(ss) ? (ss['spans'] ?? []) : undefined;
      if (!Array.isArray(list)) {
        errors.push({ index, field: 'spans', message: `${sPath}.spans must be an array`, path: sPath });
        continue;
      }
      const scopeTags = { ...resourceTags };
      const scope = isObject(ss) ? ss['scope'] : undefined;
      if (isObject(scope) && typeof scope['name'] === 'string' && scope['name'] !== '')
        scopeTags['otel.scope.name'] = scope['name'];
      for (let i = 0; i < list.length; i++, index++) {
        const path = `${sPath}.spans[${i}]`;
        if (resourceError) {
          errors.push({ index, field: resourceError.field, message: resourceError.message, path });
          continue;
        }
        const d = decodeOtlpSpan(list[i], service, scopeTags);
        if (d.ok) {
          spans.push(d.span);
          indexes.push(index);
        } else errors.push({ index, field: d.field, message: d.message, path });
      }
    }
  }
  return { spans, indexes, errors };
}

/** OTLP's answer: `partialSuccess` only when something was refused (int64 as a string, per the JSON mapping). */
export function otlpResponse(errors: readonly SpanError[]): object {
  if (errors.length === 0) return { partialSuccess: {} };
  const first = errors
    .slice(0, 5)
    .map((e) => `span ${e.index}${e.field ? ` (${e.field})` : ''}: ${e.message}`);
  const more = errors.length > 5 ? `; and ${errors.length - 5} more` : '';
  return {
    partialSuccess: { rejectedSpans: String(errors.length), errorMessage: first.join('; ') + more },
  };
}
