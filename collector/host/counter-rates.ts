/**
 * Turns monotonic counters (bytes received so far) into per-second rates. Pure: the caller keeps
 * the returned state and hands it back on the next sample.
 */

/** The last reading of one counter. */
export type CounterReading = { ts: number; value: number };

export type CounterRates = {
  /** Per-second rates of the counters that have one this interval. */
  rates: Map<string, number>;
  /** The readings to hand back next time; counters absent from this sample are forgotten. */
  state: Map<string, CounterReading>;
};

/**
 * Rates of `counters` (key → current value) at `ts` (epoch ms) against `previous`.
 *
 * A counter emits no rate on its first reading, when it went down (a reset: interface re-created,
 * host rebooted, 32-bit wrap), or when time did not move forward; in each case the new reading
 * becomes the baseline. A value that is not a finite non-negative number is dropped with its
 * baseline.
 */
export function counterRates(
  previous: ReadonlyMap<string, CounterReading>,
  ts: number,
  counters: Iterable<readonly [string, number]>,
): CounterRates {
  const rates = new Map<string, number>();
  const state = new Map<string, CounterReading>();
  for (const [key, value] of counters) {
    if (!Number.isFinite(value) || value < 0) continue;
    state.set(key, { ts, value });
    const before = previous.get(key);
    if (!before) continue;
    const seconds = (ts - before.ts) / 1000;
    if (seconds <= 0 || value < before.value) continue;
    rates.set(key, (value - before.value) / seconds);
  }
  return { rates, state };
}
