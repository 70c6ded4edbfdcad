/**
 * Percentiles of nginx times through DDSketch, with a fast front for the hot path.
 *
 * nginx writes times in whole milliseconds, so a value is one of a few tens of thousands. The
 * DDSketch key of each (its log-γ bucket) is computed once into a table, and `accept` only
 * increments a counter per key in a typed array: no logarithm and no growable store per line.
 * `toDDSketch` replays the counters into a real DDSketch (one weighted `accept` per non-empty
 * bucket, with a value of that bucket), so the result is exactly the DDSketch of the same values:
 * mergeable, and each quantile within ±{@link RELATIVE_ACCURACY} of the true value of its rank.
 * Values the table does not cover (over 65.535 s, or finer than a millisecond) go straight into a
 * DDSketch. `max` is exact.
 */
import { DDSketch } from '@datadog/sketches-js';

/** Relative accuracy of every percentile: the returned value is within ±1 % of the true one. */
export const RELATIVE_ACCURACY = 0.01;

const MAX_MS = 65_535;

const newSketch = () => new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });

/**
 * BIN_OF_MS[n]: the bin of n ms (bin 0 holds zero); BIN_VALUE[b]: a value whose DDSketch key is b's;
 * BIN_QUANTILE[b]: the value DDSketch answers for a quantile that falls in b's key.
 */
const { BIN_OF_MS, BIN_VALUE, BIN_QUANTILE } = (() => {
  const mapping = newSketch().mapping;
  const lowest = mapping.key(0.001);
  const bins = mapping.key(MAX_MS / 1000) - lowest + 2;
  const binOfMs = new Uint16Array(MAX_MS + 1);
  const binValue = new Float64Array(bins).fill(-1);
  binValue[0] = 0;
  for (let n = 1; n <= MAX_MS; n++) {
    const bin = mapping.key(n / 1000) - lowest + 1;
    binOfMs[n] = bin;
    if (binValue[bin] === -1) binValue[bin] = n / 1000;
  }
  const binQuantile = new Float64Array(bins);
  for (let b = 1; b < bins; b++) binQuantile[b] = mapping.value(lowest + b - 1);
  return { BIN_OF_MS: binOfMs, BIN_VALUE: binValue, BIN_QUANTILE: binQuantile };
})();

export class TimeSketch {
  count = 0;
  /** Largest value accepted, exact; -Infinity when empty. */
  max = Number.NEGATIVE_INFINITY;
  private bins: Uint32Array | null = null;
  private overflow: DDSketch | null = null;

  /** Adds one time in seconds (non-negative). */
  accept(seconds: number): void {
    this.count++;
    if (seconds > this.max) this.max = seconds;
    const scaled = seconds * 1000;
    const ms = Math.round(scaled);
    if (ms <= MAX_MS && ms - scaled < 1e-7 && scaled - ms < 1e-7) {
      if (this.bins === null) this.bins = new Uint32Array(BIN_VALUE.length);
      this.bins[BIN_OF_MS[ms]!]!++;
      return;
    }
    if (this.overflow === null) this.overflow = newSketch();
    this.overflow.accept(seconds);
  }

  /** Adds every value of `other`. */
  merge(other: TimeSketch): void {
    this.count += other.count;
    if (other.max > this.max) this.max = other.max;
    if (other.bins) {
      if (this.bins === null) this.bins = new Uint32Array(BIN_VALUE.length);
      for (let b = 0; b < other.bins.length; b++) this.bins[b]! += other.bins[b]!;
    }
    if (other.overflow) {
      if (this.overflow === null) this.overflow = newSketch();
      this.overflow.merge(other.overflow);
    }
  }

  /** The DDSketch of every value accepted. */
  toDDSketch(): DDSketch {
    const sketch = newSketch();
    if (this.bins)
      for (let b = 0; b < this.bins.length; b++)
        if (this.bins[b]! > 0) sketch.accept(BIN_VALUE[b]!, this.bins[b]!);
    if (this.overflow) sketch.merge(this.overflow);
    return sketch;
  }

  /** p50, p90, p99 (within the relative accuracy) and the exact max; null when empty. */
  summary(): { p50: number; p90: number; p99: number; max: number } | null {
    if (this.count === 0) return null;
    const bins = this.bins;
    if (bins && !this.overflow)
      return {
        p50: quantileOfBins(bins, this.count, 0.5),
        p90: quantileOfBins(bins, this.count, 0.9),
        p99: quantileOfBins(bins, this.count, 0.99),
        max: this.max,
      };
    const sketch = this.toDDSketch();
    return {
      p50: sketch.getValueAtQuantile(0.5),
      p90: sketch.getValueAtQuantile(0.9),
      p99: sketch.getValueAtQuantile(0.99),
      max: this.max,
    };
  }
}

/**
 * DDSketch's `getValueAtQuantile` on the bins themselves, without building the sketch (the agent
 * summarises every group every interval): the same rank, walked over the same keys in order.
 */
function quantileOfBins(bins: Uint32Array, count: number, quantile: number): number {
  const rank = quantile * (count - 1);
  const zero = bins[0]!;
  if (rank < zero) return 0;
  let running = 0;
  for (let b = 1; b < bins.length; b++) {
    running += bins[b]!;
    if (running > rank - zero) return BIN_QUANTILE[b]!;
  }
  return BIN_QUANTILE[bins.length - 1]!;
}
