import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { HealthState, HealthVerdict } from '../types.ts';
import { createHealthTracker } from './tracker.ts';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const STEP = 30_000;
const v = (state: HealthState, code: string = state): HealthVerdict => ({
  state,
  reasons: state === 'healthy' ? [] : [{ code, message: `${code} seen` }],
});

/** Feeds states one evaluation apart; returns the held state after each and the transitions. */
function run(states: HealthState[], options: { enterAfter?: number; unhealthyAfter?: number } = {}) {
  const clock = new FakeClock(T0);
  const tracker = createHealthTracker({ clock, ...options });
  const held: HealthState[] = [];
  const events: string[] = [];
  for (const s of states) {
    const e = tracker.update('container', 'c1', '/shop/cart', v(s));
    if (e) events.push(`${e.from}→${e.to}@${(e.ts - T0) / STEP}`);
    held.push(tracker.current('c1')!.state);
    clock.advance(STEP);
  }
  return { held, events, tracker };
}

describe('health tracker', () => {
  it.each<
    [string, HealthState[], HealthState[], string[], { enterAfter?: number; unhealthyAfter?: number }?]
  >([
    ['takes the first verdict at once', ['busy'], ['busy'], ['unknown→busy@0']],
    [
      'a state seen once does not move it',
      ['healthy', 'busy', 'healthy', 'busy', 'healthy'],
      ['healthy', 'healthy', 'healthy', 'healthy', 'healthy'],
      ['unknown→healthy@0'],
    ],
    [
      'a state seen twice in a row does',
      ['healthy', 'busy', 'busy', 'busy'],
      ['healthy', 'healthy', 'busy', 'busy'],
      ['unknown→healthy@0', 'healthy→busy@2'],
    ],
    [
      'alternating candidates never add up',
      ['healthy', 'busy', 'idle', 'busy', 'idle', 'idle'],
      ['healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'idle'],
      ['unknown→healthy@0', 'healthy→idle@5'],
    ],
    [
      'unhealthy is taken at once, recovery needs two',
      ['healthy', 'unhealthy', 'healthy', 'healthy'],
      ['healthy', 'unhealthy', 'unhealthy', 'healthy'],
      ['unknown→healthy@0', 'healthy→unhealthy@1', 'unhealthy→healthy@3'],
    ],
    [
      'unhealthyAfter 2 waits for a second one',
      ['healthy', 'unhealthy', 'healthy', 'unhealthy', 'unhealthy'],
      ['healthy', 'healthy', 'healthy', 'healthy', 'unhealthy'],
      ['unknown→healthy@0', 'healthy→unhealthy@4'],
      { unhealthyAfter: 2 },
    ],
    [
      'enterAfter 3',
      ['idle', 'healthy', 'healthy', 'healthy'],
      ['idle', 'idle', 'idle', 'healthy'],
      ['unknown→idle@0', 'idle→healthy@3'],
      { enterAfter: 3 },
    ],
    [
      'a first unknown waits like any change',
      ['unknown', 'busy', 'busy'],
      ['unknown', 'unknown', 'busy'],
      ['unknown→busy@2'],
    ],
  ])('%s', (_name, input, held, events, options) => {
    const r = run(input, options);
    expect(r.held).toEqual(held);
    expect(r.events).toEqual(events);
  });

  it('keeps the time the state was entered and refreshes its reasons', () => {
    const clock = new FakeClock(T0);
    const tracker = createHealthTracker({ clock });
    tracker.update('container', 'c1', '/shop/cart', v('busy', 'cpu_near_limit'));
    clock.advance(STEP);
    tracker.update('container', 'c1', '/shop/cart', v('busy', 'mem_near_limit'));
    expect(tracker.current('c1')).toEqual({
      state: 'busy',
      reasons: [{ code: 'mem_near_limit', message: 'mem_near_limit seen' }],
      since: T0,
    });
  });

  it('carries the reasons of the new state in the event', () => {
    const clock = new FakeClock(T0);
    const tracker = createHealthTracker({ clock });
    tracker.update('app', '/shop/cart', '/shop/cart', v('healthy'));
    clock.advance(STEP);
    expect(tracker.update('app', '/shop/cart', '/shop/cart', v('unhealthy', 'oom_kill'))).toEqual({
      subject: '/shop/cart',
      kind: 'app',
      appId: '/shop/cart',
      from: 'healthy',
      to: 'unhealthy',
      reasons: [{ code: 'oom_kill', message: 'oom_kill seen' }],
      ts: T0 + STEP,
    });
  });

  it('tracks subjects apart and forgets them', () => {
    const tracker = createHealthTracker({ clock: new FakeClock(T0) });
    tracker.update('container', 'c1', '/shop/cart', v('busy'));
    tracker.update('container', 'c2', '/shop/cart', v('idle'));
    tracker.update('app', '/shop/cart', '/shop/cart', v('healthy'));
    expect(tracker.subjects()).toEqual(['c1', 'c2', '/shop/cart']);
    expect(tracker.snapshot().map((s) => [s.kind, s.subject, s.state])).toEqual([
      ['container', 'c1', 'busy'],
      ['container', 'c2', 'idle'],
      ['app', '/shop/cart', 'healthy'],
    ]);
    tracker.forget('c1');
    expect(tracker.current('c1')).toBeUndefined();
    expect(tracker.subjects()).toEqual(['c2', '/shop/cart']);
    // Forgotten, it starts over: its next verdict is taken at once.
    expect(tracker.update('container', 'c1', '/shop/cart', v('idle'))?.from).toBe('unknown');
  });
});
