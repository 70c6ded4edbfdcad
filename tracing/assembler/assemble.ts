/**
 * The pure core of the assembler: from any reports of one trace's spans, the merged spans, the
 * tree (orphans under placeholders), skew-corrected times, and the dependency links it adds.
 */
import type { TraceSpan } from '../model.ts';
import { type LinkCounts, traceLinks } from './links.ts';
import { compareSpans, mergeSpans } from './merge.ts';
import { correctSkew } from './skew.ts';
import { buildTree, placeSpans, type TraceNode, walk } from './tree.ts';

export type AssembledTrace = {
  traceId: string;
  /** One span per (span id, kind), merged, in `compareSpans` order, with Zipkin's shared-span fixes. */
  spans: TraceSpan[];
  /** Real roots and placeholders, skew-corrected. */
  roots: TraceNode[];
  /** Earliest corrected start and latest corrected end, epoch µs. */
  start: number;
  end: number;
  services: string[];
  errorCount: number;
  /** Spans whose parent is missing. */
  orphanCount: number;
  /** Spans moved by skew correction. */
  skewedCount: number;
  links: LinkCounts;
};

/**
 * Zipkin's clean-up of shared spans (`Trace.merge`): a server span that reuses its client's id is
 * marked `shared`, and gets the client's parent id when it was not propagated one.
 */
function backfillShared(spans: TraceSpan[]): TraceSpan[] {
  for (let i = 1; i < spans.length; i++) {
    const s = spans[i]!;
    const prev = spans[i - 1]!;
    if (s.kind !== 'server' || prev.spanId !== s.spanId || prev.kind !== 'client') continue;
    if (s.shared && (s.parentId !== undefined || prev.parentId === undefined)) continue;
    const fixed: TraceSpan = { ...s, shared: true };
    if (fixed.parentId === undefined && prev.parentId !== undefined) fixed.parentId = prev.parentId;
    spans[i] = fixed;
  }
  return spans;
}

/**
 * The merged spans of one trace with Zipkin's shared-span fixes: `assembleTrace(reports).spans`
 * without building the tree (what trace-by-id answers).
 */
export function mergeTrace(reports: readonly TraceSpan[]): TraceSpan[] {
  return backfillShared(mergeSpans(reports));
}

/** Assembles one trace from any number of reports of its spans (all of one trace id). */
export function assembleTrace(reports: readonly TraceSpan[]): AssembledTrace {
  return assembleMerged(mergeTrace(reports));
}

/** Merged spans in `compareSpans` order with the shared-span fixes, where they hang, their times. */
function place(merged: TraceSpan[]) {
  const spans = backfillShared(merged.sort(compareSpans));
  const placement = placeSpans(spans);
  return { spans, placement, times: correctSkew(spans, placement) };
}

/** The earliest corrected start (epoch µs) of spans whose start is known, 0 when none is. */
function earliest(starts: Float64Array): number {
  let start = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < starts.length; i++) if (starts[i]! > 0 && starts[i]! < start) start = starts[i]!;
  return start === Number.MAX_SAFE_INTEGER ? 0 : start;
}

/**
 * `assembleTrace` of spans already merged: one per (span id, kind), each normalized (what
 * `mergeSpans` returns), in any order. The streaming assembler keeps its spans so and skips the
 * merge.
 */
export function assembleMerged(merged: TraceSpan[]): AssembledTrace {
  const { spans, placement, times } = place(merged);
  let end = 0;
  let errorCount = 0;
  let orphanCount = 0;
  let skewedCount = 0;
  const services = new Set<string>();
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    const start = times.starts[i]!;
    if (placement.missing[i] !== undefined) orphanCount++;
    if (times.shifts[i] !== 0) skewedCount++;
    if (s.error) errorCount++;
    services.add(s.service);
    if (start > 0 && start + s.duration > end) end = start + s.duration;
  }
  return {
    traceId: spans[0]?.traceId ?? '',
    spans,
    roots: buildTree(spans, placement, times),
    start: earliest(times.starts),
    end,
    services: [...services].sort(),
    errorCount,
    orphanCount,
    skewedCount,
    links: traceLinks(spans, placement),
  };
}

/**
 * What the streaming assembler needs of every trace it takes: `assembleMerged`'s `start` and
 * `links`, without the tree's nodes. Sorts `merged` and applies the shared-span fixes in place.
 */
export function traceContribution(merged: TraceSpan[]): { start: number; links: LinkCounts } {
  const { spans, placement, times } = place(merged);
  return { start: earliest(times.starts), links: traceLinks(spans, placement) };
}

/**
 * A row of the flat read model: the span as stored (raw `start` and annotation times), its place
 * in the tree and its corrected start; a reader adds `skew` to raw times to correct them.
 */
export type TraceRow = TraceSpan & {
  depth: number;
  /** Corrected start (epoch µs); `start` stays the raw one. */
  adjustedStart: number;
  /** µs added by skew correction, when the span was shifted. */
  skew?: number;
  /** Set on a placeholder row that stands for a parent span never received. */
  placeholder?: true;
};

/** The trace as rows in tree order (depth-first, children by start), for pages and our API. */
export function traceRows(trace: AssembledTrace): TraceRow[] {
  const rows: TraceRow[] = [];
  walk(trace.roots, (n, _parent, depth) => {
    const s = n.span;
    if (!s) {
      rows.push({
        traceId: trace.traceId,
        spanId: n.id,
        name: '(missing span)',
        kind: 'local',
        service: '(unknown)',
        start: n.start,
        duration: 0,
        tags: {},
        annotations: [],
        error: false,
        depth,
        adjustedStart: n.start,
        placeholder: true,
      });
      return;
    }
    const row: TraceRow = { ...s, depth, adjustedStart: n.start };
    if (n.skew !== undefined) row.skew = n.skew;
    rows.push(row);
  });
  return rows;
}
