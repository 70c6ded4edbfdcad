/**
 * The tracing read and write model: core's `Span` plus the few Zipkin facts it has no field for,
 * and the one validation every decoder ends with. Validators never throw: a bad span comes back as
 * an error naming its field, so the good spans of a batch are kept.
 */
import type { FieldError, Span, SpanKind, Tags, Validated } from '../core/model.ts';

/**
 * A span as tracing keeps it. The optional fields carry what Zipkin v2 has and core's `Span` has
 * not: the remote service name (`remoteEndpoint.serviceName`), the local port, and the `shared`
 * and `debug` flags. They are absent, never `undefined`-valued, when unknown.
 */
export type TraceSpan = Span & {
  /** The service on the other side of the call, when the caller knows it. */
  remoteService?: string;
  localPort?: number;
  /** A server span that reuses its client's span id (B3 / Zipkin). */
  shared?: boolean;
  debug?: boolean;
};

/** One refused span of a batch: where it was and what is wrong with it. */
export type SpanError = {
  /** Position of the span in the batch (for OTLP: counted across all resource and scope spans). */
  index: number;
  /** The bad field, as a path inside that span (`traceId`, `tags.http.method`, `annotations[2].timestamp`). */
  field: string;
  message: string;
  /** Where the span sits in the request, when the request is nested (OTLP). */
  path?: string;
};

/** What a decoder returns: the good spans (with their positions in the batch) and one error per refused span. */
export type DecodeResult = { spans: TraceSpan[]; indexes: number[]; errors: SpanError[] };

export const SPAN_KINDS: readonly SpanKind[] = ['client', 'server', 'producer', 'consumer', 'local'];
/** A kind's position in `SPAN_KINDS`: its number in bus records. */
export const SPAN_KIND_INDEX: Readonly<Record<SpanKind, number>> = {
  client: 0,
  server: 1,
  producer: 2,
  consumer: 3,
  local: 4,
};

export const SPAN_LIMITS = {
  maxNameLength: 1024,
  maxServiceLength: 256,
  maxTags: 128,
  maxTagKeyLength: 256,
  maxTagValueLength: 65_536,
  maxAnnotations: 1024,
  maxAnnotationLength: 4096,
  /** Epoch µs as far as a double holds them exactly (year 2255): beyond is a unit mistake (ns sent as µs). */
  maxTimestampUs: Number.MAX_SAFE_INTEGER,
} as const;

const HEX = /^[0-9a-f]+$/;

/**
 * Lower-cases a hex id and left-pads it with zeros to `width` digits (Zipkin's 64-bit trace ids
 * become 128-bit ones). Returns undefined when it is not 1…width hex digits.
 */
export function normalizeId(value: unknown, width: 16 | 32): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > width) return undefined;
  const lower = value.toLowerCase();
  if (!HEX.test(lower)) return undefined;
  return lower.length === width ? lower : lower.padStart(width, '0');
}

/** An id of all zeros means "none" in OTLP and B3. */
export function isZeroId(id: string): boolean {
  for (let i = 0; i < id.length; i++) if (id.charCodeAt(i) !== 48) return false;
  return true;
}

const fail = (field: string, message: string): { ok: false; error: FieldError } => ({
  ok: false,
  error: { field, message },
});

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkTags(input: unknown): Validated<Tags> {
  if (input === undefined) return { ok: true, value: {} };
  if (!isPlainObject(input)) return fail('tags', 'tags must be an object of strings');
  const keys = Object.keys(input);
  if (keys.length > SPAN_LIMITS.maxTags)
    return fail('tags', `Too many tags: ${keys.length}, the limit is ${SPAN_LIMITS.maxTags}`);
  const tags: Tags = {};
  for (const k of keys) {
    const v = input[k];
    if (k.length === 0 || k.length > SPAN_LIMITS.maxTagKeyLength || k === '__proto__')
      return fail(
        'tags',
        `A tag key must have 1 to ${SPAN_LIMITS.maxTagKeyLength} characters, and not be __proto__`,
      );
    if (typeof v !== 'string') return fail(`tags.${k}`, `tag ${k} must be a string`);
    if (v.length > SPAN_LIMITS.maxTagValueLength)
      return fail(`tags.${k}`, `tag ${k} is longer than ${SPAN_LIMITS.maxTagValueLength} characters`);
    tags[k] = v;
  }
  return { ok: true, value: tags };
}

