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
import type { Placement } from './tree.ts';

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

/**
 * Corrected start and skew of every span, by index, from where the spans hang (`placeSpans`):
 * `starts[i]` is span i's start after correction (0 when unknown), `shifts[i]` the µs added (0
 * when not shifted). Parents are corrected before their children.
 */
export function correctSkew(
  spans: readonly TraceSpan[],
  placement: Placement,
): { starts: Float64Array; shifts: Float64Array } {
  const n = spans.length;
  const { parentOf } = placement;
  const starts = new Float64Array(n);
  const shifts = new Float64Array(n);
  /** The span whose host and shift span i passes down to its subtree, −1 for none. */
  const inherited = new Int32Array(n);
  const done = new Uint8Array(n);
  const path = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let len = 0;
    for (let cur = i; cur >= 0 && done[cur] === 0; cur = parentOf[cur]!) path[len++] = cur;
    for (let k = len - 1; k >= 0; k--) {
      const j = path[k]!;
      const span = spans[j]!;
      const p = parentOf[j]!;
      const from = p >= 0 ? inherited[p]! : -1;
      let shift = from >= 0 && span.localIp === spans[from]!.localIp ? shifts[from]! : 0;
      if (p >= 0) {
        const own = clockSkew(spans[p]!, starts[p]!, span, span.start + shift);
        if (own !== undefined) shift += own;
      }
      starts[j] = span.start === 0 ? 0 : span.start + shift;
      shifts[j] = shift;
      inherited[j] = shift !== 0 ? j : from;
      done[j] = 1;
    }
  }
  return { starts, shifts };
}
