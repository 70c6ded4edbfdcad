/**
 * B3 propagation (https://github.com/openzipkin/b3-propagation), multi-header form: the same four
 * names on HTTP requests, Bus message headers and Thrift calls. Pure functions: parsing never
 * throws, and a context that is malformed in any part is refused whole (as Brave does), so a bad
 * upstream starts a new trace instead of polluting one.
 */

/** What travels between processes: the caller's span and the sampling decision. */
export type SpanContext = {
  /** 128-bit, 32 lower-case hex digits. */
  traceId: string;
  /** 64-bit, 16 lower-case hex digits. */
  spanId: string;
  /** The caller's parent, when it sent one (informational: the receiver's parent is `spanId`). */
  parentId?: string;
  /** The decision made upstream; absent = deferred, the receiver decides. */
  sampled?: boolean;
};

export const B3_HEADERS = {
  traceId: 'X-B3-TraceId',
  spanId: 'X-B3-SpanId',
  parentSpanId: 'X-B3-ParentSpanId',
  sampled: 'X-B3-Sampled',
  flags: 'X-B3-Flags',
} as const;

/** Header maps as they come: Node's `IncomingHttpHeaders`, Bus message headers, plain records. */
export type HeaderSource = Readonly<Record<string, string | readonly string[] | undefined>>;

const HEX16 = /^[0-9a-fA-F]{16}$/;
const HEX32 = /^[0-9a-fA-F]{32}$/;
const ZERO = /^0+$/;

/** The B3 headers for `ctx`, with the canonical names. */
export function formatB3(ctx: SpanContext): Record<string, string> {
  const headers: Record<string, string> = {
    [B3_HEADERS.traceId]: ctx.traceId,
    [B3_HEADERS.spanId]: ctx.spanId,
  };
  if (ctx.parentId !== undefined) headers[B3_HEADERS.parentSpanId] = ctx.parentId;
  if (ctx.sampled !== undefined) headers[B3_HEADERS.sampled] = ctx.sampled ? '1' : '0';
  return headers;
}

function lowerCaseView(headers: HeaderSource): Map<string, string | undefined> {
  const view = new Map<string, string | undefined>();
  for (const key of Object.keys(headers)) {
    const lower = key.toLowerCase();
    if (!lower.startsWith('x-b3-')) continue;
    const value = headers[key];
    view.set(lower, typeof value === 'string' ? value : Array.isArray(value) ? value[0] : undefined);
  }
  return view;
}

function parseId(value: string | undefined, re: RegExp): string | undefined {
  if (value === undefined || !re.test(value) || ZERO.test(value)) return undefined;
  return value.toLowerCase();
}

function parseSampled(value: string | undefined, flags: string | undefined): boolean | undefined | null {
  if (flags === '1') return true;
  if (flags !== undefined && flags !== '0') return null;
  if (value === undefined) return undefined;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  return null;
}

/**
 * The context in `headers` (names matched case-insensitively), or undefined when there is none or
 * any part of it is malformed. A 64-bit trace id is left-padded to 128 bits. A sampling flag
 * without ids carries no context here and is ignored.
 */
export function parseB3(headers: HeaderSource): SpanContext | undefined {
  const view = lowerCaseView(headers);
  const rawTrace = view.get('x-b3-traceid');
  const traceId =
    rawTrace?.length === 16 ? parseId(rawTrace, HEX16)?.padStart(32, '0') : parseId(rawTrace, HEX32);
  const spanId = parseId(view.get('x-b3-spanid'), HEX16);
  if (traceId === undefined || spanId === undefined) return undefined;
  const rawParent = view.get('x-b3-parentspanid');
  const parentId = rawParent === undefined ? undefined : parseId(rawParent, HEX16);
  if (rawParent !== undefined && parentId === undefined) return undefined;
  const sampled = parseSampled(view.get('x-b3-sampled'), view.get('x-b3-flags'));
  if (sampled === null) return undefined;
  const ctx: SpanContext = { traceId, spanId };
  if (parentId !== undefined) ctx.parentId = parentId;
  if (sampled !== undefined) ctx.sampled = sampled;
  return ctx;
}
