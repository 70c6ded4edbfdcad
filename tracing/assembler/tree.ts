/**
 * The trace tree, built from merged spans the way Zipkin's `SpanNode.Builder` places them: a
 * server span that shares its client's span id hangs under that client; a span whose parent id
 * names both halves of a shared span hangs under the half of its own service. Spans whose parent
 * is missing are kept, under a placeholder node standing for the missing parent; parent cycles
 * (bad data) are cut at their smallest span, which becomes an orphan.
 *
 * Where each span hangs is worked out by index first (`placeSpans`): that is all the assembler
 * needs of every trace it takes (links and start), and it makes no object per span. The tree of
 * nodes (`buildTree`) is made from it for readers.
 */
import type { TraceSpan } from '../model.ts';
import { compareSpans } from './merge.ts';

export type TraceNode = {
  /** The span, or null for a placeholder standing in for a parent never received. */
  span: TraceSpan | null;
  /** The span id (for a placeholder: the missing parent's id). */
  id: string;
  children: TraceNode[];
  /** Start after clock-skew correction (epoch µs); the raw one stays in `span.start`. */
  start: number;
  /** µs added to this span's timestamps by skew correction; absent when not shifted. */
  skew?: number;
  /** The server half of a client/server pair that share one span id. */
  shared: boolean;
};

/** Where the spans of a trace hang, by their index in the spans (sorted by `compareSpans`). */
export type Placement = {
  /** Index of each span's parent, −1 for none. */
  parentOf: Int32Array;
  /** The parent id of each span whose parent is missing (an orphan); undefined for the others. */
  missing: (string | undefined)[];
  /** 1 for the server half of a client/server pair that share one span id. */
  shared: Uint8Array;
};

function sortKey(n: TraceNode): number {
  return n.span ? n.span.start : (n.children[0]?.span?.start ?? 0);
}

