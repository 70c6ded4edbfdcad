/**
 * The trace tree, built from merged spans the way Zipkin's `SpanNode.Builder` places them: a
 * server span that shares its client's span id hangs under that client; a span whose parent id
 * names both halves of a shared span hangs under the half of its own service. Spans whose parent
 * is missing are kept, under a placeholder node standing for the missing parent; parent cycles
 * (bad data) are cut at their smallest span, which becomes an orphan.
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

/** Picks the parent among spans that carry the parent id: the one of the child's service first. */
function chooseParent(child: TraceSpan, candidates: readonly TraceSpan[]): TraceSpan {
  let best: TraceSpan | undefined;
  for (const c of candidates) if (c.service === child.service && (!best || c.kind === 'server')) best = c;
  if (best) return best;
  for (const c of candidates) if (c.kind !== 'server') return c;
  return candidates[0]!;
}

/**
 * Builds the forest of a trace from merged spans (one per span id and kind, sorted by
 * `compareSpans`). Returns the top-level nodes: real roots and placeholders, ordered by start.
 */
export function buildTree(spans: readonly TraceSpan[]): TraceNode[] {
  const byId = new Map<string, TraceSpan[]>();
  for (const s of spans) {
    const list = byId.get(s.spanId);
    if (list) list.push(s);
    else byId.set(s.spanId, [s]);
  }
  const nodes = new Map<TraceSpan, TraceNode>();
  const parentOf = new Map<TraceSpan, TraceSpan>();
  const missing = new Map<TraceSpan, string>();
  for (const s of spans) {
    const same = byId.get(s.spanId)!;
    const client = s.kind === 'server' ? same.find((x) => x.kind === 'client') : undefined;
    const shared = client !== undefined;
    nodes.set(s, newNode(s, s.spanId, shared));
    if (client) parentOf.set(s, client);
    else if (s.parentId !== undefined) {
      const candidates = byId.get(s.parentId);
      if (candidates) parentOf.set(s, chooseParent(s, candidates));
      else missing.set(s, s.parentId);
    }
  }
  cutCycles(spans, parentOf, missing);

  const top: TraceNode[] = [];
  const placeholders = new Map<string, TraceNode>();
  for (const s of spans) {
    const node = nodes.get(s)!;
    const p = parentOf.get(s);
    if (p) {
      const pn = nodes.get(p)!;
      pn.children.push(node);
      continue;
    }
    const lost = missing.get(s);
    if (lost === undefined) {
      top.push(node);
      continue;
    }
    let holder = placeholders.get(lost);
    if (!holder) {
      holder = newNode(null, lost, false);
      placeholders.set(lost, holder);
      top.push(holder);
    }
    holder.children.push(node);
  }
  for (const n of nodes.values()) n.children.sort(byStart);
  for (const h of placeholders.values()) {
    h.children.sort(byStart);
    h.start = h.children[0]?.start ?? 0;
  }
  return top.sort(byStart);
}

/** Cuts every parent cycle at its smallest span, which then counts as an orphan of its parent id. */
function cutCycles(
  spans: readonly TraceSpan[],
  parentOf: Map<TraceSpan, TraceSpan>,
  missing: Map<TraceSpan, string>,
) {
  const state = new Map<TraceSpan, 1 | 2>(); // 1: on the current path, 2: done
  for (const s of spans) {
    if (state.has(s)) continue;
    const path: TraceSpan[] = [];
    let cur: TraceSpan | undefined = s;
    while (cur && !state.has(cur)) {
      state.set(cur, 1);
      path.push(cur);
      cur = parentOf.get(cur);
    }
    if (cur && state.get(cur) === 1) {
      const cycle = path.slice(path.indexOf(cur));
      let smallest = cycle[0]!;
      for (const c of cycle) if (compareSpans(c, smallest) < 0) smallest = c;
      parentOf.delete(smallest);
      missing.set(smallest, smallest.parentId ?? smallest.spanId);
    }
    for (const p of path) state.set(p, 2);
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
  const stack: [TraceNode, TraceNode | undefined, number][] = [];
  for (let i = nodes.length - 1; i >= 0; i--) stack.push([nodes[i]!, undefined, 0]);
  while (stack.length > 0) {
    const [n, parent, d] = stack.pop()!;
    visit(n, parent, d);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push([n.children[i]!, n, d + 1]);
  }
}
