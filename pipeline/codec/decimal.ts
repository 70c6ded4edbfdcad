/**
 * Decimal number text read from bytes, exactly as `Number` and `JSON.parse` read it: a mantissa
 * of up to 15 digits divided by an exact power of ten is correctly rounded (one IEEE operation on
 * two exact operands); anything longer, or with an exponent, goes to `Number`.
 */

const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Powers of ten a double holds exactly. */
const EXACT_POWERS = Array.from({ length: 23 }, (_, e) => 10 ** e);
const MAX_EXACT_DIGITS = 15;

/** The value of the number text b[start, end), as `Number` of its text reads it. */
export function decimalAt(b: Buffer, start: number, end: number): number {
  let i = start;
  const negative = b[i] === MINUS;
  if (negative) i++;
  let mantissa = 0;
  let digits = 0;
  let exponent = 0;
  let c = b[i]!;
  for (; i < end && c >= ZERO && c <= NINE; c = b[++i]!) {
    mantissa = mantissa * 10 + (c - ZERO);
    digits++;
  }
  if (i < end && c === DOT)
    for (c = b[++i]!; i < end && c >= ZERO && c <= NINE; c = b[++i]!) {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      exponent--;
    }
  // An exponent, or too many digits for the mantissa to be exact: the runtime's conversion.
  if (i < end || digits === 0 || digits > MAX_EXACT_DIGITS || exponent < -22)
    return Number(b.toString('latin1', start, end));
  const magnitude = exponent < 0 ? mantissa / EXACT_POWERS[-exponent]! : mantissa;
  return negative ? -magnitude : magnitude;
}
