/**
 * Clock-skew correction at read time, after Zipkin's `CorrectForClockSkew` (zipkin v1 Java and
 * zipkin-lens `clock-skew.js`): a server span that does not fit inside its client span, on another
 * host (IP), is moved so that it sits centred in the client's time, the network latency split
 * evenly both ways. The shift applies to that server span and to every span of its subtree that
 * runs on the same host. The raw `start` of each span is kept; shifted nodes carry `skew`.
 *
 * One deliberate difference: a span's own correction adds to the shift it inherited for its host,
 * and its children inherit the sum (Zipkin passes down only the last one).
 */
import type { TraceSpan } from '../model.ts';
import { type TraceNode, walk } from './tree.ts';

/**
 * The µs to add to the server's timestamps so it sits inside its client, or undefined when no skew
 * can be seen. `clientStart` is the client's start after its own correction.
 */
export function clockSkew(
  client: TraceSpan,
  clientStart: number,
  server: TraceSpan,
  serverStart: number,
): number | undefined {
  if (client.kind !== 'client' || server.kind !== 'server') return undefined;
  if (client.localIp === undefined || server.localIp === undefined || client.localIp === server.localIp)
    return undefined;
  const cs = clientStart;
  const sr = serverStart;
  if (client.start === 0 || server.start === 0) return undefined;
  const cd = client.duration;
  const sd = server.duration;
  if (cd > 0 && sd > 0 && sd <= cd) {
    // Nested already: nothing tells us the clocks differ.
    if (sr >= cs && sr + sd <= cs + cd) return undefined;
    const latency = Math.floor((cd - sd) / 2);
    const shift = cs + latency - sr;
    return shift === 0 ? undefined : shift;
  }
  // One-way (a duration unknown) or asynchronous (server outlived client): the server can only be
  // said to have started after the client did.
  if (sr < cs) return cs + 1 - sr;
  return undefined;
}

type Inherited = { host: string; shift: number } | undefined;

/** Corrects the tree in place: sets `start` (corrected) and `skew` on every shifted node. */
export function correctSkew(roots: readonly TraceNode[]): void {
  const inherited = new Map<TraceNode, Inherited>();
  walk(roots, (node, parent) => {
    const span = node.span;
    const from = parent ? inherited.get(parent) : undefined;
    if (!span) {
      node.start = node.children[0]?.span?.start ?? 0;
      inherited.set(node, from);
      return;
    }
    let shift = from && span.localIp === from.host ? from.shift : 0;
    const parentSpan = parent?.span;
    if (parentSpan && parent) {
      const own = clockSkew(parentSpan, parent.start, span, span.start + shift);
      if (own !== undefined) shift += own;
    }
    node.start = span.start === 0 ? 0 : span.start + shift;
    if (shift !== 0) {
      node.skew = shift;
      inherited.set(node, { host: span.localIp!, shift });
    } else inherited.set(node, from);
  });
}
