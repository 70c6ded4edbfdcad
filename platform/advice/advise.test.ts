import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { createAdvisor } from './advise.ts';

const MIB = 1024 * 1024;
const MINUTE = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

/**
 * Near-linear buckets so the arithmetic can be done by hand: CPU bounds 0.1, 0.2, 0.3… cores,
 * memory bounds 64, 128, 192… MiB (a ratio of 1 + 1e-9 is as good as equal widths here).
 */
const linear = { cpuBuckets: { firstBucket: 0.1, ratio: 1 + 1e-9, maxBuckets: 400 } };
const linearMem = { memBuckets: { firstBucket: 64 * MIB, ratio: 1 + 1e-9, maxBuckets: 400 } };

/** Feeds `days` of one observation a minute; every instance the same. */
function feed(
  advisor: ReturnType<typeof createAdvisor>,
  app: string,
  days: number,
  instances: number,
  usage: { cpu?: number; memBytes?: number },
) {
  const end = T0 + days * DAY;
  for (let ts = T0; ts <= end; ts += MINUTE) advisor.observe(app, ts, Array(instances).fill(usage));
  return end;
}

describe('capacity advice: arithmetic', () => {
  // 4 instances at 0.43 cores and 300 MiB each: per-instance p90 in the 0.5 bucket, p95 memory in
  // the 320 MiB bucket; total 1.72 cores in the 1.8 bucket.
  const clock = new FakeClock(T0);
  const advisor = createAdvisor({ clock, ...linear, ...linearMem });
  clock.advance(feed(advisor, '/shop/web', 1, 4, { cpu: 0.43, memBytes: 300 * MIB }) - T0);

  it('recommends percentile × (1 + margin) per instance and sizes the count from the total', () => {
    const a = advisor.advise('/shop/web', { cpus: 2, mem: 1024, instances: 4 })!;
    // 0.5 × 1.15 = 0.575 → 0.58 cores; 320 MiB × 1.15 = 368 MiB;
    // ceil(1.8 / (0.58 × 0.7)) = ceil(4.43) = 5 instances.
    expect(a.recommended).toEqual({ cpus: 0.58, mem: 368, instances: 5 });
    expect(a.samples).toBe((24 * 60 + 1) * 4);
    expect(a.historyMs).toBe(DAY);
  });

  it('counts waste at today’s setting: (current − recommended) × 24', () => {
    const a = advisor.advise('/shop/web', { cpus: 2, mem: 1024, instances: 4 })!;
    // (2 × 4 − 0.58 × 5) × 24 = 122.4 core-hours; (1024 × 4 − 368 × 5) / 1024 × 24 = 52.875 GiB-hours.
    expect(a.waste.coreHoursPerDay).toBeCloseTo(122.4, 9);
    expect(a.waste.gibHoursPerDay).toBeCloseTo(52.875, 9);
  });

  it('shows a shortfall as negative waste', () => {
    const a = advisor.advise('/shop/web', { cpus: 0.25, mem: 256, instances: 2 })!;
    // (0.5 − 2.9) × 24 = −57.6; (512 − 1840) / 1024 × 24 = −31.125.
    expect(a.waste.coreHoursPerDay).toBeCloseTo(-57.6, 9);
    expect(a.waste.gibHoursPerDay).toBeCloseTo(-31.125, 9);
  });

  it('gives the distribution as evidence, shares of the total, memory bounds in MiB', () => {
    const a = advisor.advise('/shop/web', { cpus: 2, mem: 1024, instances: 4 })!;
    expect(a.evidence.cpu).toHaveLength(1);
    expect(a.evidence.cpu[0]!.le).toBeCloseTo(0.5, 6);
    expect(a.evidence.cpu[0]!.weight).toBeCloseTo(1, 12);
    expect(a.evidence.mem.map((b) => Math.round(b.le))).toEqual([320]);
  });

  it('advises one instance for an idle app, and keeps today’s memory when none was reported', () => {
    const idle = createAdvisor({ clock }); // default buckets: the first ends at 0.01 core
    feed(idle, '/shop/idle', 0.01, 3, { cpu: 0 });
    const a = idle.advise('/shop/idle', { cpus: 1, mem: 512, instances: 3 })!;
    // 0.01 × 1.15 → 0.02 cores; ceil(0.01 / (0.02 × 0.7)) = 1.
    expect(a.recommended).toEqual({ cpus: 0.02, mem: 512, instances: 1 });
  });
});