function checkAnnotations(input: unknown): Validated<Span['annotations']> {
  if (input === undefined) return { ok: true, value: [] };
  if (!Array.isArray(input)) return fail('annotations', 'annotations must be an array of {ts, value}');
  if (input.length > SPAN_LIMITS.maxAnnotations)
    return fail(
      'annotations',
      `Too many annotations: ${input.length}, the limit is ${SPAN_LIMITS.maxAnnotations}`,
    );
  const out: Span['annotations'] = [];
  for (let i = 0; i < input.length; i++) {
    const a = input[i] as unknown;
    if (!isPlainObject(a)) return fail(`annotations[${i}]`, 'an annotation must be an object {ts, value}');
    if (!isTimestamp(a['ts'])) return fail(`annotations[${i}].ts`, 'ts must be epoch microseconds');
    const value = a['value'];
    if (typeof value !== 'string' || value.length === 0 || value.length > SPAN_LIMITS.maxAnnotationLength)
      return fail(
        `annotations[${i}].value`,
        `value must be a string of 1 to ${SPAN_LIMITS.maxAnnotationLength} characters`,
      );
    out.push({ ts: a['ts'] as number, value });
  }
  return { ok: true, value: out };
}

export function isTimestamp(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= SPAN_LIMITS.maxTimestampUs;
}

function isPort(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0 && (v as number) <= 65_535;
}

