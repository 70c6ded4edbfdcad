/** Drives a notification pipeline like the rule engine does: an evaluation every 15 s on a fake clock. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNotifyConfig } from '../../alerting/notify/config.ts';
import { createNotifyPipeline, type NotifyPipeline } from '../../alerting/notify/pipeline.ts';
import { seen } from '../../alerting/notify/testing.ts';
import type { Alert } from '../../alerting/types.ts';
import { FakeClock } from '../../core/clock.ts';

export const T0 = Date.UTC(2026, 0, 5, 10, 0);
export const EVAL = 15_000;

export async function tempDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'obs-notify-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export type Run = {
  clock: FakeClock;
  pipeline: NotifyPipeline;
  /** Alerts the "engine" reports as firing at every evaluation. */
  firing: Map<string, Alert>;
  /** Reports `alerts` as resolved at the next evaluation (once), and stops reporting them firing. */
  resolve(...alerts: Alert[]): void;
  /** Runs evaluations for `ms`, one every 15 s, letting every notification finish. */
  run(ms: number): Promise<void>;
  /** Advances the clock without evaluations (for timers only). */
  advance(ms: number): Promise<void>;
};

export async function startRun(options: { config: unknown; dir: string; clock?: FakeClock }): Promise<Run> {
  const clock = options.clock ?? new FakeClock(T0);
  const pipeline = await createNotifyPipeline({
    config: parseNotifyConfig(options.config),
    dataDir: options.dir,
    clock,
  });
  const firing = new Map<string, Alert>();
  let toResolve: Alert[] = [];
  const evaluate = async () => {
    const now = clock.now();
    const alerts = [...[...firing.values()].map((a) => seen(a, now)), ...toResolve];
    toResolve = [];
    await pipeline.update(alerts, now);
    await pipeline.idle();
  };
  const advance = async (ms: number) => {
    clock.advance(ms);
    await pipeline.idle();
  };
  return {
    clock,
    pipeline,
    firing,
    resolve(...alerts) {
      const now = clock.now();
      for (const a of alerts) {
        firing.delete(a.fingerprint);
        toResolve.push({ ...a, status: 'resolved', endsAt: now, updatedAt: now });
      }
    },
    async run(ms) {
      const end = clock.now() + ms;
      await evaluate();
      while (clock.now() + EVAL <= end) {
        await advance(EVAL);
        await evaluate();
      }
      if (clock.now() < end) await advance(end - clock.now());
    },
    advance,
  };
}
