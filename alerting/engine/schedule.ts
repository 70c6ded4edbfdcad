/**
 * When inside its interval each rule is evaluated: pure functions, so the plan can be tested
 * without a clock.
 *
 * Evaluating every rule of an interval at once makes the last rule of a large set wait for all
 * the others, and its alerts with it. The rules of one interval are therefore cut into slices of
 * about `sliceRules` rules, spread evenly over the interval, and each rule is evaluated at the
 * start of the slice its name hashes to (as Prometheus offsets each group by a hash of its name).
 * The offset is stable across restarts and processes, so a rule keeps its rhythm. With at most
 * `sliceRules` rules of an interval there is one slice and every offset is 0: slots are
 * epoch-aligned, as they were before spreading.
 */

/** The shortest slice, ms: finer ticks would cost more than they save. */
export const MIN_SLICE_MS = 250;

/** Rules per slice by default: a slice of the bench's rules takes some 100 ms. */
export const DEFAULT_SLICE_RULES = 500;

export type Schedulable = { name: string; intervalMs: number };

export type Plan = {
  /** Offset of each rule inside its interval, ms, by name. */
  offsets: Map<string, number>;
  /** Period of the engine's timer: divides every interval and slice length. */
  tickMs: number;
};

/** 32-bit FNV-1a of a string. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The length of one slice for `count` rules of interval `intervalMs`. */
export function sliceLength(intervalMs: number, count: number, sliceRules: number): number {
  const slices = Math.ceil(count / Math.max(1, sliceRules));
  if (slices <= 1) return intervalMs;
  const length = Math.floor(intervalMs / slices / MIN_SLICE_MS) * MIN_SLICE_MS;
  return Math.min(intervalMs, Math.max(MIN_SLICE_MS, length));
}

export function planOffsets(rules: Iterable<Schedulable>, sliceRules = DEFAULT_SLICE_RULES): Plan {
  const byInterval = new Map<number, string[]>();
  for (const r of rules) {
    const names = byInterval.get(r.intervalMs) ?? [];
    names.push(r.name);
    byInterval.set(r.intervalMs, names);
  }
  const offsets = new Map<string, number>();
  let g = 0;
  let spread = false;
  for (const [interval, names] of byInterval) {
    const length = sliceLength(interval, names.length, sliceRules);
    const slices = Math.floor(interval / length);
    spread ||= slices > 1;
    for (const name of names) offsets.set(name, (nameHash(name) % slices) * length);
    g = gcd(gcd(g, interval), length);
  }
  // Unspread, the tick stays at least 1 s (the shortest rule interval), as it always was.
  return { offsets, tickMs: Math.max(spread ? MIN_SLICE_MS : 1000, g || 10_000) };
}

/** The slot (count of intervals since the epoch, shifted by the offset) that `at` falls in. */
export function slotOf(at: number, intervalMs: number, offsetMs: number): number {
  return Math.floor((at - offsetMs) / intervalMs);
}
