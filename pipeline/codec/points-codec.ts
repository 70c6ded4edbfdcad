/** How batches of points travel on the Bus: a compact JSON array of [metric, tags, ts, value]. */
import { HubError } from '../../core/errors.ts';
import type { MetricPoint, Tags } from '../../core/model.ts';

export function encodePoints(points: readonly MetricPoint[]): Uint8Array {
  const rows = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    rows[i] = [p.metric, p.tags, p.ts, p.value];
  }
  return Buffer.from(JSON.stringify(rows));
}

export function decodePoints(bytes: Uint8Array): MetricPoint[] {
  let rows: unknown;
  try {
    rows = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    throw new HubError('BAD_REQUEST', `A points record is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!Array.isArray(rows)) throw new HubError('BAD_REQUEST', 'A points record must be a JSON array');
  const out = new Array<MetricPoint>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [metric, tags, ts, value] = rows[i] as [string, Tags, number, number];
    out[i] = { metric, tags, ts, value };
  }
  return out;
}
