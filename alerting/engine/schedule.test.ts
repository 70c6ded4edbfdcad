import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { parseRuleFile } from '../rules/load.ts';
import { createRuleEngine } from './engine.ts';
import { MIN_SLICE_MS, planOffsets, slotOf } from './schedule.ts';
import { createFeedSource, createRecordingSink } from './testing.ts';

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;
const rules = (n: number, intervalMs = 10 * S) =>
  Array.from({ length: n }, (_, i) => ({ name: `R${i}`, intervalMs }));

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('planOffsets', () => {
  it.each([
    { n: 1, tick: 10 * S },
    { n: 500, tick: 10 * S },
  ])('$n rules of 10 s: one slice, every offset 0, a 10 s tick', ({ n, tick }) => {
    const plan = planOffsets(rules(n));
    expect(new Set(plan.offsets.values())).toEqual(new Set([0]));
    expect(plan.tickMs).toBe(tick);
  });

  it('10,000 rules of 10 s: 20 slices of 500 ms, each with about 500 rules', () => {
    const plan = planOffsets(rules(10_000));
    expect(plan.tickMs).toBe(500);
    const perSlice = new Map<number, number>();
    for (const o of plan.offsets.values()) perSlice.set(o, (perSlice.get(o) ?? 0) + 1);
    expect([...perSlice.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, k) => k * 500));
    for (const count of perSlice.values()) expect(count).toBeGreaterThan(400);
    for (const count of perSlice.values()) expect(count).toBeLessThan(600);
  });

  it('a rule keeps its offset across plans, and slices never get shorter than the minimum', () => {
    const a = planOffsets(rules(10_000));
    const b = planOffsets([...rules(10_000)].reverse());
    expect(b.offsets.get('R42')).toBe(a.offsets.get('R42'));
    const dense = planOffsets(rules(20_000, 2 * S));
    expect(dense.tickMs).toBe(MIN_SLICE_MS);
    for (const o of dense.offsets.values()) expect(o % MIN_SLICE_MS === 0 && o < 2 * S).toBe(true);
  });

  it('each interval is planned on its own; the tick divides every interval and slice', () => {
    const plan = planOffsets([...rules(3, 15 * S), { name: 'slow', intervalMs: 60 * S }], 1);
    for (const [name, o] of plan.offsets) expect(o).toBeLessThan(name === 'slow' ? 60 * S : 15 * S);
    expect(plan.offsets.get('slow')).toBe(0);
    expect((15 * S) % plan.tickMs).toBe(0);
    expect(plan.tickMs).toBe(5 * S);
  });
});

describe('rule engine with spread evaluation (fake clock)', () => {
  const RULES = Array.from(
    { length: 4 },
    (_, i) => `  - name: Hot${i}\n    expr: max:cpu${i}{host=*} > 90\n    lookback: 30s`,
  );

  it('evaluates each rule at its offset, once per interval, and sends its alert before the others are evaluated', async () => {
    const clock = new FakeClock(T0);
    const feed = createFeedSource();
    for (let i = 0; i < 4; i++) feed.add(`cpu${i}`, { host: 'h1' }, T0 - S, 50);
    const asked: { metric: string; at: number }[] = [];
    const sink = createRecordingSink();
    const engine = createRuleEngine({
      source: {
        query(q) {
          for (const sub of q.queries) asked.push({ metric: sub.metric, at: clock.now() });
          return feed.query(q);
        },
      },
      sink,
      clock,
      rules: parseRuleFile(`rules:\n${RULES.join('\n')}\n`, 'spread.yaml').rules,
      sliceRules: 1,
    });
    await engine.start();
    await engine.idle();
    stops.push(() => engine.stop());
    const plan = planOffsets(
      engine.rules().map((r) => ({ name: r.name, intervalMs: 10 * S })),
      1,
    );
    const offsetOf = (i: number) => plan.offsets.get(`Hot${i}`)!;
    expect(new Set([0, 1, 2, 3].map(offsetOf)).size).toBeGreaterThan(1);

    // Every series crosses the threshold just after the first evaluation.
    for (let i = 0; i < 4; i++) feed.add(`cpu${i}`, { host: 'h1' }, T0 + 1, 95);
    asked.length = 0;
    const pagedAt = new Map<string, number>();
    for (let t = 0; t < 30 * S; t += MIN_SLICE_MS) {
      clock.advance(MIN_SLICE_MS);
      await engine.idle();
      for (const a of sink.pages) if (!pagedAt.has(a.rule)) pagedAt.set(a.rule, clock.now());
    }

    for (let i = 0; i < 4; i++) {
      const times = asked.filter((q) => q.metric === `cpu${i}`).map((q) => q.at);
      // Once per interval, each time at the rule's offset inside it.
      expect(times).toHaveLength(3);
      expect(new Set(times.map((at) => slotOf(at, 10 * S, offsetOf(i)))).size).toBe(3);
      for (const at of times) expect((at - T0) % (10 * S)).toBe(offsetOf(i));
      // Paged at the rule's first evaluation after the crossing, not at the end of a cycle.
      expect(pagedAt.get(`Hot${i}`)).toBe(T0 + (offsetOf(i) || 10 * S));
    }
    // Alerts left at different times: one per slice, not all together.
    expect(new Set(pagedAt.values()).size).toBe(new Set([0, 1, 2, 3].map(offsetOf)).size);
  });
});
