/** Raw points as stored: sealed chunks and late rows, merged into one run in series, time order. */
import { decodeChunk } from './chunk-codec.ts';
import type { Columns } from './duck-points.ts';

/**
 * Every point of the chunks (`sids[c]`, `data[c]`, ordered by series then start) and of the late
 * rows (ordered by series then time) with start ≤ ts ≤ end, in series then time order. A late
 * point at the time of a chunk's point follows it: readers keep the last. `where` names the file
 * in errors.
 */
export function mergeRaw(
  sids: readonly number[],
  data: readonly Uint8Array[],
  late: Columns,
  start: number,
  end: number,
  where: string,
): Columns {
  const out: Columns = { sid: [], ts: [], value: [] };
  let j = 0;
  const lateUpTo = (sid: number, ts: number) => {
    while (j < late.ts.length && (late.sid[j]! < sid || (late.sid[j] === sid && late.ts[j]! <= ts))) {
      out.sid.push(late.sid[j]!);
      out.ts.push(late.ts[j]!);
      out.value.push(late.value[j]!);
      j++;
    }
  };
  for (let c = 0; c < sids.length; c++) {
    const sid = sids[c]!;
    const points = decodeChunk(data[c]!, `chunk of series ${sid} in ${where}`);
    for (let i = 0; i < points.ts.length; i++) {
      const t = points.ts[i]!;
      if (t < start || t > end) continue;
      lateUpTo(sid, t - 1);
      out.sid.push(sid);
      out.ts.push(t);
      out.value.push(points.values[i]!);
      lateUpTo(sid, t);
    }
  }
  lateUpTo(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return out;
}