describe('capacity advice: confidence bounds', () => {
  const widthAfter = (days: number) => {
    const clock = new FakeClock(T0);
    const advisor = createAdvisor({ clock, ...linear, ...linearMem });
    clock.advance(feed(advisor, '/a/b', days, 2, { cpu: 0.43, memBytes: 300 * MIB }) - T0);
    const a = advisor.advise('/a/b', { cpus: 1, mem: 512, instances: 2 })!;
    return { bounds: a.bounds, rec: a.recommended };
  };

  it('is ×/÷ (1 + 1/days) around the estimate: a day gives ×/÷ 2, four days ×/÷ 1.25', () => {
    const one = widthAfter(1);
    expect(one.rec.cpus).toBe(0.58);
    expect(one.bounds.cpus).toEqual({ low: 0.29, high: 1.16 });
    expect(one.bounds.mem).toEqual({ low: 184, high: 736 });
    const four = widthAfter(4);
    expect(four.bounds.cpus).toEqual({ low: 0.46, high: 0.73 }); // 0.58 / 1.25 = 0.464; 0.58 × 1.25 = 0.725
    expect(four.bounds.mem).toEqual({ low: 294, high: 460 });
  });

  it('narrows as history grows', () => {
    const widths = [0.25, 1, 3, 7].map((d) => {
      const { bounds } = widthAfter(d);
      return bounds.cpus.high - bounds.cpus.low;
    });
    for (let i = 1; i < widths.length; i++) expect(widths[i]!).toBeLessThan(widths[i - 1]!);
  });
});

describe('capacity advice: decay, staleness, persistence', () => {
  it('follows a change of load within days: recent usage outweighs the older week', () => {
    const clock = new FakeClock(T0);
    const advisor = createAdvisor({ clock, ...linear });
    const mid = feed(advisor, '/a/b', 7, 1, { cpu: 0.15 });
    for (let ts = mid + MINUTE; ts <= mid + 3 * DAY; ts += MINUTE)
      advisor.observe('/a/b', ts, [{ cpu: 0.95 }]);
    clock.advance(3 * DAY + 7 * DAY);
    // Undecayed, the 3 days at 0.95 would be 30 % of the weight; with a 24 h half-life they are
    // (1 − 2^−3) / ((1 − 2^−3) + 2^−3 (1 − 2^−7)) ≈ 88 %.
    const a = advisor.advise('/a/b', { cpus: 1, mem: 512, instances: 1 })!;
    expect(a.evidence.cpu.at(-1)!.weight).toBeGreaterThan(0.85);
  });

  it('gives nothing for an unknown app, nor for one silent longer than staleAfterMs', () => {
    const clock = new FakeClock(T0);
    const advisor = createAdvisor({ clock, staleAfterMs: DAY });
    expect(advisor.advise('/x/y', { cpus: 1, mem: 1, instances: 1 })).toBeUndefined();
    advisor.observe('/x/y', T0, [{ cpu: 0.2 }]);
    expect(advisor.advise('/x/y', { cpus: 1, mem: 1, instances: 1 })).toBeDefined();
    clock.advance(DAY + 1);
    expect(advisor.advise('/x/y', { cpus: 1, mem: 1, instances: 1 })).toBeUndefined();
    expect(advisor.apps()).toEqual(['/x/y']);
    advisor.forget('/x/y');
    expect(advisor.apps()).toEqual([]);
  });

  it('survives a restart through toJSON/load with the same advice', () => {
    const clock = new FakeClock(T0);
    const advisor = createAdvisor({ clock });
    clock.advance(feed(advisor, '/a/b', 1, 3, { cpu: 0.7, memBytes: 700 * MIB }) - T0);
    const again = createAdvisor({ clock });
    again.load(JSON.parse(JSON.stringify(advisor.toJSON())));
    const current = { cpus: 1, mem: 1024, instances: 3 };
    expect(again.advise('/a/b', current)).toEqual(advisor.advise('/a/b', current));
    expect(() => again.load({ v: 1, apps: { '/a/b': { first: 'x' } } })).toThrow(HubError);
    expect(() => again.load(null)).toThrow(/Not saved advisor state/);
  });
});
