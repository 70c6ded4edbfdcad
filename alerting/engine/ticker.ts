/**
 * The engine's timer: places every rule in its interval (see schedule.ts) and ticks at the
 * plan's period, the greatest common divisor of the intervals and slice lengths.
 */
import type { Clock } from '../../core/clock.ts';
import type { RuleTable } from './rule-table.ts';
import { gcd, planOffsets } from './schedule.ts';

export type Ticker = {
  /** Plans, then ticks at the plan's period until `stop`. */
  start(): void;
  /** Plans again after a rule change; a running timer whose period changed is restarted. */
  reschedule(): void;
  stop(): void;
  /** Every firing alert goes to the sink at least this often: the intervals' greatest common divisor. */
  fullEveryMs(): number;
};

export type TickerOptions = {
  table: RuleTable;
  clock: Clock;
  /** About how many rules of one interval are evaluated together (see `planOffsets`). */
  sliceRules: number | undefined;
  onTick: () => void;
};

export function createTicker(options: TickerOptions): Ticker {
  const { table, clock } = options;
  let tickMs = 0;
  let fullEvery = 10_000;
  let stopTick = () => {};
  let stopped = false;

  /** Places every rule in its interval; returns the timer's period. */
  function plan(): number {
    const rules = [...table.runtimes.values()].map((rt) => rt.rule);
    const { offsets, tickMs: tick } = planOffsets(rules, options.sliceRules);
    for (const rt of table.runtimes.values()) rt.offset = offsets.get(rt.rule.name) ?? 0;
    fullEvery = rules.reduce((g, r) => gcd(g, r.intervalMs), 0) || 10_000;
    return tick;
  }

  function startTicking(ms: number): void {
    stopTick();
    tickMs = ms;
    stopTick = clock.setInterval(options.onTick, ms);
  }

  return {
    start() {
      stopped = false;
      startTicking(plan());
    },
    reschedule() {
      const next = plan();
      if (next === tickMs || stopped || tickMs === 0) return;
      startTicking(next);
    },
    stop() {
      stopped = true;
      stopTick();
    },
    fullEveryMs: () => fullEvery,
  };
}