function byStart(a: TraceNode, b: TraceNode): number {
  const d = sortKey(a) - sortKey(b);
  if (d !== 0) return d;
  if (a.span && b.span) return compareSpans(a.span, b.span);
  if (!a.span !== !b.span) return a.span ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function newNode(span: TraceSpan | null, id: string, shared: boolean): TraceNode {
  return { span, id, children: [], start: span?.start ?? 0, shared };
}

/** The first index whose span id is not below `id` (spans sorted by `compareSpans`, so by id). */
function lowerBound(spans: readonly TraceSpan[], id: string): number {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (spans[mid]!.spanId < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Picks the parent among the spans `from` to `to` (exclusive), which all carry the child's parent
 * id: the one of the child's service first.
 */
function chooseParent(spans: readonly TraceSpan[], child: TraceSpan, from: number, to: number): number {
  let best = -1;
  for (let c = from; c < to; c++)
    if (spans[c]!.service === child.service && (best < 0 || spans[c]!.kind === 'server')) best = c;
  if (best >= 0) return best;
  for (let c = from; c < to; c++) if (spans[c]!.kind !== 'server') return c;
  return from;
}

/**
 * Where each span hangs, for merged spans (one per span id and kind) sorted by `compareSpans`:
 * spans of one id sit side by side, so a parent is found by binary search, without a map.
 */
export function placeSpans(spans: readonly TraceSpan[]): Placement {
  const n = spans.length;
  const parentOf = new Int32Array(n).fill(-1);
  const missing = new Array<string | undefined>(n);
  const shared = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const s = spans[i]!;
    let client = -1;
    if (s.kind === 'server')
      for (let j = i - 1; j >= 0 && spans[j]!.spanId === s.spanId; j--)
        if (spans[j]!.kind === 'client') client = j;
    if (client >= 0) {
      parentOf[i] = client;
      shared[i] = 1;
    } else if (s.parentId !== undefined) {
      const from = lowerBound(spans, s.parentId);
      let to = from;
      while (to < n && spans[to]!.spanId === s.parentId) to++;
      if (to > from) parentOf[i] = chooseParent(spans, s, from, to);
      else missing[i] = s.parentId;
    }
  }
  cutCycles(spans, parentOf, missing);
  return { parentOf, missing, shared };
}

/**
 * Builds the forest of a trace from merged spans (one per span id and kind, sorted by
 * `compareSpans`), where they hang and their corrected starts and skews (`correctSkew`). Returns
 * the top-level nodes: real roots and placeholders, ordered by start.
 */
export function buildTree(
  spans: readonly TraceSpan[],
  placement: Placement,
  times: { starts: Float64Array; shifts: Float64Array },
): TraceNode[] {
  const n = spans.length;
  const { parentOf, missing, shared } = placement;
  const nodes = new Array<TraceNode>(n);
  for (let i = 0; i < n; i++) {
    const node = newNode(spans[i]!, spans[i]!.spanId, shared[i] === 1);
    node.start = times.starts[i]!;
    if (times.shifts[i] !== 0) node.skew = times.shifts[i]!;
    nodes[i] = node;
  }

  const top: TraceNode[] = [];
  let placeholders: Map<string, TraceNode> | undefined;
  for (let i = 0; i < n; i++) {
    const node = nodes[i]!;
    const p = parentOf[i]!;
    if (p >= 0) {
      nodes[p]!.children.push(node);
      continue;
    }
    const lost = missing[i];
    if (lost === undefined) {
      top.push(node);
      continue;
    }
    placeholders ??= new Map();
    let holder = placeholders.get(lost);
    if (!holder) {
      holder = newNode(null, lost, false);
      placeholders.set(lost, holder);
      top.push(holder);
    }
    holder.children.push(node);
  }
  for (let i = 0; i < n; i++) if (nodes[i]!.children.length > 1) nodes[i]!.children.sort(byStart);
  if (placeholders)
    for (const h of placeholders.values()) {
      h.children.sort(byStart);
      h.start = h.children[0]?.start ?? 0;
    }
  return top.length > 1 ? top.sort(byStart) : top;
}

/** Cuts every parent cycle at its smallest span, which then counts as an orphan of its parent id. */
function cutCycles(spans: readonly TraceSpan[], parentOf: Int32Array, missing: (string | undefined)[]): void {
  const state = new Uint8Array(spans.length); // 1: on the current path, 2: done
  const path = new Int32Array(spans.length);
  for (let i = 0; i < spans.length; i++) {
    if (state[i] !== 0) continue;
    let len = 0;
    let cur = i;
    while (cur >= 0 && state[cur] === 0) {
      state[cur] = 1;
      path[len++] = cur;
      cur = parentOf[cur]!;
    }
    if (cur >= 0 && state[cur] === 1) {
      let smallest = cur;
      for (let k = path.indexOf(cur); k < len; k++)
        if (compareSpans(spans[path[k]!]!, spans[smallest]!) < 0) smallest = path[k]!;
      parentOf[smallest] = -1;
      missing[smallest] = spans[smallest]!.parentId ?? spans[smallest]!.spanId;
    }
    for (let k = 0; k < len; k++) state[path[k]!] = 2;
  }
}

/**
 * Visits every node depth-first, parents before children, without recursion (traces can be
 * deep). `parent` is the enclosing node, undefined at the top.
 */
export function walk(
  nodes: readonly TraceNode[],
  visit: (n: TraceNode, parent: TraceNode | undefined, depth: number) => void,
): void {
  // Three stacks side by side rather than a tuple per node.
  const stack: TraceNode[] = [];
  const parents: (TraceNode | undefined)[] = [];
  const depths: number[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    stack.push(nodes[i]!);
    parents.push(undefined);
    depths.push(0);
  }
  while (stack.length > 0) {
    const n = stack.pop()!;
    const parent = parents.pop();
    const d = depths.pop()!;
    visit(n, parent, d);
    for (let i = n.children.length - 1; i >= 0; i--) {
      stack.push(n.children[i]!);
      parents.push(n);
      depths.push(d + 1);
    }
  }
}
