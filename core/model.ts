/**
 * The hub's data model and its validation. Validators never throw: they return the value or
 * an error naming the bad field, so a batch keeps its good items.
 */

export type Tags = Record<string, string>;

/** One sample of one series. The series key is the metric plus the sorted tags. */
export type MetricPoint = {
  metric: string;
  tags: Tags;
  /** Epoch milliseconds. */
  ts: number;
  value: number;
};

export type SpanKind = 'client' | 'server' | 'producer' | 'consumer' | 'local';

/** A Dapper-style span. */
export type Span = {
  traceId: string;
  spanId: string;
  parentId?: string;
  name: string;
  kind: SpanKind;
  service: string;
  /** Epoch microseconds. */
  start: number;
  /** Microseconds. */
  duration: number;
  localIp?: string;
  peerIp?: string;
  peerPort?: number;
  tags: Tags;
  annotations: { ts: number; value: string }[];
  error: boolean;
};

export type LogRecord = {
  /** Epoch milliseconds. */
  ts: number;
  source: string;
  fields: Record<string, unknown>;
  /** The line as it came, kept when parsing failed. */
  raw?: string;
};

export type AppType = 'WEB' | 'Cron' | 'Task' | 'Worker' | 'Service';

/** An app of the platform: `/project/app`. */
export type AppRef = { project: string; app: string; type: AppType };

export type AlertState = 'inactive' | 'pending' | 'firing' | 'resolved' | 'nodata';

export type AlertEvent = {
  rule: string;
  labels: Tags;
  annotations: Record<string, string>;
  state: AlertState;
  value: number | null;
  /** Epoch milliseconds. */
  ts: number;
};

export type ScalingDecision = {
  app: AppRef;
  from: number;
  to: number;
  reason: string;
  /** Epoch milliseconds. */
  ts: number;
};

export const STANDARD_TAGS = ['dc', 'cluster', 'host', 'project', 'app', 'task', 'container'] as const;

export type FieldError = { field: string; message: string };
export type Validated<T> = { ok: true; value: T } | { ok: false; error: FieldError };

/** Characters OpenTSDB allows in metric names, tag keys and tag values (plus any Unicode letter). */
const NAME_RE = /^[\p{L}0-9\-_./]+$/u;

export const LIMITS = {
  maxTags: 16,
  maxNameLength: 256,
  /** 1970 … 2286, in ms: anything else is a unit mistake. */
  minTs: 0,
  maxTs: 9_999_999_999_999,
} as const;

export function seriesKey(metric: string, tags: Tags): string {
  const keys = Object.keys(tags).sort();
  let key = metric + '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    key += (i ? ',' : '') + k + '=' + tags[k];
  }
  return key + '}';
}

function checkName(value: unknown, field: string): FieldError | undefined {
  if (typeof value !== 'string' || value.length === 0)
    return { field, message: `${field} must be a non-empty string` };
  if (value.length > LIMITS.maxNameLength)
    return { field, message: `${field} is longer than ${LIMITS.maxNameLength} characters` };
  if (!NAME_RE.test(value))
    return { field, message: `${field} "${value}" has a character outside a-z A-Z 0-9 - _ . / and letters` };
  return undefined;
}

export function validateTags(
  tags: unknown,
  field = 'tags',
  maxTags: number = LIMITS.maxTags,
): FieldError | undefined {
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags))
    return { field, message: `${field} must be an object of tag names to values` };
  const entries = Object.entries(tags);
  if (entries.length === 0) return { field, message: 'Need at least one tag' };
  if (entries.length > maxTags)
    return { field, message: `Too many tags: ${entries.length}, the limit is ${maxTags}` };
  for (const [k, v] of entries) {
    const bad = checkName(k, `${field} key`) ?? checkName(v, `${field}.${k}`);
    if (bad) return bad;
  }
  return undefined;
}

