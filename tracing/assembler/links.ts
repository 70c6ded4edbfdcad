/**
 * Service dependency links of one trace, after zipkin-lens `dependency-linker.js`: RPC links come
 * from server spans (caller = nearest remote ancestor's service, else the remote endpoint), a
 * client span is counted only at the bottom of the tree (an uninstrumented callee, known by its
 * remote service name), messaging links from producer and consumer spans that name their broker.
 */
import type { TraceSpan } from '../model.ts';
import type { Placement } from './tree.ts';

export type DependencyLink = { parent: string; child: string; callCount: number; errorCount: number };

/** Calls and errors per `parent\u0000child`. */
export type LinkCounts = Map<string, { calls: number; errors: number }>;

export const LINK_SEP = '\u0000';

function add(counts: LinkCounts, parent: string, child: string, error: boolean): void {
  const key = parent + LINK_SEP + child;
  const c = counts.get(key);
  if (c) {
    c.calls++;
    if (error) c.errors++;
  } else counts.set(key, { calls: 1, errors: error ? 1 : 0 });
}

/** The links one trace contributes, from its merged spans and where they hang (`placeSpans`). */
export function traceLinks(spans: readonly TraceSpan[], placement: Placement): LinkCounts {
  const { parentOf } = placement;
  const n = spans.length;
  const hasChildren = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (parentOf[i]! >= 0) hasChildren[parentOf[i]!] = 1;
  const counts: LinkCounts = new Map();
  for (let i = 0; i < n; i++) linkSpan(counts, spans, parentOf, i, hasChildren[i] === 1);
  return counts;
}

/**
 * The link span `i` adds. A server or consumer span at the top of the tree without a remote
 * service adds none: it has neither a remote parent nor an ancestor (zipkin-lens checks this first).
 */
function linkSpan(
  counts: LinkCounts,
  spans: readonly TraceSpan[],
  parentOf: Int32Array,
  i: number,
  hasChildren: boolean,
): void {
  const span = spans[i]!;
  let kind = span.kind;
  if (kind === 'client' && hasChildren) return;
  const service = span.service;
  const remote = span.remoteService;
  if (kind === 'local') {
    if (!remote) return;
    kind = 'client';
  }
  let parent: string | undefined;
  let child: string | undefined;
  if (kind === 'server' || kind === 'consumer') {
    child = service;
    parent = remote;
  } else {
    parent = service;
    child = remote;
  }
  let isError = span.error;
  if (kind === 'producer' || kind === 'consumer') {
    if (parent && child) add(counts, parent, child, isError);
    return;
  }
  let ancestor = parentOf[i]!;
  while (ancestor >= 0 && spans[ancestor]!.kind === 'local') ancestor = parentOf[ancestor]!;
  if (ancestor >= 0) {
    const ancestorSpan = spans[ancestor]!;
    const ancestorName = ancestorSpan.service;
    if (kind === 'client' && ancestorName !== service) add(counts, ancestorName, service, false);
    if (kind === 'server' || !parent) parent = ancestorName;
    if (
      !isError &&
      ancestorSpan.kind === 'client' &&
      (span.parentId === ancestorSpan.spanId || span.spanId === ancestorSpan.spanId)
    )
      isError = ancestorSpan.error;
  }
  if (!parent || !child) return;
  add(counts, parent, child, isError);
}

function addCount(into: LinkCounts, k: string, callsIn: number, errorsIn: number, delta: 1 | -1): void {
  const have = into.get(k);
  const calls = (have?.calls ?? 0) + delta * callsIn;
  const errors = (have?.errors ?? 0) + delta * errorsIn;
  if (calls === 0 && errors === 0) into.delete(k);
  else if (have) {
    have.calls = calls;
    have.errors = errors;
  } else into.set(k, { calls, errors });
}

/** Adds `delta` times `counts` into `into`, dropping entries that fall to zero. */
export function addCounts(into: LinkCounts, counts: LinkCounts, delta: 1 | -1): void {
  for (const [k, c] of counts) addCount(into, k, c.calls, c.errors, delta);
}

/**
 * One trace's link counts as a flat array `[key, calls, errors, ...]` with keys shared between
 * traces: what the assembler keeps per trace in memory, where a map per trace would be several
 * long-lived objects.
 */
export type PackedLinks = (string | number)[];

/** Keys seen, so that traces share one string per pair of services; bounded. */
const internedKeys = new Map<string, string>();
const MAX_INTERNED = 100_000;

export function packLinks(counts: LinkCounts): PackedLinks {
  const out: PackedLinks = [];
  for (const [k, c] of counts) {
    let key = internedKeys.get(k);
    if (key === undefined) {
      key = k;
      if (internedKeys.size < MAX_INTERNED) internedKeys.set(k, k);
    }
    out.push(key, c.calls, c.errors);
  }
  return out;
}

/** `addCounts` of packed links. */
export function addPackedCounts(into: LinkCounts, packed: PackedLinks, delta: 1 | -1): void {
  for (let i = 0; i < packed.length; i += 3)
    addCount(into, packed[i] as string, packed[i + 1] as number, packed[i + 2] as number, delta);
}

export function toDependencyLinks(counts: LinkCounts): DependencyLink[] {
  const out: DependencyLink[] = [];
  for (const [k, c] of counts) {
    if (c.calls <= 0) continue;
    const sep = k.indexOf(LINK_SEP);
    out.push({ parent: k.slice(0, sep), child: k.slice(sep + 1), callCount: c.calls, errorCount: c.errors });
  }
  return out.sort((a, b) => (a.parent + LINK_SEP + a.child < b.parent + LINK_SEP + b.child ? -1 : 1));
}
