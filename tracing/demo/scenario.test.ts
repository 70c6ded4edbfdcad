import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import {
  type CallKind,
  callsDue,
  DEFAULT_MIX,
  deviceToken,
  kindOfToken,
  pickKind,
  pickPushd,
} from './scenario.ts';

describe('pickKind', () => {
  it.each([
    [0, 'fail'],
    [0.049, 'fail'],
    [0.05, 'slow'],
    [0.149, 'slow'],
    [0.1501, 'normal'],
    [0.999, 'normal'],
  ] as const)('%s → %s with the default mix (5 %% failing, 10 %% slow)', (r, kind) => {
    expect(pickKind(r)).toBe(kind);
  });

  it('follows another mix', () => {
    expect(pickKind(0.3, { slow: 0.5, fail: 0.25 })).toBe('slow');
    expect(pickKind(0.8, { slow: 0.5, fail: 0.25 })).toBe('normal');
    expect(pickKind(0.1, { slow: 0, fail: 0 })).toBe('normal');
  });

  it('gives the promised shares over a uniform spread', () => {
    const counts: Record<CallKind, number> = { normal: 0, slow: 0, fail: 0 };
    for (let i = 0; i < 10_000; i++) counts[pickKind((i + 0.5) / 10_000, DEFAULT_MIX)]++;
    expect(counts).toEqual({ fail: 500, slow: 1000, normal: 8500 });
  });
});

describe('device tokens', () => {
  it.each(['normal', 'slow', 'fail'] as const)('a %s token says what it is', (kind) => {
    for (const n of [0, 1, 35, 36, 123_456_789]) expect(kindOfToken(deviceToken(kind, n))).toBe(kind);
  });

  it('makes distinct tokens for distinct numbers', () => {
    const tokens = new Set(Array.from({ length: 1000 }, (_, n) => deviceToken('normal', n)));
    expect(tokens.size).toBe(1000);
  });

  it('treats any other token as a normal device', () => {
    expect(kindOfToken('a1b2c3')).toBe('normal');
    expect(kindOfToken('')).toBe('normal');
  });
});

describe('pickPushd', () => {
  it('puts every slow device on the last (degraded) daemon', () => {
    for (let n = 0; n < 100; n++) expect(pickPushd(deviceToken('slow', n), 3)).toBe(2);
  });

  it('spreads the other devices over all daemons, always the same one per device', () => {
    const seen = [0, 0, 0];
    for (let n = 0; n < 3000; n++) {
      const token = deviceToken(n % 10 === 0 ? 'fail' : 'normal', n);
      const i = pickPushd(token, 3);
      expect(pickPushd(token, 3)).toBe(i);
      seen[i]!++;
    }
    for (const count of seen) expect(count).toBeGreaterThan(800);
  });

  it('refuses to pick among no daemon', () => {
    expect(() => pickPushd('dev-1', 0)).toThrow(HubError);
  });
});

describe('callsDue', () => {
  it.each([
    [20, 0, 0, 0],
    [20, 49, 0, 0],
    [20, 50, 0, 1],
    [20, 1000, 0, 20],
    [20, 1000, 15, 5],
    [20, 1000, 25, 0],
    [0.5, 4000, 1, 1],
    [0, 10_000, 0, 0],
  ])('rate %s, %s ms elapsed, %s sent → %s due', (rate, elapsed, sent, due) => {
    expect(callsDue(rate, elapsed, sent)).toBe(due);
  });
});
