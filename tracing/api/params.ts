/**
 * Query parameters of the trace APIs, parsed purely: Zipkin's `/api/v2/traces` and
 * `/api/v2/dependencies`, and our `/api/traces/search`. Bad values are `BAD_REQUEST` HubErrors
 * naming the parameter.
 */
import { HubError } from '../../core/errors.ts';
import { parseAnnotationQuery, parseSearch, type SearchExpr } from '../query/search.ts';
import type { TraceQuery } from '../store/embedded-span-store.ts';

export type Params = Record<string, unknown>;

export const DEFAULT_LOOKBACK_MS = 86_400_000;
export const MAX_LIMIT = 1000;

function one(params: Params, name: string): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return one({ [name]: v[v.length - 1] }, name);
  if (typeof v !== 'string')
    throw new HubError('BAD_REQUEST', `Parameter ${name} must be given once, as text`, { where: name });
  return v;
}

/** A non-negative integer parameter, or the default when absent or empty. */
export function intParam(
  params: Params,
  name: string,
  def?: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const v = one(params, name);
  if (v === undefined || v === '') return def;
  if (!/^\d{1,16}$/.test(v))
    throw new HubError('BAD_REQUEST', `Parameter ${name} must be a non-negative integer, not "${v}"`, {
      where: name,
    });
  const n = Number(v);
  if (n > max)
    throw new HubError('BAD_REQUEST', `Parameter ${name} must be at most ${max}, not ${n}`, { where: name });
  return n;
}

export function textParam(params: Params, name: string): string | undefined {
  const v = one(params, name);
  return v === undefined || v === '' ? undefined : v;
}

/** The window of `endTs` (ms, default now) back by `lookback` (ms, default one day), in µs. */
export function timeWindow(
  params: Params,
  nowMs: number,
): { startUs: number; endUs: number; endMs: number; lookbackMs: number } {
  const endMs = intParam(params, 'endTs', nowMs)!;
  const lookbackMs = intParam(params, 'lookback', DEFAULT_LOOKBACK_MS)!;
  const startMs = Math.max(0, endMs - lookbackMs);
  return { startUs: startMs * 1000, endUs: endMs * 1000 + 999, endMs, lookbackMs };
}

/** Zipkin `GET /api/v2/traces` → a store query (services for visibility are added by the caller). */
export function zipkinTracesQuery(params: Params, nowMs: number): TraceQuery {
  const items: SearchExpr[] = [];
  const service = textParam(params, 'serviceName');
  if (service) items.push({ op: 'match', field: 'service', negate: false, value: service });
  const remote = textParam(params, 'remoteServiceName');
  if (remote) items.push({ op: 'match', field: 'remoteService', negate: false, value: remote });
  const spanName = textParam(params, 'spanName');
  if (spanName && spanName !== 'all')
    items.push({ op: 'match', field: 'name', negate: false, value: spanName });
  const annotationQuery = textParam(params, 'annotationQuery');
  if (annotationQuery) items.push(...parseAnnotationQuery(annotationQuery));
  const minDuration = intParam(params, 'minDuration');
  if (minDuration !== undefined) items.push({ op: 'duration', cmp: '>=', us: minDuration });
  const maxDuration = intParam(params, 'maxDuration');
  if (maxDuration !== undefined) items.push({ op: 'duration', cmp: '<=', us: maxDuration });
  const { startUs, endUs } = timeWindow(params, nowMs);
  const limit = intParam(params, 'limit', 10, MAX_LIMIT)!;
  return { start: startUs, end: endUs, limit, ...(items.length > 0 ? { expr: { op: 'and', items } } : {}) };
}

/** Our search: `q` in the search language, `start`/`end` in epoch ms (default the last day), `limit`. */
export function searchQuery(params: Params, nowMs: number): TraceQuery {
  const q = textParam(params, 'q');
  const endMs = intParam(params, 'end', nowMs)!;
  const startMs = intParam(params, 'start', Math.max(0, endMs - DEFAULT_LOOKBACK_MS))!;
  if (startMs > endMs)
    throw new HubError('BAD_REQUEST', `Parameter start (${startMs}) is after end (${endMs})`, {
      where: 'start',
    });
  const limit = intParam(params, 'limit', 20, MAX_LIMIT)!;
  return { start: startMs * 1000, end: endMs * 1000 + 999, limit, ...(q ? { expr: parseSearch(q) } : {}) };
}
