/**
 * Reading JSON byte by byte, for `zipkin-scan.ts`: only the plain forms it takes (strings of
 * printable ASCII without escapes, non-negative integers as digits, `true`, `false`, `null`).
 * Every reader returns the position after what it read, or `SLOW` when the bytes are in another
 * form (or not JSON): the caller then leaves them to `JSON.parse`.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Bytes in another form than the plain one: read the usual way. The modules that read with this
 * one keep their own copies of it and of the byte values: V8 does not fold a constant imported
 * from another module into a hot loop (the split scanner took 30 % more time until its modules kept
 * their own constants and its span fields were named properties instead of arrays indexed by
 * imported ones).
 */
export const SLOW = -1;

export const bytesOf = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const NULL = bytesOf('null');
const TRUE = bytesOf('true');
const FALSE = bytesOf('false');

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * `done(p)`: a reader of a member list (`next`, `opening`) says it ended and reading goes on at
 * `p`; told apart from a position (≥ 0) and `SLOW` (−1) by being −2 or less.
 */
const done = (p: number): number => -(p + 1);
export const after = (code: number): number => -code - 1;

export class JsonBytes {
  protected b: Uint8Array = new Uint8Array(0);
  /** The last string read: its bytes in [sa, sb) (−1 for null). */
  protected sa = 0;
  protected sb = 0;
  /** The last number read: its value, its digits in [na, nb) (−1 for null). */
  protected num = 0;
  protected na = 0;
  protected nb = 0;

  ws(i: number): number {
    const b = this.b;
    while (i < b.length && isSpace(b[i]!)) i++;
    return i;
  }

  /** The end of the JSON value at `i` (not checked: `JSON.parse` does), or −1. */
  skip(i: number): number {
    const b = this.b;
    let depth = 0;
    for (; i < b.length; i++) {
      const c = b[i]!;
      if (c === QUOTE) {
        for (i++; i < b.length && b[i] !== QUOTE; i++) if (b[i] === BACKSLASH) i++;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (depth === 0) return i;
        if (--depth === 0) return i + 1;
      } else if (c === COMMA && depth === 0) return i;
    }
    return depth === 0 ? i : -1;
  }

  /** A string of printable ASCII without escapes at `i`. */
  protected str(i: number): number {
    const b = this.b;
    if (b[i] !== QUOTE) return SLOW;
    const a = i + 1;
    for (i = a; i < b.length; i++) {
      const c = b[i]!;
      if (c === QUOTE) {
        this.sa = a;
        this.sb = i;
        return i + 1;
      }
      if (c === BACKSLASH || c < 0x20 || c > 0x7e) return SLOW;
    }
    return SLOW;
  }

  /** Digits at `i`: a non-negative safe integer, without a fraction or exponent after it. */
  protected digits(i: number): number {
    const b = this.b;
    const a = i;
    let v = 0;
    while (i < b.length && b[i]! >= ZERO && b[i]! <= NINE) v = v * 10 + (b[i++]! - ZERO);
    const n = i - a;
    if (n === 0 || n > 16 || (n > 1 && b[a] === ZERO) || v > Number.MAX_SAFE_INTEGER) return SLOW;
    this.num = v;
    this.na = a;
    this.nb = i;
    return i;
  }

  protected word(i: number, w: Uint8Array): boolean {
    const b = this.b;
    for (let k = 0; k < w.length; k++) if (b[i + k] !== w[k]) return false;
    return true;
  }

  /** Whether the last string read is `w`. */
  protected is(w: Uint8Array): boolean {
    return this.sb - this.sa === w.length && this.word(this.sa, w);
  }

  /** After a key's closing quote: past the colon and the space around it. */
  protected colon(i: number): number {
    i = this.ws(i);
    if (this.b[i] !== COLON) return SLOW;
    return this.ws(i + 1);
  }

  /** After a member's value: the next key's opening quote, or `done` after the closing `close`. */
  protected next(i: number, close: number): number {
    i = this.ws(i);
    const c = this.b[i];
    if (c === COMMA) {
      i = this.ws(i + 1);
      return this.b[i] === QUOTE ? i : SLOW;
    }
    return c === close ? done(i + 1) : SLOW;
  }

  /** `null` at `i`: after it, else −1. */
  protected nul(i: number): number {
    return this.word(i, NULL) ? i + 4 : -1;
  }

  protected strOrNull(i: number): number {
    const n = this.nul(i);
    if (n < 0) return this.str(i);
    this.sa = this.sb = -1;
    return n;
  }

  protected digitsOrNull(i: number): number {
    const n = this.nul(i);
    if (n < 0) return this.digits(i);
    this.num = 0;
    this.na = this.nb = -1;
    return n;
  }

  /** true, false or null, with the value in `num` (1 for true). */
  protected flag(i: number): number {
    this.num = 0;
    if (this.word(i, TRUE)) {
      this.num = 1;
      return i + 4;
    }
    if (this.word(i, FALSE)) return i + 5;
    return this.nul(i) >= 0 ? i + 4 : SLOW;
  }

  /**
   * At `null`, an empty object or array (`open`, `close`), or the start of a non-empty one: the
   * position of its first member, or `done` after a null or empty one.
   */
  protected opening(i: number, open: number, close: number): number {
    const n = this.nul(i);
    if (n >= 0) return done(n);
    if (this.b[i] !== open) return SLOW;
    i = this.ws(i + 1);
    return this.b[i] === close ? done(i + 1) : i;
  }
}
