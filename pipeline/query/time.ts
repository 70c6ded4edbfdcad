/**
 * OpenTSDB's query times: relative (`1h-ago`), absolute dates (`2026/11/26-12:00:00`, read as
 * UTC), `now`, and epoch numbers (10 digits or fewer are seconds, more are milliseconds).
 */
import { parseDuration } from '../../core/duration.ts';
import { LIMITS } from '../../core/model.ts';
import { invalidQuery } from './filters.ts';

const RELATIVE = /^(\d+)(ms|s|m|h|d|w|n|y)-ago$/;
const DATE = /^(\d{4})\/(\d{2})\/(\d{2})(?:[-\s](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const DOTTED = /^(\d{1,10})\.(\d{1,3})$/;
const EXPECTED =
  'expected a relative time like 1h-ago, a date like 2026/11/26-12:00:00 (UTC), now, or epoch seconds or ms';

/** Parses an OpenTSDB duration with an integer amount (`30m`, `1h`, `500ms`) into ms. */
export function parseTsdbDuration(text: string): number | undefined {
  if (!/^\d+(ms|s|m|h|d|w|n|y)$/.test(text)) return undefined;
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

function epochDigits(digits: string): number {
  const n = Number(digits);
  return digits.length <= 10 ? n * 1000 : n;
}

function parseDate(m: RegExpExecArray): number | undefined {
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((x) => x ?? '0');
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = parts;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2026/02/31 over into March: a different day back means the date did not exist.
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

function parseTimeString(text: string, now: number): number | undefined {
  const t = text.trim();
  if (t.toLowerCase() === 'now') return now;
  const rel = RELATIVE.exec(t);
  if (rel) {
    const span = parseTsdbDuration(`${rel[1]}${rel[2]}`);
    return span === undefined || span <= 0 ? undefined : now - span;
  }
  if (/^\d{1,16}$/.test(t)) return epochDigits(t);
  const dotted = DOTTED.exec(t);
  if (dotted) return Number(dotted[1]) * 1000 + Number(dotted[2]!.padEnd(3, '0'));
  const date = DATE.exec(t);
  return date ? parseDate(date) : undefined;
}

function parseTimeNumber(n: number): number | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  if (!Number.isInteger(n)) return Math.round(n * 1000);
  return epochDigits(String(n));
}

/** Parses a query time into epoch ms; `where` names the field in errors (`start`, `end`). */
export function parseTime(value: unknown, now: number, where: string): number {
  let ms: number | undefined;
  if (typeof value === 'number') ms = parseTimeNumber(value);
  else if (typeof value === 'string') ms = parseTimeString(value, now);
  else
    throw invalidQuery(where, `must be a string or a number, not ${value === null ? 'null' : typeof value}`);
  const shown = typeof value === 'string' ? `"${value}"` : String(value);
  if (ms === undefined) throw invalidQuery(where, `invalid time ${shown}: ${EXPECTED}`);
  if (ms < LIMITS.minTs || ms > LIMITS.maxTs)
    throw invalidQuery(where, `time ${shown} is outside 1970-01-01 … 2286-11-20`);
  return ms;
}

/** Parses `start` (required) and `end` (default now) and checks that start comes before end. */
export function parseRange(start: unknown, end: unknown, now: number): { start: number; end: number } {
  if (start === undefined || start === null || start === '')
    throw invalidQuery('start', 'a start time is required, e.g. 1h-ago');
  const s = parseTime(start, now, 'start');
  const e = end === undefined || end === null || end === '' ? now : parseTime(end, now, 'end');
  if (s >= e)
    throw invalidQuery(
      'start',
      `start (${new Date(s).toISOString()}) must be before end (${new Date(e).toISOString()})`,
    );
  return { start: s, end: e };
}
