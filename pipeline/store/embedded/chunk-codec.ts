/**
 * The bytes of one chunk: up to a few hundred points of one series, in time order.
 *
 * Timestamps: the first, the first delta, then delta-of-deltas bit-packed at one width (a
 * regular interval packs to zero bits). Values: when every value is a decimal with at most 9
 * places (`v × 10^k` an exact integer), the integers' deltas or delta-of-deltas (whichever packs
 * smaller), divided by their greatest common divisor (byte counts in whole pages), bit-packed at
 * one width. Other values (NaN, ±Infinity, -0, long fractions) are kept as their 8 bytes, XORed
 * with the previous value and deflated.
 *
 * Integers go through Number arithmetic (not 32-bit operators): timestamps and scaled values
 * up to 2^51 in magnitude are exact.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

const VERSION = 1;
const MODE_DECIMAL = 0;
const MODE_XOR = 1;
const MAX_SCALE = 9;
/** Scaled integers and their differences stay below this, so zigzag and sums are exact. */
const LIMIT = 2 ** 51;

class ByteWriter {
  buf = new Uint8Array(256);
  len = 0;
  /** Bits not yet flushed, and how many. */
  private acc = 0;
  private nbits = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** A non-negative integer below 2^53, 7 bits per byte. */
  varint(x: number): void {
    this.ensure(8);
    while (x >= 128) {
      this.buf[this.len++] = (x % 128) + 128;
      x = Math.floor(x / 128);
    }
    this.buf[this.len++] = x;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** `x` (below 2^width, width ≤ 53) in `width` bits, least significant first. */
  bits(x: number, width: number): void {
    while (width > 24) {
      this.bits(x % 2 ** 24, 24);
      x = Math.floor(x / 2 ** 24);
      width -= 24;
    }
    // Fewer than 8 bits wait, and x is below 2^24: the sum is below 2^32, so 32-bit operators
    // (much cheaper than % and / on doubles) are exact on it.
    let acc = this.acc + x * (1 << this.nbits);
    let nbits = this.nbits + width;
    this.ensure(4);
    while (nbits >= 8) {
      this.buf[this.len++] = acc & 255;
      acc >>>= 8;
      nbits -= 8;
    }
    this.acc = acc;
    this.nbits = nbits;
  }

  /** Ends a run of bits on a byte boundary. */
  flushBits(): void {
    if (this.nbits > 0) this.byte(this.acc);
    this.acc = 0;
    this.nbits = 0;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class ByteReader {
  pos = 0;
  private acc = 0;
  private nbits = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly where: string,
  ) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new Error(`${this.where}: chunk ends early`);
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let x = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      x += (b & 127) * scale;
      if (b < 128) return x;
      scale *= 128;
    }
  }

  bits(width: number): number {
    if (width > 24) {
      const lo = this.bits(24);
      return lo + this.bits(width - 24) * 2 ** 24;
    }
    while (this.nbits < width) {
      this.acc += this.byte() * 2 ** this.nbits;
      this.nbits += 8;
    }
    const scale = 2 ** width;
    const x = this.acc % scale;
    this.acc = Math.floor(this.acc / scale);
    this.nbits -= width;
    return x;
  }

  alignBits(): void {
    this.acc = 0;
    this.nbits = 0;
  }

  rest(): Uint8Array {
    return this.buf.subarray(this.pos);
  }
}

const zigzag = (x: number) => (x >= 0 ? 2 * x : -2 * x - 1);
const unzigzag = (z: number) => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

/** Bits needed for the largest of `xs` (non-negative integers). */
function widthOf(xs: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < xs.length; i++) if (xs[i]! > max) max = xs[i]!;
  let w = 0;
  while (max >= 1) {
    max = Math.floor(max / 2);
    w++;
  }
  return w;
}

/** The greatest common divisor of two non-negative integers (0 with 0 gives 0). */
function gcd(a: number, b: number): number {
  if (a < 2 ** 31 && b < 2 ** 31) {
    // Int32 remainders: % on doubles is a call into the runtime.
    let x = a | 0;
    let y = b | 0;
    while (y !== 0) {
      const t = x % y;
      x = y;
      y = t;
    }
    return x;
  }
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** The values × 10^k as exact integers for the smallest k that works, or undefined. */
function scaled(values: ArrayLike<number>, n: number): { k: number; ints: Float64Array } | undefined {
  const ints = new Float64Array(n);
  for (let k = 0; k <= MAX_SCALE; k++) {
    const p = 10 ** k;
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const v = values[i]!;
      const x = Math.round(v * p);
      if (!(Math.abs(x) < LIMIT) || Object.is(x, -0) || !Object.is(x / p, v)) ok = false;
      else ints[i] = x;
    }
    if (ok) return { k, ints };
  }
  return undefined;
}

