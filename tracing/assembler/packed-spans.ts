/**
 * The merged spans of a trace as the assembler keeps them between batches: numbers in one
 * `Float64Array`, references in one array, ids as numbers. The assembler holds the spans of the
 * last few minutes, which outlive V8's young generation; kept as span objects (each with its id
 * strings and map entry) they made the old generation's collections the largest cost of a busy
 * hub. Packing is lossless: `unpackSpans(packSpans(spans))` equals `spans`.
 */
import type { Tags } from '../../core/model.ts';
import { SPAN_KIND_INDEX, SPAN_KINDS, type TraceSpan } from '../model.ts';

/** Numbers per span: span id (high, low 32 bits), parent id (high, low), flags, start, duration, peer port, local port. */
const NUMS = 9;
/** References per span: name, service, remote service, local IP, peer IP, tags, annotations, span id and parent id as text when not 16 hex digits. */
const REFS = 9;

const KIND_MASK = 7;
const ERROR = 8;
const SHARED = 16;
const DEBUG = 32;
const PARENT = 64;

export type PackedSpans = { readonly nums: Float64Array; readonly refs: unknown[]; readonly count: number };

/** The value of 8 lowercase hex digits of `s` from `from`, or -1. */
function hex8(s: string, from: number): number {
  let v = 0;
  for (let i = from; i < from + 8; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

const hexOf = (v: number) => v.toString(16).padStart(8, '0');

/** Writes an id as two numbers when it is 16 lowercase hex digits; returns false when it is not. */
function putId(nums: Float64Array, at: number, id: string): boolean {
  if (id.length !== 16) return false;
  const hi = hex8(id, 0);
  const lo = hex8(id, 8);
  if (hi < 0 || lo < 0) return false;
  nums[at] = hi;
  nums[at + 1] = lo;
  return true;
}

export function packSpans(spans: readonly TraceSpan[]): PackedSpans {
  const n = spans.length;
  const nums = new Float64Array(n * NUMS);
  const refs = new Array<unknown>(n * REFS);
  for (let i = 0; i < n; i++) {
    const s = spans[i]!;
    const p = i * NUMS;
    const r = i * REFS;
    let flags = SPAN_KIND_INDEX[s.kind];
    if (s.error) flags |= ERROR;
    if (s.shared) flags |= SHARED;
    if (s.debug) flags |= DEBUG;
    if (!putId(nums, p, s.spanId)) refs[r + 7] = s.spanId;
    if (s.parentId !== undefined) {
      flags |= PARENT;
      if (!putId(nums, p + 2, s.parentId)) refs[r + 8] = s.parentId;
    }
    nums[p + 4] = flags;
    nums[p + 5] = s.start;
    nums[p + 6] = s.duration;
    nums[p + 7] = s.peerPort ?? -1;
    nums[p + 8] = s.localPort ?? -1;
    refs[r] = s.name;
    refs[r + 1] = s.service;
    refs[r + 2] = s.remoteService;
    refs[r + 3] = s.localIp;
    refs[r + 4] = s.peerIp;
    refs[r + 5] = s.tags;
    refs[r + 6] = s.annotations;
  }
  return { nums, refs, count: n };
}

export function unpackSpans(packed: PackedSpans, traceId: string): TraceSpan[] {
  const { nums, refs, count } = packed;
  const out = new Array<TraceSpan>(count);
  for (let i = 0; i < count; i++) {
    const p = i * NUMS;
    const r = i * REFS;
    const flags = nums[p + 4]!;
    const s: TraceSpan = {
      traceId,
      spanId: (refs[r + 7] as string | undefined) ?? hexOf(nums[p]!) + hexOf(nums[p + 1]!),
      name: refs[r] as string,
      kind: SPAN_KINDS[flags & KIND_MASK]!,
      service: refs[r + 1] as string,
      start: nums[p + 5]!,
      duration: nums[p + 6]!,
      tags: refs[r + 5] as Tags,
      annotations: refs[r + 6] as TraceSpan['annotations'],
      error: (flags & ERROR) !== 0,
    };
    if (flags & PARENT)
      s.parentId = (refs[r + 8] as string | undefined) ?? hexOf(nums[p + 2]!) + hexOf(nums[p + 3]!);
    if (refs[r + 3] !== undefined) s.localIp = refs[r + 3] as string;
    if (nums[p + 8]! >= 0) s.localPort = nums[p + 8]!;
    if (refs[r + 4] !== undefined) s.peerIp = refs[r + 4] as string;
    if (nums[p + 7]! >= 0) s.peerPort = nums[p + 7]!;
    if (refs[r + 2] !== undefined) s.remoteService = refs[r + 2] as string;
    if (flags & SHARED) s.shared = true;
    if (flags & DEBUG) s.debug = true;
    out[i] = s;
  }
  return out;
}
