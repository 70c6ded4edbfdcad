/**
 * The span log: one JSON object per line, in the model's own field names. `tracing/span-log.md`
 * is the format's description for writers in any language.
 */
import { checkSpan, normalizeId, type SpanError, type TraceSpan } from '../model.ts';

export const SPAN_LOG_MAX_LINE_BYTES = 1024 * 1024;

export type SpanLogLineResult = { ok: true; span: TraceSpan } | { ok: false; field: string; message: string };

/** Parses one line (without its newline). Blank lines are not spans: callers skip them. */
export function parseSpanLogLine(line: string): SpanLogLineResult {
  if (line.length > SPAN_LOG_MAX_LINE_BYTES)
    return { ok: false, field: '', message: `line is longer than ${SPAN_LOG_MAX_LINE_BYTES} characters` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, field: '', message: `not valid JSON: ${(e as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, field: '', message: 'a line must hold one JSON object' };
  const o = value as Record<string, unknown>;
  const ids: Record<string, unknown> = {};
  // Writers in other languages often emit null for "none": treat it as absent.
  for (const k of Object.keys(o)) if (o[k] !== null) ids[k] = o[k];
  if (ids['name'] === undefined) ids['name'] = '';
  for (const [field, width] of [
    ['traceId', 32],
    ['spanId', 16],
    ['parentId', 16],
  ] as const) {
    if (ids[field] === undefined) continue;
    const id = normalizeId(ids[field], width);
    if (id === undefined) return { ok: false, field, message: `${field} must be 1 to ${width} hex digits` };
    ids[field] = id;
  }
  const checked = checkSpan(ids);
  if (!checked.ok) return { ok: false, field: checked.error.field, message: checked.error.message };
  return { ok: true, span: checked.value };
}

/**
 * Parses a chunk of span-log text. Errors carry the 1-based line number as `index` (plus
 * `firstLine - 1`), so a tailer can report where in the file a bad line is.
 */
export function parseSpanLog(text: string, firstLine = 1): { spans: TraceSpan[]; errors: SpanError[] } {
  const spans: TraceSpan[] = [];
  const errors: SpanError[] = [];
  let start = 0;
  let lineNo = firstLine;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() !== '') {
      const r = parseSpanLogLine(line);
      if (r.ok) spans.push(r.span);
      else errors.push({ index: lineNo, field: r.field, message: r.message, path: `line ${lineNo}` });
    }
    start = end + 1;
    lineNo++;
  }
  return { spans, errors };
}

/** One span as a span-log line (no newline). Optional fields that are absent are left out. */
export function formatSpanLogLine(span: TraceSpan): string {
  const out: Record<string, unknown> = {
    traceId: span.traceId,
    spanId: span.spanId,
  };
  if (span.parentId !== undefined) out['parentId'] = span.parentId;
  out['name'] = span.name;
  out['kind'] = span.kind;
  out['service'] = span.service;
  out['start'] = span.start;
  out['duration'] = span.duration;
  if (span.localIp !== undefined) out['localIp'] = span.localIp;
  if (span.localPort !== undefined) out['localPort'] = span.localPort;
  if (span.peerIp !== undefined) out['peerIp'] = span.peerIp;
  if (span.peerPort !== undefined) out['peerPort'] = span.peerPort;
  if (span.remoteService !== undefined) out['remoteService'] = span.remoteService;
  if (Object.keys(span.tags).length > 0) out['tags'] = span.tags;
  if (span.annotations.length > 0) out['annotations'] = span.annotations;
  if (span.error) out['error'] = true;
  if (span.shared) out['shared'] = true;
  if (span.debug) out['debug'] = true;
  return JSON.stringify(out);
}