/** Differences of the given order (1 or 2) from index `order`, zigzagged and divided by their gcd. */
function differences(
  ints: Float64Array,
  order: 1 | 2,
): { zs: Float64Array; divisor: number; width: number; bytes: number } | undefined {
  const n = ints.length;
  const out = new Float64Array(Math.max(0, n - order));
  let g = 0;
  for (let i = order; i < n; i++) {
    const d1 = ints[i]! - ints[i - 1]!;
    const d = order === 1 ? d1 : d1 - (ints[i - 1]! - ints[i - 2]!);
    if (Math.abs(d) >= LIMIT) return undefined;
    out[i - order] = d;
    // Once 1, the divisor stays 1.
    if (g !== 1) g = gcd(g, Math.abs(d));
  }
  const divisor = g === 0 ? 1 : g;
  for (let i = 0; i < out.length; i++) out[i] = zigzag(out[i]! / divisor);
  const width = widthOf(out);
  return { zs: out, divisor, width, bytes: Math.ceil((width * out.length) / 8) };
}

/** The bytes of points `ts` (ascending, distinct) and `values`, both of length n ≥ 1. */
export function encodeChunk(ts: ArrayLike<number>, values: ArrayLike<number>, n: number): Uint8Array {
  const w = new ByteWriter();
  w.byte(VERSION);
  w.varint(n);
  w.varint(zigzag(ts[0]!));
  if (n >= 2) {
    w.varint(zigzag(ts[1]! - ts[0]!));
    const dods = new Float64Array(n - 2);
    for (let i = 2; i < n; i++) dods[i - 2] = zigzag(ts[i]! - ts[i - 1]! - (ts[i - 1]! - ts[i - 2]!));
    const width = widthOf(dods);
    w.byte(width);
    for (let i = 0; i < dods.length; i++) w.bits(dods[i]!, width);
    w.flushBits();
  }
  const dec = scaled(values, n);
  const first = dec && differences(dec.ints, 1);
  const second = dec && n >= 3 ? differences(dec.ints, 2) : undefined;
  const best = first && second && second.bytes < first.bytes ? second : first;
  if (dec && best) {
    const order = best === first ? 1 : 2;
    w.byte(MODE_DECIMAL);
    w.byte(dec.k);
    w.byte(order);
    w.varint(zigzag(dec.ints[0]!));
    if (order === 2) w.varint(zigzag(dec.ints[1]! - dec.ints[0]!));
    w.varint(best.divisor);
    w.byte(best.width);
    for (let i = 0; i < best.zs.length; i++) w.bits(best.zs[i]!, best.width);
    w.flushBits();
    return w.result();
  }
  w.byte(MODE_XOR);
  const raw = new Float64Array(n);
  for (let i = 0; i < n; i++) raw[i] = values[i]!;
  const words = new Uint32Array(raw.buffer);
  for (let i = words.length - 1; i >= 2; i--) words[i] = words[i]! ^ words[i - 2]!;
  w.bytes(deflateRawSync(new Uint8Array(raw.buffer)));
  return w.result();
}

/** The points of a chunk; `where` names it in errors. */
export function decodeChunk(data: Uint8Array, where = 'chunk'): { ts: Float64Array; values: Float64Array } {
  const r = new ByteReader(data, where);
  const version = r.byte();
  if (version !== VERSION) throw new Error(`${where}: unknown chunk version ${version}`);
  const n = r.varint();
  const ts = new Float64Array(n);
  const values = new Float64Array(n);
  if (n === 0) return { ts, values };
  ts[0] = unzigzag(r.varint());
  if (n >= 2) {
    let delta = unzigzag(r.varint());
    ts[1] = ts[0] + delta;
    const width = r.byte();
    for (let i = 2; i < n; i++) {
      delta += width === 0 ? 0 : unzigzag(r.bits(width));
      ts[i] = ts[i - 1]! + delta;
    }
    r.alignBits();
  }
  const mode = r.byte();
  if (mode === MODE_DECIMAL) {
    const p = 10 ** r.byte();
    const order = r.byte();
    let x = unzigzag(r.varint());
    values[0] = x / p;
    let delta = order === 2 && n >= 2 ? unzigzag(r.varint()) : 0;
    const divisor = r.varint();
    const width = r.byte();
    for (let i = 1; i < n; i++) {
      if (order === 2 && i === 1) {
        x += delta;
      } else {
        const d = (width === 0 ? 0 : unzigzag(r.bits(width))) * divisor;
        if (order === 1) x += d;
        else {
          delta += d;
          x += delta;
        }
      }
      values[i] = x / p;
    }
    return { ts, values };
  }
  if (mode !== MODE_XOR) throw new Error(`${where}: unknown value encoding ${mode}`);
  const raw = inflateRawSync(r.rest());
  if (raw.length !== n * 8) throw new Error(`${where}: ${raw.length} value bytes for ${n} points`);
  const words = new Uint32Array(values.buffer);
  const src = new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  for (let i = 0; i < words.length; i++) words[i] = i >= 2 ? src[i]! ^ words[i - 2]! : src[i]!;
  return { ts, values };
}