/** Validates an already-decoded point (timestamps in ms). */
export function validateMetricPoint(
  input: unknown,
  maxTags: number = LIMITS.maxTags,
): Validated<MetricPoint> {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return { ok: false, error: { field: '', message: 'A point must be an object' } };
  const p = input as Record<string, unknown>;
  const bad = checkName(p['metric'], 'metric');
  if (bad) return { ok: false, error: bad };
  const ts = p['ts'];
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < LIMITS.minTs || ts > LIMITS.maxTs)
    return { ok: false, error: { field: 'timestamp', message: `Invalid timestamp: ${String(ts)}` } };
  const value = p['value'];
  if (typeof value !== 'number' || Number.isNaN(value))
    return { ok: false, error: { field: 'value', message: `Invalid value: ${String(value)}` } };
  if (!Number.isFinite(value))
    return { ok: false, error: { field: 'value', message: 'Value must be finite' } };
  const tagError = validateTags(p['tags'], 'tags', maxTags);
  if (tagError) return { ok: false, error: tagError };
  return {
    ok: true,
    value: { metric: p['metric'] as string, tags: p['tags'] as Tags, ts, value },
  };
}

const HEX_RE = /^[0-9a-f]+$/;
const KINDS: readonly SpanKind[] = ['client', 'server', 'producer', 'consumer', 'local'];

export function validateSpan(input: unknown): Validated<Span> {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return { ok: false, error: { field: '', message: 'A span must be an object' } };
  const s = input as Record<string, unknown>;
  const id = (field: string, max: number, required: boolean): FieldError | undefined => {
    const v = s[field];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || !HEX_RE.test(v) || v.length > max || v.length === 0)
      return { field, message: `${field} must be lower-case hex of at most ${max} digits` };
    return undefined;
  };
  const bad =
    id('traceId', 32, true) ??
    id('spanId', 16, true) ??
    id('parentId', 16, false) ??
    (typeof s['name'] !== 'string' ? { field: 'name', message: 'name must be a string' } : undefined) ??
    (!KINDS.includes(s['kind'] as SpanKind)
      ? { field: 'kind', message: `kind must be one of ${KINDS.join(', ')}` }
      : undefined) ??
    (typeof s['service'] !== 'string' || s['service'] === ''
      ? { field: 'service', message: 'service must be a non-empty string' }
      : undefined) ??
    (!Number.isSafeInteger(s['start']) || (s['start'] as number) < 0
      ? { field: 'start', message: 'start must be epoch microseconds' }
      : undefined) ??
    (!Number.isSafeInteger(s['duration']) || (s['duration'] as number) < 0
      ? { field: 'duration', message: 'duration must be non-negative microseconds' }
      : undefined);
  if (bad) return { ok: false, error: bad };
  return {
    ok: true,
    value: {
      ...(s as unknown as Span),
      tags: (s['tags'] as Tags | undefined) ?? {},
      annotations: (s['annotations'] as Span['annotations'] | undefined) ?? [],
      error: s['error'] === true,
    },
  };
}

export function validateLogRecord(input: unknown): Validated<LogRecord> {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return { ok: false, error: { field: '', message: 'A log record must be an object' } };
  const r = input as Record<string, unknown>;
  if (typeof r['ts'] !== 'number' || !Number.isFinite(r['ts']))
    return { ok: false, error: { field: 'ts', message: 'ts must be epoch milliseconds' } };
  if (typeof r['source'] !== 'string' || r['source'] === '')
    return { ok: false, error: { field: 'source', message: 'source must be a non-empty string' } };
  if (r['fields'] === null || typeof r['fields'] !== 'object')
    return { ok: false, error: { field: 'fields', message: 'fields must be an object' } };
  return { ok: true, value: r as unknown as LogRecord };
}

export function parseAppId(id: string, type: AppType = 'WEB'): Validated<AppRef> {
  const m = /^\/([a-z0-9][a-z0-9-]*)\/([a-z0-9][a-z0-9-]*)$/.exec(id);
  if (!m)
    return { ok: false, error: { field: 'id', message: `App id "${id}" is not of the form /project/app` } };
  return { ok: true, value: { project: m[1]!, app: m[2]!, type } };
}
