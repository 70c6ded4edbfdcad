/**
 * `JSON.parse` of a request body that is a JSON array, without one string of the whole body.
 *
 * V8 keeps a string of more than about 128 KiB in its large-object space: each one is mapped on
 * its own and filled through page faults, about 200 MB/s against 10 GB/s for smaller strings
 * (a 1,000-span Zipkin batch is 370 KB). So the body is cut after every `pieceBytes` at the next
 * `},{` and each piece is parsed as an array of its own. A cut that falls inside a string or a
 * nested value leaves a piece that does not parse; the whole body is then parsed at once, so the
 * answer, and the error of a bad body, are those of `JSON.parse`.
 */

const CUT = Buffer.from('},{');
const OPEN = 0x5b;

function parsePiece(text: string): unknown[] | undefined {
  try {
    return JSON.parse(text) as unknown[];
  } catch {
    return undefined;
  }
}

/** Whether a body holds nothing but JSON's whitespace (or nothing at all). */
export function isBlankBody(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return false;
  return true;
}

export function parseJsonBody(bytes: Uint8Array, pieceBytes = 65_536): unknown {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const whole = () => JSON.parse(buf.toString('utf8')) as unknown;
  if (buf.length <= pieceBytes || buf[0] !== OPEN) return whole();
  const out: unknown[] = [];
  let start = 1;
  for (;;) {
    const cut = buf.length - start > pieceBytes ? buf.indexOf(CUT, start + pieceBytes) : -1;
    // The last piece keeps the body's closing bracket (and whatever follows it).
    const piece = parsePiece(
      cut < 0 ? `[${buf.toString('utf8', start)}` : `[${buf.toString('utf8', start, cut + 1)}]`,
    );
    if (!piece) return whole();
    for (const v of piece) out.push(v);
    if (cut < 0) return out;
    start = cut + 2;
  }
}

/** `whenBlank` for a body of nothing but whitespace, else the body parsed as `parseJsonBody` does. */
export function parseJsonBodyOr(bytes: Uint8Array, whenBlank: unknown): unknown {
  return isBlankBody(bytes) ? whenBlank : parseJsonBody(bytes);
}
