/**
 * The streaming trace assembler: groups spans by trace as they arrive, merges duplicates and late
 * reports, marks a trace complete once no span came for `idleMs` (later spans are still merged and
 * counted as late), keeps the service dependency links and the RED metrics up to date, and forgets
 * a trace `retainMs` after it went idle (or earlier, oldest first, beyond `maxSpans`).
 *
 * Time comes from the injected clock: one sweep every `sweepMs` and one RED flush every
 * `redIntervalMs`; nothing sleeps. Links change by difference: each trace remembers what it
 * contributed, and a change of the trace replaces its old contribution by the new one, so the
 * totals are those of a batch over the same spans whatever the order, duplication or lateness.
 */
import type { Clock } from '../../core/clock.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import { spanKey, type TraceSpan } from '../model.ts';
import { type AssembledTrace, assembleMerged, traceContribution } from './assemble.ts';
import {
  addCounts,
  addPackedCounts,
  type DependencyLink,
  LINK_SEP,
  type LinkCounts,
  type PackedLinks,
  packLinks,
  toDependencyLinks,
} from './links.ts';
import { mergeSpan, normalizeSpan } from './merge.ts';
import { type PackedSpans, packSpans, unpackSpans } from './packed-spans.ts';
import { createRedMetrics } from './red.ts';

export type TraceAssemblerOptions = {
  clock: Clock;
  logger?: Logger;
  /** A trace with no new span for this long is complete. Default 30 s. */
  idleMs?: number;
  /** How long a complete trace stays in memory to merge late spans. Default 5 min. */
  retainMs?: number;
  /** Spans kept in memory at most; the least recently active traces go first. Default 200,000. */
  maxSpans?: number;
  /** Default 1 s. */
  sweepMs?: number;
  /** Default 10 s. */
  redIntervalMs?: number;
  /** Width of a dependency-link time bucket. Default 1 min. */
  linkBucketMs?: number;
  /** How long link buckets stay in memory. Default 24 h. */
  linkRetentionMs?: number;
  /** Set when something takes the link deltas (`takeLinkDeltas`) to persist them. */
  keepLinkDeltas?: boolean;
  projectOfService?: (service: string) => string | undefined;
  /** Receives the RED points of each interval (connect it to the metrics ingest). */
  onMetrics?: (points: MetricPoint[]) => void | Promise<void>;
  /** Called once when a trace goes idle. */
  onComplete?: (trace: AssembledTrace) => void;
};

/** A change of the link counts within one time bucket (epoch ms of the bucket's start). */
export type LinkDelta = { bucket: number; parent: string; child: string; calls: number; errors: number };

/**
 * Spans and the link changes the assembler made of them: what one store write records. With
 * `summaries`, spans may lack their tags, annotations and peer fields (decoded from version-2
 * bus records, `span-summaries.ts`): the records the write came with hold them.
 */
export type SpanBatch = { spans: readonly TraceSpan[]; links?: readonly LinkDelta[]; summaries?: boolean };

export type TraceStatus = { complete: boolean; lateSpans: number; firstSeen: number; lastSeen: number };

export type TraceAssembler = {
  /** Takes spans in any order, duplicates and late ones included. */
  add(spans: readonly TraceSpan[]): void;
  /** The trace as assembled from the spans in memory, with its status, if it is in memory. */
  get(traceId: string): (AssembledTrace & TraceStatus) | undefined;
  /** Status of a trace in memory; undefined once forgotten (or never seen). */
  status(traceId: string): TraceStatus | undefined;
  /** Links whose bucket overlaps [startMs, endMs], from memory. */
  dependencies(startMs: number, endMs: number): DependencyLink[];
  /** Assembles up to `limit` changed traces now (to spread the work); returns how many remain. */
  settle(limit: number): number;
  /** Takes the link changes not taken yet, to persist them. */
  takeLinkDeltas(): LinkDelta[];
  /** Puts back deltas whose write failed: they are taken again next time. */
  returnLinkDeltas(deltas: readonly LinkDelta[]): void;
  /** Hands the current RED interval to `onMetrics` now. */
  flushMetrics(): Promise<void>;
  /** Runs the idle / retention sweep now. */
  sweep(): void;
  stats(): { traces: number; openTraces: number; spans: number };
  /** Starts the sweep and RED timers. */
  start(): void;
  /** Stops the timers and flushes the last RED interval. */
  stop(): Promise<void>;
};

