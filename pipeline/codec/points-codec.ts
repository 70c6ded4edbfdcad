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
    const row = rows[i] as unknown;
    if (!Array.isArray(row) || row.length !== 4)
      throw new HubError('BAD_REQUEST', `Point ${i} of a points record is not [metric, tags, ts, value]`, {
        where: `[${i}]`,
      });
    const [metric, tags, ts, value] = row as [string, Tags, number, number];
    if (
      typeof metric !== 'string' ||
      typeof ts !== 'number' ||
      typeof value !== 'number' ||
      tags === null ||
      typeof tags !== 'object'
    )
      throw new HubError('BAD_REQUEST', `Point ${i} of a points record has a field of the wrong type`, {
        where: `[${i}]`,
      });
    out[i] = { metric, tags, ts, value };
  }
  return out;
}
