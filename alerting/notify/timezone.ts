/**
 * Wall-clock arithmetic in IANA time zones with `Intl.DateTimeFormat`, for maintenance windows
 * and on-call shifts.
 *
 * DST: a local time that does not exist (the hour skipped in spring) is moved forward by the gap
 * (02:30 becomes 03:30); a local time that happens twice (the hour repeated in autumn) means the
 * first of the two instants.
 */
import { HubError } from '../../core/errors.ts';

export type LocalTime = {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
};

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formats.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function checkTimeZone(timeZone: string, where: string): string {
  if (!isValidTimeZone(timeZone))
    throw new HubError(
      'BAD_REQUEST',
      `Unknown time zone "${timeZone}" (expected an IANA name like Europe/Berlin)`,
      {
        where,
      },
    );
  return timeZone;
}

/** The wall-clock time at instant `ms` in `timeZone`. */
export function localTime(ms: number, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatFor(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts['year']),
    month: Number(parts['month']),
    day: Number(parts['day']),
    hour: Number(parts['hour']),
    minute: Number(parts['minute']),
    second: Number(parts['second']),
    weekday: WEEKDAYS.indexOf(parts['weekday']!),
  };
}

function wallMs(t: Pick<LocalTime, 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second'>): number {
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
}

/** Offset of `timeZone` from UTC at instant `ms`, in ms (positive east of Greenwich). */
export function zoneOffset(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallMs(localTime(whole, timeZone)) - whole;
}

/** The instant of a wall-clock time in `timeZone` (see the module note for DST). */
export function zonedTimeToUtc(
  t: { year: number; month: number; day: number; hour: number; minute: number; second?: number },
  timeZone: string,
): number {
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second ?? 0);
  const before = wall - zoneOffset(wall - 86_400_000, timeZone);
  const after = wall - zoneOffset(wall + 86_400_000, timeZone);
  const valid = [before, after].filter((c) => wallMs(localTime(c, timeZone)) === wall);
  if (valid.length > 0) return Math.min(...valid);
  return before;
}

/** Days from the civil date `a` to `b` (both Y-M-D), ignoring time zones. */
export function civilDaysBetween(
  a: Pick<LocalTime, 'year' | 'month' | 'day'>,
  b: Pick<LocalTime, 'year' | 'month' | 'day'>,
): number {
  return Math.round(
    (Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000,
  );
}

/** The civil date `days` after `d`. */
export function addCivilDays<T extends Pick<LocalTime, 'year' | 'month' | 'day'>>(d: T, days: number): T {
  const x = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return { ...d, year: x.getUTCFullYear(), month: x.getUTCMonth() + 1, day: x.getUTCDate() };
}

/** Parses `HH:MM` into minutes of the day (24:00 allowed as the end of a day). */
export function parseClockTime(text: string, where: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
  if (!m || Number(m[2]) > 59 || minutes > 24 * 60)
    throw new HubError('BAD_REQUEST', `Invalid time of day "${text}": expected HH:MM`, { where });
  return minutes;
}

/**
 * Parses a start time: RFC 3339 with an offset or Z is an instant; without one
 * (`2026-01-05T09:00`) it is a wall-clock time in `timeZone`.
 */
export function parseLocalDateTime(text: string, timeZone: string, where: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  if (m)
    return zonedTimeToUtc(
      {
        year: Number(m[1]),
        month: Number(m[2]),
        day: Number(m[3]),
        hour: Number(m[4] ?? 0),
        minute: Number(m[5] ?? 0),
        second: Number(m[6] ?? 0),
      },
      timeZone,
    );
  const ms = Date.parse(text);
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim()) || Number.isNaN(ms))
    throw new HubError('BAD_REQUEST', `Invalid date-time "${text}": expected 2026-01-05T09:00 or RFC 3339`, {
      where,
    });
  return ms;
}