type TraceState = {
  traceId: string;
  /** The spans as of the last refresh: one per (span id, kind), merged and normalized. */
  packed: PackedSpans | undefined;
  /** While the trace takes spans (until its next refresh): the same and the new ones, by key. */
  open: Map<string, TraceSpan> | undefined;
  size: number;
  firstSeen: number;
  lastSeen: number;
  complete: boolean;
  lateSpans: number;
  dirty: boolean;
  /** What this trace adds to the link buckets now. */
  links: PackedLinks;
  bucket: number;
};

export function createTraceAssembler(options: TraceAssemblerOptions): TraceAssembler {
  const { clock } = options;
  const logger = options.logger ?? silentLogger;
  const idleMs = options.idleMs ?? 30_000;
  const retainMs = options.retainMs ?? 300_000;
  const maxSpans = options.maxSpans ?? 200_000;
  const bucketMs = options.linkBucketMs ?? 60_000;
  const linkRetentionMs = options.linkRetentionMs ?? 86_400_000;
  const red = createRedMetrics({ projectOfService: options.projectOfService });
  /** Insertion order = least recently active first. */
  const traces = new Map<string, TraceState>();
  const dirty = new Set<TraceState>();
  const buckets = new Map<number, LinkCounts>();
  let pending = new Map<number, LinkCounts>();
  let spanCount = 0;
  let openCount = 0;
  const timers: (() => void)[] = [];

  function applyLinks(bucket: number, counts: PackedLinks, delta: 1 | -1): void {
    if (counts.length === 0) return;
    for (const target of options.keepLinkDeltas ? [buckets, pending] : [buckets]) {
      let b = target.get(bucket);
      if (!b) {
        b = new Map();
        target.set(bucket, b);
      }
      addPackedCounts(b, counts, delta);
    }
  }

  /** The trace's merged spans, as kept between batches or while it takes spans. */
  function spansOf(t: TraceState): TraceSpan[] {
    return t.open ? [...t.open.values()] : t.packed ? unpackSpans(t.packed, t.traceId) : [];
  }

  /**
   * Moves the trace's link contribution to what it is now and packs the spans it took. Only the
   * start and links are worked out, not the tree (`traceContribution`); `get` assembles the whole.
   */
  function refresh(t: TraceState): void {
    if (!t.dirty) return;
    const spans = spansOf(t);
    const { start, links: counts } = traceContribution(spans);
    if (t.open) {
      t.packed = packSpans(spans);
      t.open = undefined;
    }
    const startMs = start > 0 ? Math.floor(start / 1000) : t.firstSeen;
    const bucket = startMs - (startMs % bucketMs);
    const links = packLinks(counts);
    applyLinks(t.bucket, t.links, -1);
    applyLinks(bucket, links, 1);
    t.links = links;
    t.bucket = bucket;
    t.dirty = false;
    dirty.delete(t);
  }

  function refreshAll(): void {
    for (const t of [...dirty]) refresh(t);
  }

  function forget(t: TraceState): void {
    traces.delete(t.traceId);
    dirty.delete(t);
    spanCount -= t.size;
    if (!t.complete) openCount--;
  }

  function addOne(span: TraceSpan, now: number): void {
    let t = traces.get(span.traceId);
    if (t) {
      // Keep the map in order of last activity; within one batch the time does not move.
      if (t.lastSeen !== now) {
        traces.delete(span.traceId);
        traces.set(span.traceId, t);
      }
    } else {
      t = {
        traceId: span.traceId,
        packed: undefined,
        open: new Map(),
        size: 0,
        firstSeen: now,
        lastSeen: now,
        complete: false,
        lateSpans: 0,
        dirty: true,
        links: [],
        bucket: 0,
      };
      openCount++;
      traces.set(span.traceId, t);
    }
    t.lastSeen = now;
    let open = t.open;
    if (!open) {
      open = new Map();
      if (t.packed) for (const s of unpackSpans(t.packed, t.traceId)) open.set(spanKey(s), s);
      t.open = open;
    }
    const key = spanKey(span);
    const have = open.get(key);
    if (have) open.set(key, mergeSpan(have, span));
    else {
      open.set(key, normalizeSpan(span));
      t.size++;
      spanCount++;
      red.record(span);
      if (t.complete) t.lateSpans++;
    }
    t.dirty = true;
    dirty.add(t);
  }

  function sweep(): void {
    const now = clock.now();
    refreshAll();
    for (const t of traces.values()) {
      if (now - t.lastSeen < idleMs) break;
      if (!t.complete) {
        t.complete = true;
        openCount--;
        if (options.onComplete)
          try {
            options.onComplete(assembleMerged(spansOf(t)));
          } catch (e) {
            logger.error('a trace-complete listener failed', { err: e });
          }
      }
    }
    for (const t of traces.values()) {
      if (now - t.lastSeen < idleMs + retainMs && spanCount <= maxSpans) break;
      forget(t);
    }
    const oldest = now - linkRetentionMs;
    for (const b of buckets.keys()) if (b + bucketMs < oldest) buckets.delete(b);
  }

  async function flushMetrics(): Promise<void> {
    const points = red.flush(clock.now());
    if (points.length === 0 || !options.onMetrics) return;
    try {
      await options.onMetrics(points);
    } catch (e) {
      logger.error('writing RED metrics failed', { err: e, points: points.length });
    }
  }

  return {
    add(spans) {
      const now = clock.now();
      for (const s of spans) addOne(s, now);
      if (spanCount > maxSpans) sweep();
    },
    get(traceId) {
      const t = traces.get(traceId);
      if (!t) return undefined;
      refresh(t);
      const a = assembleMerged(spansOf(t));
      return {
        ...a,
        complete: t.complete,
        lateSpans: t.lateSpans,
        firstSeen: t.firstSeen,
        lastSeen: t.lastSeen,
      };
    },
    status(traceId) {
      const t = traces.get(traceId);
      return (
        t && { complete: t.complete, lateSpans: t.lateSpans, firstSeen: t.firstSeen, lastSeen: t.lastSeen }
      );
    },
    dependencies(startMs, endMs) {
      refreshAll();
      const sum: LinkCounts = new Map();
      for (const [b, counts] of buckets) if (b + bucketMs > startMs && b <= endMs) addCounts(sum, counts, 1);
      return toDependencyLinks(sum);
    },
    takeLinkDeltas() {
      refreshAll();
      const out: LinkDelta[] = [];
      for (const [bucket, counts] of pending)
        for (const [k, c] of counts) {
          const sep = k.indexOf(LINK_SEP);
          out.push({
            bucket,
            parent: k.slice(0, sep),
            child: k.slice(sep + 1),
            calls: c.calls,
            errors: c.errors,
          });
        }
      pending = new Map();
      return out;
    },
    returnLinkDeltas(deltas) {
      for (const d of deltas) {
        let b = pending.get(d.bucket);
        if (!b) {
          b = new Map();
          pending.set(d.bucket, b);
        }
        addCounts(b, new Map([[d.parent + LINK_SEP + d.child, { calls: d.calls, errors: d.errors }]]), 1);
      }
    },
    settle(limit) {
      let n = 0;
      for (const t of dirty) {
        if (n++ >= limit) break;
        refresh(t);
      }
      return dirty.size;
    },
    flushMetrics,
    sweep,
    stats: () => ({ traces: traces.size, openTraces: openCount, spans: spanCount }),
    start() {
      if (timers.length > 0) return;
      timers.push(clock.setInterval(sweep, options.sweepMs ?? 1000));
      timers.push(clock.setInterval(() => void flushMetrics(), options.redIntervalMs ?? 10_000));
    },
    async stop() {
      for (const cancel of timers.splice(0)) cancel();
      await flushMetrics();
    },
  };
}
