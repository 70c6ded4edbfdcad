/**
 * Merging the reports of one span (same trace id, span id and kind). The merge is a join: it is
 * commutative, associative and idempotent, so any order, duplication or lateness of the same
 * reports gives the same span. Rules, per field: a known value beats an unknown one; between two
 * known values the larger wins (strings by code unit, numbers by value) except `start`, where the
 * earliest non-zero wins; tags are united (larger value on a clash), annotations united and
 * sorted; `error`, `shared`, `debug` are or-ed. Zipkin merges spans sent in pieces the same way
 * (`Span.Builder.merge`), but keeps the first value it sees; we keep a deterministic one.
 */
import type { Tags } from '../../core/model.ts';
import { spanKey, type TraceSpan } from '../model.ts';

const KIND_ORDER = { client: 0, server: 1, producer: 2, consumer: 3, local: 4 } as const;

function pickStr(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || a === '') return b === '' ? a : b;
  if (b === undefined || b === '') return a;
  return a >= b ? a : b;
}

function pickNum(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a >= b ? a : b;
}

function mergeTags(a: Tags, b: Tags): Tags {
  if (a === b) return a;
  const out: Tags = { ...a };
  for (const k of Object.keys(b)) {
    const v = b[k]!;
    const have = out[k];
    if (have === undefined || v > have) out[k] = v;
  }
  return out;
}

export function compareAnnotations(
  x: { ts: number; value: string },
  y: { ts: number; value: string },
): number {
  return x.ts - y.ts || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0);
}

/** Sorted, without duplicates. */
export function normalizeAnnotations(
  list: readonly { ts: number; value: string }[],
): { ts: number; value: string }[] {
  const sorted = [...list].sort(compareAnnotations);
  const out: { ts: number; value: string }[] = [];
  for (const a of sorted) {
    const last = out[out.length - 1];
    if (!last || last.ts !== a.ts || last.value !== a.value) out.push({ ts: a.ts, value: a.value });
  }
  return out;
}

/** Joins two reports of the same span. */
export function mergeSpan(a: TraceSpan, b: TraceSpan): TraceSpan {
  const out: TraceSpan = {
    traceId: a.traceId,
    spanId: a.spanId,
    name: pickStr(a.name, b.name) ?? '',
    kind: a.kind,
    service: pickStr(a.service, b.service)!,
    start: a.start === 0 ? b.start : b.start === 0 ? a.start : Math.min(a.start, b.start),
    duration: Math.max(a.duration, b.duration),
    tags: mergeTags(a.tags, b.tags),
    annotations:
      a.annotations.length === 0 && b.annotations.length === 0
        ? []
        : normalizeAnnotations([...a.annotations, ...b.annotations]),
    error: a.error || b.error,
  };
  const parentId = pickStr(a.parentId, b.parentId);
  if (parentId !== undefined) out.parentId = parentId;
  const localIp = pickStr(a.localIp, b.localIp);
  if (localIp !== undefined) out.localIp = localIp;
  const peerIp = pickStr(a.peerIp, b.peerIp);
  if (peerIp !== undefined) out.peerIp = peerIp;
  const peerPort = pickNum(a.peerPort, b.peerPort);
  if (peerPort !== undefined) out.peerPort = peerPort;
  const remoteService = pickStr(a.remoteService, b.remoteService);
  if (remoteService !== undefined) out.remoteService = remoteService;
  const localPort = pickNum(a.localPort, b.localPort);
  if (localPort !== undefined) out.localPort = localPort;
  if (a.shared || b.shared) out.shared = true;
  if (a.debug || b.debug) out.debug = true;
  return out;
}

/** Orders spans by span id, then kind (client first, as Zipkin does). */
export function compareSpans(x: TraceSpan, y: TraceSpan): number {
  if (x.spanId !== y.spanId) return x.spanId < y.spanId ? -1 : 1;
  return KIND_ORDER[x.kind] - KIND_ORDER[y.kind];
}

/**
 * Folds reports into one span per (span id, kind), sorted by `compareSpans`. A single report is
 * normalized too (annotations sorted), so a batch and a stream of the same spans compare equal.
 */
export function mergeSpans(spans: readonly TraceSpan[]): TraceSpan[] {
  const byKey = new Map<string, TraceSpan>();
  for (const s of spans) {
    const key = spanKey(s);
    const have = byKey.get(key);
    byKey.set(key, have ? mergeSpan(have, s) : isNormal(s) ? s : mergeSpan(s, s));
  }
  return [...byKey.values()].sort(compareSpans);
}

/** One report as `mergeSpans` would give it alone (annotations sorted, without duplicates). */
export function normalizeSpan(s: TraceSpan): TraceSpan {
  return isNormal(s) ? s : mergeSpan(s, s);
}

/** Whether a single report is already what merging it with itself would give. */
function isNormal(s: TraceSpan): boolean {
  const a = s.annotations;
  for (let i = 1; i < a.length; i++) if (compareAnnotations(a[i - 1]!, a[i]!) >= 0) return false;
  return s.shared !== false && s.debug !== false;
}
