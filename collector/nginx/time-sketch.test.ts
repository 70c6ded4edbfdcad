import { DDSketch } from '@datadog/sketches-js';
import { describe, expect, it } from 'vitest';
import { RELATIVE_ACCURACY, TimeSketch } from './time-sketch.ts';

/** Deterministic values shaped like nginx request times: ms resolution, log-normal, long tail. */
function times(n: number, seed: number): number[] {
  let a = seed;
  const random = () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648;
  };
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = Math.max(random(), 1e-9);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    const r = random();
    if (r < 0.01) out.push(0);
    else if (r < 0.015) out.push(70 + Math.round(random() * 100_000) / 1000);
    else if (r < 0.02) out.push(random() / 10_000);
    else out.push(Math.round(0.03 * Math.exp(1.2 * z) * 1000) / 1000);
  }
  return out;
}

const QUANTILES = [0, 0.1, 0.5, 0.9, 0.99, 0.999, 1];

describe('TimeSketch', () => {
  it.each([
    [1, 1],
    [10, 2],
    [1_000, 3],
    [50_000, 4],
  ])('gives exactly the DDSketch quantiles of %i values', (n, seed) => {
    const values = times(n, seed);
    const fast = new TimeSketch();
    const reference = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
    for (const v of values) {
      fast.accept(v);
      reference.accept(v);
    }
    const sketch = fast.toDDSketch();
    expect(sketch.count).toBe(reference.count);
    for (const q of QUANTILES) expect(sketch.getValueAtQuantile(q)).toBe(reference.getValueAtQuantile(q));
    expect(fast.max).toBe(Math.max(...values));
  });

  it.each([
    [2_000, 5],
    [100_000, 6],
  ])('keeps every quantile of %i values within the stated relative error', (n, seed) => {
    const values = times(n, seed);
    const sketch = new TimeSketch();
    for (const v of values) sketch.accept(v);
    const sorted = [...values].sort((x, y) => x - y);
    const summary = sketch.summary()!;
    const exact = (q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;
    for (const [q, got] of [
      [0.5, summary.p50],
      [0.9, summary.p90],
      [0.99, summary.p99],
    ] as const) {
      const want = exact(q);
      expect(Math.abs(got - want)).toBeLessThanOrEqual(want * RELATIVE_ACCURACY + 1e-12);
    }
    expect(summary.max).toBe(sorted[sorted.length - 1]);
  });

  it.each([
    [1, 9],
    [20_000, 8],
  ])('summarises %i millisecond times (no DDSketch built) to exactly its quantiles', (n, seed) => {
    const values = times(n, seed).map((v) => Math.min(65, Math.round(v * 1000) / 1000));
    const fast = new TimeSketch();
    const reference = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
    for (const v of values) {
      fast.accept(v);
      reference.accept(v);
    }
    expect(fast.summary()).toEqual({
      p50: reference.getValueAtQuantile(0.5),
      p90: reference.getValueAtQuantile(0.9),
      p99: reference.getValueAtQuantile(0.99),
      max: Math.max(...values),
    });
  });

  it('merges: two halves give the sketch of the whole', () => {
    const values = times(20_000, 7);
    const whole = new TimeSketch();
    const left = new TimeSketch();
    const right = new TimeSketch();
    values.forEach((v, i) => {
      whole.accept(v);
      (i % 2 ? left : right).accept(v);
    });
    left.merge(right);
    expect(left.count).toBe(whole.count);
    expect(left.summary()).toEqual(whole.summary());
  });

  it('is empty until a value comes', () => {
    expect(new TimeSketch().summary()).toBeNull();
  });
});
