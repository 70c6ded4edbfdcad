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

/** A series as a batch of columns names it; the points of one series share one such object. */
export type PointSeries = { readonly metric: string; readonly tags: Readonly<Tags> };

/**
 * A series object that lives across batches (a decoder's remembered series, `SeriesMemory`),
 * keeping what the stages after the decoder learnt of the series: its next point costs each of
 * them a property load instead of a lookup by its names. A slot names the instance that filled
 * it (a store's index, a record writer's epoch), so another instance looks the series up again.
 * Stages fill the slots of an object that has them (`'storeOf' in series`), and of no other.
 */
export type SeriesMemo = PointSeries & {
  /** Its series key once ingest admission let it in, which it does for good (`admitColumns`). */
  admittedKey: string | undefined;
  /** Its id in the metric store whose series index is `storeOf`. */
  storeOf: object | undefined;
  storeId: number;
  /** Its ref in the v3 record writer's epoch `refsOf` (`pipeline/codec/series-refs.ts`). */
  refsOf: object | undefined;
  ref: number;
};

/** A series object of a batch: a `SeriesMemo`, or one without the slots (a `MetricPoint`, say). */
export type MaybeMemo = PointSeries & Partial<Omit<SeriesMemo, keyof PointSeries>>;

/**
 * Points as columns: point `i` is of series `series[i]`, at `ts[i]` (epoch ms) with `values[i]`.
 * A batch of known series allocates no object a point (`pipeline/codec/point-columns.ts`). An
 * array of `MetricPoint`s is also its own `series` column.
 */
export type PointColumns = {
  readonly series: readonly PointSeries[];
  readonly ts: ArrayLike<number>;
  readonly values: ArrayLike<number>;
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

/** The ASCII characters NAME_RE allows, by char code: a table look-up per character is cheaper. */
const ASCII_NAME = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./')
  ASCII_NAME[c.charCodeAt(0)] = 1;

/** NAME_RE's answer; the Unicode regexp runs only for names with a character beyond ASCII. */
function isName(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128) return NAME_RE.test(value);
    if (ASCII_NAME[c] === 0) return false;
  }
  return value.length > 0;
}

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
  if (!isName(value))
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
  const keys = Object.keys(tags);
  if (keys.length === 0) return { field, message: 'Need at least one tag' };
  if (keys.length > maxTags)
    return { field, message: `Too many tags: ${keys.length}, the limit is ${maxTags}` };
  for (const k of keys) {
    const bad = checkName(k, `${field} key`) ?? checkName((tags as Tags)[k], `${field}.${k}`);
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
  const error = metricPointError(p['metric'], p['tags'], p['ts'], p['value'], maxTags);
  if (error) return { ok: false, error };
  return {
    ok: true,
    value: {
      metric: p['metric'] as string,
      tags: p['tags'] as Tags,
      ts: p['ts'] as number,
      value: p['value'] as number,
    },
  };
}

/** What `validateMetricPoint` finds wrong with these fields, without building a point; undefined if nothing. */
export function metricPointError(
  metric: unknown,
  tags: unknown,
  ts: unknown,
  value: unknown,
  maxTags: number = LIMITS.maxTags,
): FieldError | undefined {
  const bad = checkName(metric, 'metric');
  if (bad) return bad;
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < LIMITS.minTs || ts > LIMITS.maxTs)
    return { field: 'timestamp', message: `Invalid timestamp: ${String(ts)}` };
  if (typeof value !== 'number' || Number.isNaN(value))
    return { field: 'value', message: `Invalid value: ${String(value)}` };
  if (!Number.isFinite(value)) return { field: 'value', message: 'Value must be finite' };
  return validateTags(tags, 'tags', maxTags);
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
