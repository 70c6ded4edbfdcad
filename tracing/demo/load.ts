/**
 * The demo's load loop: `rate` calls per second, each a normal, slow or failing push (the mix),
 * handed to `send`. Time comes from the injected clock: a tick every `tickMs` sends the calls due
 * since the start, so the rate holds whatever the tick jitter. Calls in flight are bounded, so a
 * stuck service slows the loop down instead of piling up requests.
 */
import type { Clock } from '../../core/clock.ts';
import { type CallKind, type CallMix, callsDue, DEFAULT_MIX, pickKind } from './scenario.ts';

export type LoadOptions = {
  /** Calls per second. */
  rate: number;
  clock: Clock;
  /** Makes one call; a rejection counts as an error. */
  send: (kind: CallKind, n: number) => Promise<void>;
  mix?: CallMix;
  /** Default `Math.random`. */
  random?: () => number;
  /** Default 50 ms. */
  tickMs?: number;
  /** Calls in flight at most; calls due beyond are skipped and counted. Default 2000. */
  maxInFlight?: number;
};

export type LoadStats = {
  /** Calls made, per kind. */
  sent: Record<CallKind, number>;
  /** Calls whose `send` rejected (the push API refused or was unreachable). */
  errors: number;
  /** Calls skipped because too many were in flight. */
  skipped: number;
  inFlight: number;
};

export type LoadLoop = {
  start(): void;
  stats(): LoadStats;
  /** Stops making calls and waits for those in flight. */
  stop(): Promise<LoadStats>;
};

export function createLoadLoop(options: LoadOptions): LoadLoop {
  const { clock, send, rate } = options;
  const mix = options.mix ?? DEFAULT_MIX;
  const random = options.random ?? Math.random;
  const maxInFlight = options.maxInFlight ?? 2000;
  const sent: Record<CallKind, number> = { normal: 0, slow: 0, fail: 0 };
  const inFlight = new Set<Promise<void>>();
  let counted = 0;
  let errors = 0;
  let skipped = 0;
  let startedAt = 0;
  let cancel: (() => void) | undefined;

  const stats = (): LoadStats => ({ sent: { ...sent }, errors, skipped, inFlight: inFlight.size });

  function fire(): void {
    const kind = pickKind(random(), mix);
    const n = counted;
    sent[kind]++;
    const call = send(kind, n).then(
      () => {},
      () => {
        errors++;
      },
    );
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
  }

  function tick(): void {
    const due = callsDue(rate, clock.now() - startedAt, counted);
    for (let i = 0; i < due; i++) {
      if (inFlight.size >= maxInFlight) skipped++;
      else fire();
      counted++;
    }
  }

  return {
    start() {
      if (cancel) return;
      startedAt = clock.now();
      cancel = clock.setInterval(tick, options.tickMs ?? 50);
    },
    stats,
    async stop() {
      cancel?.();
      cancel = undefined;
      while (inFlight.size > 0) await Promise.all(inFlight);
      return stats();
    },
  };
}
