/** Points that arrive at or before their series' last sealed chunk: which of them are new. */
import type { Columns, DuckPoints } from './duck-points.ts';
import type { HotWindow } from './hot-window.ts';

export type Candidate = { sid: number; ts: number; value: number };

/**
 * The points among `candidates` that the store does not hold yet (same series, time and value),
 * the last of a batch winning: the in-memory window answers for its range, the file for older ones.
 */
export async function latePoints(
  candidates: readonly Candidate[],
  hot: HotWindow,
  duck: Pick<DuckPoints, 'readRaw'>,
): Promise<Columns> {
  const late: Columns = { sid: [], ts: [], value: [] };
  if (candidates.length === 0) return late;
  const last = new Map<string, Candidate>();
  for (const c of candidates) last.set(`${c.sid}:${c.ts}`, c);
  /** Durable values older than the hot window, read from the file in one go. */
  const older = new Map<string, number>();
  const cold = [...last.values()].filter((c) => c.ts < hot.from);
  if (cold.length > 0) {
    const sids = [...new Set(cold.map((c) => c.sid))];
    let from = Number.POSITIVE_INFINITY;
    for (const c of cold) if (c.ts < from) from = c.ts;
    const stored = await duck.readRaw(sids, from, hot.from - 1);
    for (let i = 0; i < stored.ts.length; i++)
      older.set(`${stored.sid[i]}:${stored.ts[i]}`, stored.value[i]!);
  }
  for (const [key, c] of last) {
    const held = c.ts >= hot.from ? hot.valueAt(c.sid, c.ts) : older.get(key);
    if (held !== undefined && Object.is(held, c.value)) continue;
    late.sid.push(c.sid);
    late.ts.push(c.ts);
    late.value.push(c.value);
  }
  return late;
}
