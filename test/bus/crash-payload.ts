/** The record the crash publisher writes for an id, so the test can check it came back intact. */
import { createHash } from 'node:crypto';

export const CRASH_TOPIC = 'crash';

export function crashPayload(id: string): Uint8Array {
  const digest = createHash('sha256').update(id).digest();
  const size = 16 + (digest[0]! % 200) * 4;
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += digest.length) digest.copy(out, i, 0, Math.min(digest.length, size - i));
  out.write(id, 0, 'utf8');
  return out;
}
