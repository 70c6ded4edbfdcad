import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import { parseRange, parseTime } from './time.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

describe('parseTime', () => {
  const cases: [unknown, number][] = [
    ['1h-ago', NOW - 3_600_000],
    ['30m-ago', NOW - 1_800_000],
    ['2d-ago', NOW - 2 * 86_400_000],
    ['1w-ago', NOW - 7 * 86_400_000],
    ['1n-ago', NOW - 30 * 86_400_000],
    ['1y-ago', NOW - 365 * 86_400_000],
    ['500ms-ago', NOW - 500],
    ['10s-ago', NOW - 10_000],
    ['now', NOW],
    ['2026/11/26-12:00:00', NOW],
    ['2026/11/26 12:00:00', NOW],
    ['2026/11/26-11:30', NOW - 1_800_000],
    ['2026/11/26', Date.UTC(2026, 10, 26)],
    [1_795_694_400, NOW],
    [1_795_694_400_000, NOW],
    ['1795694400', NOW],
    ['1795694400000', NOW],
    ['1795694400.5', NOW + 500],
    ['1795694400.25', NOW + 250],
    [1_795_694_400.123, NOW + 123],
    [0, 0],
  ];
  it.each(cases)('%j → %d', (value, expected) => {
    expect(parseTime(value, NOW, 'start')).toBe(expected);
  });

  const bad: unknown[] = [
    'yesterday',
    '1h',
    '0s-ago',
    '1x-ago',
    '1.5h-ago',
    '2026/13/01',
    '2026/02/30-00:00:00',
    '2026/11/26-24:00:00',
    '1795694400.1234',
    '-5',
    -5,
    Number.NaN,
    true,
    null,
    {},
    '99999999999999999',
    '300y-ago',
  ];
  it.each(bad)('rejects %j with INVALID_QUERY at start', (value) => {
    try {
      parseTime(value, NOW, 'start');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HubError);
      expect((e as HubError).code).toBe('INVALID_QUERY');
      expect((e as HubError).where).toBe('start');
      expect((e as HubError).message).toMatch(/^start: /);
    }
  });
});

describe('parseRange', () => {
  it('defaults the end to now', () => {
    expect(parseRange('1h-ago', undefined, NOW)).toEqual({ start: NOW - 3_600_000, end: NOW });
  });

  it('requires a start', () => {
    expect(() => parseRange(undefined, undefined, NOW)).toThrow(/^start: a start time is required/);
  });

  it('rejects a start after (or at) the end', () => {
    expect(() => parseRange('1h-ago', '2h-ago', NOW)).toThrow(/^start: start \(.*\) must be before end/);
    expect(() => parseRange(NOW, NOW, NOW)).toThrow(/must be before end/);
  });

  it('names the end when the end is bad', () => {
    expect(() => parseRange('1h-ago', 'later', NOW)).toThrow(/^end: invalid time "later"/);
  });
});