function optionalString(s: Record<string, unknown>, field: string, max: number): FieldError | undefined {
  const v = s[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    return { field, message: `${field} must be a string of 1 to ${max} characters` };
  return undefined;
}

/**
 * Checks a span in the model's own field names (ids already lower-case hex: traceId 32 digits,
 * spanId and parentId 16) and returns a clean copy holding only the known fields.
 */
export function checkSpan(input: unknown): Validated<TraceSpan> {
  if (!isPlainObject(input)) return fail('', 'A span must be an object');
  const s = input;
  const traceId = s['traceId'];
  if (typeof traceId !== 'string' || traceId.length !== 32 || !HEX.test(traceId))
    return fail('traceId', 'traceId must be 32 lower-case hex digits');
  const spanId = s['spanId'];
  if (typeof spanId !== 'string' || spanId.length !== 16 || !HEX.test(spanId))
    return fail('spanId', 'spanId must be 16 lower-case hex digits');
  const parentId = s['parentId'];
  if (
    parentId !== undefined &&
    (typeof parentId !== 'string' || parentId.length !== 16 || !HEX.test(parentId))
  )
    return fail('parentId', 'parentId must be 16 lower-case hex digits');
  const name = s['name'];
  if (typeof name !== 'string' || name.length > SPAN_LIMITS.maxNameLength)
    return fail('name', `name must be a string of at most ${SPAN_LIMITS.maxNameLength} characters`);
  if (!SPAN_KINDS.includes(s['kind'] as SpanKind))
    return fail('kind', `kind must be one of ${SPAN_KINDS.join(', ')}`);
  const service = s['service'];
  if (typeof service !== 'string' || service.length === 0 || service.length > SPAN_LIMITS.maxServiceLength)
    return fail('service', `service must be a string of 1 to ${SPAN_LIMITS.maxServiceLength} characters`);
  if (!isTimestamp(s['start'])) return fail('start', 'start must be epoch microseconds');
  if (!isTimestamp(s['duration'])) return fail('duration', 'duration must be non-negative microseconds');
  const bad =
    optionalString(s, 'localIp', 64) ??
    optionalString(s, 'peerIp', 64) ??
    optionalString(s, 'remoteService', SPAN_LIMITS.maxServiceLength);
  if (bad) return { ok: false, error: bad };
  for (const port of ['peerPort', 'localPort'])
    if (s[port] !== undefined && !isPort(s[port])) return fail(port, `${port} must be an integer 1-65535`);
  for (const flag of ['error', 'shared', 'debug'])
    if (s[flag] !== undefined && typeof s[flag] !== 'boolean')
      return fail(flag, `${flag} must be true or false`);
  const tags = checkTags(s['tags']);
  if (!tags.ok) return tags;
  const annotations = checkAnnotations(s['annotations']);
  if (!annotations.ok) return annotations;
  const span: TraceSpan = {
    traceId,
    spanId,
    name,
    kind: s['kind'] as SpanKind,
    service,
    start: s['start'] as number,
    duration: s['duration'] as number,
    tags: tags.value,
    annotations: annotations.value,
    error: s['error'] === true,
  };
  if (parentId !== undefined && parentId !== spanId && !isZeroId(parentId as string))
    span.parentId = parentId as string;
  if (s['localIp'] !== undefined) span.localIp = s['localIp'] as string;
  if (s['peerIp'] !== undefined) span.peerIp = s['peerIp'] as string;
  if (s['peerPort'] !== undefined) span.peerPort = s['peerPort'] as number;
  if (s['remoteService'] !== undefined) span.remoteService = s['remoteService'] as string;
  if (s['localPort'] !== undefined) span.localPort = s['localPort'] as number;
  if (s['shared'] === true) span.shared = true;
  if (s['debug'] === true) span.debug = true;
  return { ok: true, value: span };
}

/**
 * Checks the limits of a span a decoder built itself (types already right, tags a fresh object it
 * owns): lengths and counts, ids, times, ports. Cheaper than `checkSpan`, which copies.
 */
export function checkBuiltSpan(s: TraceSpan): FieldError | undefined {
  if (s.traceId.length !== 32 || !HEX.test(s.traceId))
    return { field: 'traceId', message: 'traceId must be 32 lower-case hex digits' };
  if (s.spanId.length !== 16 || !HEX.test(s.spanId))
    return { field: 'spanId', message: 'spanId must be 16 lower-case hex digits' };
  if (s.name.length > SPAN_LIMITS.maxNameLength)
    return { field: 'name', message: `name is longer than ${SPAN_LIMITS.maxNameLength} characters` };
  if (s.service.length === 0 || s.service.length > SPAN_LIMITS.maxServiceLength)
    return {
      field: 'service',
      message: `service must be a string of 1 to ${SPAN_LIMITS.maxServiceLength} characters`,
    };
  if (!isTimestamp(s.start)) return { field: 'start', message: 'start must be epoch microseconds' };
  if (!isTimestamp(s.duration))
    return { field: 'duration', message: 'duration must be non-negative microseconds' };
  for (const f of ['localIp', 'peerIp'] as const) {
    const v = s[f];
    if (v !== undefined && v.length > 64) return { field: f, message: `${f} is longer than 64 characters` };
  }
  if (s.remoteService !== undefined && s.remoteService.length > SPAN_LIMITS.maxServiceLength)
    return {
      field: 'remoteService',
      message: `remoteService is longer than ${SPAN_LIMITS.maxServiceLength} characters`,
    };
  let n = 0;
  for (const k in s.tags) {
    n++;
    if (k.length === 0 || k.length > SPAN_LIMITS.maxTagKeyLength)
      return { field: 'tags', message: `A tag key must have 1 to ${SPAN_LIMITS.maxTagKeyLength} characters` };
    if (s.tags[k]!.length > SPAN_LIMITS.maxTagValueLength)
      return {
        field: `tags.${k}`,
        message: `tag ${k} is longer than ${SPAN_LIMITS.maxTagValueLength} characters`,
      };
  }
  if (n > SPAN_LIMITS.maxTags)
    return { field: 'tags', message: `Too many tags: ${n}, the limit is ${SPAN_LIMITS.maxTags}` };
  if (s.annotations.length > SPAN_LIMITS.maxAnnotations)
    return {
      field: 'annotations',
      message: `Too many annotations: ${s.annotations.length}, the limit is ${SPAN_LIMITS.maxAnnotations}`,
    };
  for (let i = 0; i < s.annotations.length; i++)
    if (s.annotations[i]!.value.length > SPAN_LIMITS.maxAnnotationLength)
      return {
        field: `annotations[${i}].value`,
        message: `value is longer than ${SPAN_LIMITS.maxAnnotationLength} characters`,
      };
  return undefined;
}

/** Identity of a span inside its trace: the client and server halves of a shared span differ by kind. */
export function spanKey(s: Pick<Span, 'spanId' | 'kind'>): string {
  return s.spanId + ':' + s.kind;
}
