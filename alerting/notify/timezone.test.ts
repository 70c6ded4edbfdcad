import { describe, expect, it } from 'vitest';
import { localTime, parseLocalDateTime, zonedTimeToUtc } from './timezone.ts';

const Z = (iso: string) => Date.parse(iso);

describe('zonedTimeToUtc', () => {
  it.each([
    ['winter', { year: 2026, month: 1, day: 5, hour: 9, minute: 0 }, 'Europe/Berlin', '2026-01-05T08:00:00Z'],
    ['summer', { year: 2026, month: 7, day: 6, hour: 9, minute: 0 }, 'Europe/Berlin', '2026-07-06T07:00:00Z'],
    [
      'skipped hour moves forward',
      { year: 2026, month: 3, day: 29, hour: 2, minute: 30 },
      'Europe/Berlin',
      '2026-03-29T01:30:00Z',
    ],
    [
      'repeated hour is the first',
      { year: 2026, month: 10, day: 25, hour: 2, minute: 30 },
      'Europe/Berlin',
      '2026-10-25T00:30:00Z',
    ],
    [
      'west of UTC',
      { year: 2026, month: 11, day: 1, hour: 1, minute: 30 },
      'America/New_York',
      '2026-11-01T05:30:00Z',
    ],
    ['UTC', { year: 2026, month: 2, day: 28, hour: 23, minute: 59 }, 'UTC', '2026-02-28T23:59:00Z'],
    [
      'half-hour zone',
      { year: 2026, month: 1, day: 1, hour: 0, minute: 0 },
      'Asia/Kolkata',
      '2025-12-31T18:30:00Z',
    ],
  ])('%s', (_name, wall, tz, iso) => {
    expect(zonedTimeToUtc(wall, tz)).toBe(Z(iso));
  });
});

it('localTime gives wall-clock fields and the weekday', () => {
  expect(localTime(Z('2026-01-04T23:30:00Z'), 'Europe/Berlin')).toEqual({
    year: 2026,
    month: 1,
    day: 5,
    hour: 0,
    minute: 30,
    second: 0,
    weekday: 1,
  });
});

describe('parseLocalDateTime', () => {
  it.each([
    ['2026-01-05T09:00', 'Europe/Berlin', '2026-01-05T08:00:00Z'],
    ['2026-01-05', 'Europe/Berlin', '2026-01-04T23:00:00Z'],
    ['2026-01-05T09:00:00Z', 'Europe/Berlin', '2026-01-05T09:00:00Z'],
    ['2026-01-05T09:00:00+01:00', 'UTC', '2026-01-05T08:00:00Z'],
  ])('%s in %s', (text, tz, iso) => {
    expect(parseLocalDateTime(text, tz, 'start')).toBe(Z(iso));
  });

  it('rejects what is not a date', () => {
    expect(() => parseLocalDateTime('next monday', 'UTC', 'oncall.infra.start')).toThrow(/Invalid date-time/);
  });
});
