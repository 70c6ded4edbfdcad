import { describe, expect, it } from 'vitest';
import { NO_UPSTREAM_TIME, parseUpstreamTime, sumUpstreamTime } from './upstream-time.ts';

type Case = { value: string; seconds: number | null; tries: number; redirects: number };

const ok: Case[] = [
  { value: '0.010', seconds: 0.01, tries: 1, redirects: 0 },
  { value: '12.345', seconds: 12.345, tries: 1, redirects: 0 },
  { value: '0', seconds: 0, tries: 1, redirects: 0 },
  { value: '-', seconds: null, tries: 1, redirects: 0 },
  { value: '0.010, 0.020', seconds: 0.03, tries: 2, redirects: 0 },
  { value: '0.010, 0.020, 0.005', seconds: 0.035, tries: 3, redirects: 0 },
  { value: '0.010 : 0.020', seconds: 0.03, tries: 2, redirects: 1 },
  { value: '0.001, 0.002 : 0.004', seconds: 0.007, tries: 3, redirects: 1 },
  { value: '-, 0.020', seconds: 0.02, tries: 2, redirects: 0 },
  { value: '0.010, -', seconds: 0.01, tries: 2, redirects: 0 },
  { value: '- : -', seconds: null, tries: 2, redirects: 1 },
  { value: '0.010,0.020', seconds: 0.03, tries: 2, redirects: 0 },
];

const bad = [
  '',
  ' ',
  'abc',
  '0.010,',
  '0.010, ',
  '0.01x',
  '1.',
  '.5',
  '0.010 0.020',
  '0.010 ; 0.020',
  '--',
  '-1',
];

describe('parseUpstreamTime', () => {
  it.each(ok)('$value → $seconds s over $tries tries', ({ value, seconds, tries, redirects }) => {
    const r = parseUpstreamTime(value);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    if (seconds === null) expect(r.seconds).toBeNull();
    else expect(r.seconds).toBeCloseTo(seconds, 9);
    expect(r.tries).toBe(tries);
    expect(r.redirects).toBe(redirects);
  });

  it.each(bad)('rejects %j with a reason', (value) => {
    const r = parseUpstreamTime(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('is not a list of times');
  });

  it('sums in place inside a longer line without allocating', () => {
    const line = 'x 0.100, 0.200 : 0.300 y';
    expect(sumUpstreamTime(line, 2, 22)).toBeCloseTo(0.6, 9);
    expect(sumUpstreamTime('a - b', 2, 3)).toBe(NO_UPSTREAM_TIME);
    expect(sumUpstreamTime('a 0.1x b', 2, 6)).toBeNaN();
  });
});
