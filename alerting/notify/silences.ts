/**
 * Silences: label matchers that mute notifications between `startsAt` and `endsAt`, either all
 * the time (one-off, as in Alertmanager) or only inside a recurring maintenance window (weekdays
 * and a time range in an IANA time zone, e.g. Sundays 02:00-04:00 Europe/Berlin).
 *
 * Windows are wall-clock times: on the day clocks go forward, the skipped hour is not in any
 * window (02:00-03:00 that day never mutes; 01:30-02:30 ends at 03:00 local), and on the day they
 * go back, the repeated hour is in the window both times (02:00-03:00 mutes for two hours).
 * A window whose end is not after its start runs past midnight into the next day.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { HubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';
import { matches, matchesAll, parseMatcher, validateMatcher } from './matchers.ts';
import { createStateFile } from './state-file.ts';
import { isValidTimeZone, localTime, parseClockTime } from './timezone.ts';
import type { Matcher } from './types.ts';

export type Recurrence = {
  /** 0 = Sunday … 6 = Saturday; every day when empty. */
  weekdays: number[];
  /** Minutes after local midnight. */
  startMinute: number;
  endMinute: number;
  timeZone: string;
};

export type Silence = {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  /** null: a recurring silence without an end. */
  endsAt: number | null;
  createdBy: string;
  comment: string;
  recurrence?: Recurrence;
  updatedAt: number;
};

export type SilenceState = 'active' | 'pending' | 'expired';

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function weekdayOf(text: string): number | undefined {
  const i = DAY_NAMES.indexOf(text.trim().toLowerCase().slice(0, 3));
  return i < 0 ? undefined : i;
}

const time = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not an RFC 3339 time or epoch ms` });
    return z.NEVER;
  }
  return ms;
});

/** A matcher as a string (`app=~"push.*"`) or as Alertmanager's API object. */
const matcherInput = z
  .union([
    z.string(),
    z.object({
      name: z.string(),
      value: z.string(),
      isRegex: z.boolean().default(false),
      isEqual: z.boolean().default(true),
    }),
  ])
  .transform((m, ctx) => {
    try {
      return typeof m === 'string'
        ? parseMatcher(m)
        : validateMatcher({
            name: m.name,
            value: m.value,
            type: m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=',
          });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const recurrenceInput = z
  .object({
    weekdays: z
      .array(z.string())
      .default([])
      .transform((days, ctx) =>
        days.map((d, i) => {
          const n = weekdayOf(d);
          if (n === undefined)
            ctx.addIssue({ code: 'custom', message: `"${d}" is not a weekday`, path: [i] });
          return n ?? 0;
        }),
      ),
    startTime: z.string(),
    endTime: z.string(),
    timeZone: z
      .string()
      .default('UTC')
      .refine(isValidTimeZone, 'is not an IANA time zone like Europe/Berlin'),
  })
  .strict()
  .transform((r, ctx) => {
    try {
      const startMinute = parseClockTime(r.startTime, 'recurrence.startTime');
      const endMinute = parseClockTime(r.endTime, 'recurrence.endTime');
      if (startMinute === endMinute) {
        ctx.addIssue({ code: 'custom', message: 'startTime and endTime are equal', path: ['endTime'] });
        return z.NEVER;
      }
      return { weekdays: [...new Set(r.weekdays)].sort(), startMinute, endMinute, timeZone: r.timeZone };
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const silenceInput = z
  .object({
    id: z.string().optional(),
    matchers: z.array(matcherInput).min(1, 'a silence needs at least one matcher'),
    startsAt: time.optional(),
    endsAt: time.nullable().optional(),
    createdBy: z.string().optional(),
    comment: z.string().min(1, 'say why: a comment is required'),
    recurrence: recurrenceInput.optional(),
  })
  .strict();

export type SilenceFields = Omit<Silence, 'id' | 'updatedAt'>;

function badInput(where: string, message: string): never {
  throw new HubError('BAD_REQUEST', `Invalid silence: ${where}: ${message}`, { where });
}

/** Validates a silence from the API; `createdBy` is who asks, `now` clamps a start in the past. */
export function parseSilenceInput(input: unknown, createdBy: string, now: number): SilenceFields {
  const r = silenceInput.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    badInput(issue.path.join('.') || 'body', issue.message);
  }
  const s = r.data;
  if (s.matchers.every((m) => matches(m, {})))
    badInput('matchers', 'at least one matcher must not match an empty label (it would silence everything)');
  const startsAt = Math.max(s.startsAt ?? now, now);
  const endsAt = s.endsAt ?? null;
  if (endsAt === null && !s.recurrence) badInput('endsAt', 'a one-off silence needs an end');
  if (endsAt !== null && endsAt <= startsAt) badInput('endsAt', 'must be after startsAt and in the future');
  return {
    matchers: s.matchers,
    startsAt,
    endsAt,
    createdBy,
    comment: s.comment,
    ...(s.recurrence ? { recurrence: s.recurrence } : {}),
  };
}

/** Whether instant `now` falls in a recurring window. */
export function inWindow(r: Recurrence, now: number): boolean {
  const lt = localTime(now, r.timeZone);
  const minute = lt.hour * 60 + lt.minute;
  const on = (day: number) => r.weekdays.length === 0 || r.weekdays.includes(day);
  if (r.startMinute < r.endMinute) return on(lt.weekday) && minute >= r.startMinute && minute < r.endMinute;
  return (on(lt.weekday) && minute >= r.startMinute) || (on((lt.weekday + 6) % 7) && minute < r.endMinute);
}

export function silenceState(s: Silence, now: number): SilenceState {
  if (s.endsAt !== null && now >= s.endsAt) return 'expired';
  if (now < s.startsAt) return 'pending';
  if (s.recurrence && !inWindow(s.recurrence, now)) return 'pending';
  return 'active';
}

export function silenceMutes(s: Silence, labels: Tags, now: number): boolean {
  return silenceState(s, now) === 'active' && matchesAll(s.matchers, labels);
}

export type SilenceStore = {
  list(): Silence[];
  get(id: string): Silence | undefined;
  create(fields: SilenceFields): Promise<Silence>;
  /** Replaces an unexpired silence's fields. */
  update(id: string, fields: SilenceFields): Promise<Silence>;
  /** Ends a silence now (Alertmanager's DELETE). */
  expire(id: string): Promise<Silence>;
  /** Ids of the active silences that mute these labels now. */
  mutedBy(labels: Tags, now: number): string[];
  /** Resolves once no write is running. */
  flushed(): Promise<void>;
};

type Stored = { version: 1; silences: Silence[] };

export async function openSilenceStore(options: {
  dir: string;
  now: () => number;
  /** Expired silences are kept this long, for the record. */
  retention?: number;
}): Promise<SilenceStore> {
  const file = createStateFile<Stored>(join(options.dir, 'silences.json'));
  const retention = options.retention ?? 5 * 86_400_000;
  const silences = new Map((await file.read({ version: 1, silences: [] })).silences.map((s) => [s.id, s]));
  const save = () => {
    const oldest = options.now() - retention;
    for (const [id, s] of silences) if (s.endsAt !== null && s.endsAt < oldest) silences.delete(id);
    return file.write(() => ({ version: 1, silences: [...silences.values()] }));
  };
  const mustGet = (id: string) => {
    const s = silences.get(id);
    if (!s) throw new HubError('NOT_FOUND', `No silence ${id}`, { where: 'id' });
    return s;
  };
  return {
    flushed: () => file.flushed(),
    list: () => [...silences.values()].sort((a, b) => b.updatedAt - a.updatedAt || a.id.localeCompare(b.id)),
    get: (id) => silences.get(id),
    async create(fields) {
      const s: Silence = { id: randomUUID(), ...fields, updatedAt: options.now() };
      silences.set(s.id, s);
      await save();
      return s;
    },
    async update(id, fields) {
      const old = mustGet(id);
      const now = options.now();
      if (silenceState(old, now) === 'expired')
        throw new HubError('BAD_REQUEST', `Silence ${id} has expired: create a new one`, { where: 'id' });
      const startsAt =
        silenceState(old, now) === 'active' && !old.recurrence ? old.startsAt : fields.startsAt;
      const s: Silence = { ...fields, id, startsAt, updatedAt: now };
      if (s.endsAt !== null && s.endsAt <= s.startsAt) badInput('endsAt', 'must be after startsAt');
      silences.set(id, s);
      await save();
      return s;
    },
    async expire(id) {
      const old = mustGet(id);
      const now = options.now();
      if (silenceState(old, now) === 'expired') return old;
      const s: Silence = { ...old, startsAt: Math.min(old.startsAt, now), endsAt: now, updatedAt: now };
      silences.set(id, s);
      await save();
      return s;
    },
    mutedBy(labels, now) {
      const ids: string[] = [];
      for (const s of silences.values()) if (silenceMutes(s, labels, now)) ids.push(s.id);
      return ids;
    },
  };
}

/** A silence as the API shows it: Alertmanager's v2 shape, plus `recurrence`. */
export function silenceToJSON(s: Silence, now: number): Record<string, unknown> {
  const dayNames = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
  const hhmm = (m: number) =>
    `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return {
    id: s.id,
    matchers: s.matchers.map((m) => ({
      name: m.name,
      value: m.value,
      isRegex: m.type === '=~' || m.type === '!~',
      isEqual: m.type === '=' || m.type === '=~',
    })),
    startsAt: new Date(s.startsAt).toISOString(),
    endsAt: s.endsAt === null ? null : new Date(s.endsAt).toISOString(),
    createdBy: s.createdBy,
    comment: s.comment,
    ...(s.recurrence
      ? {
          recurrence: {
            weekdays: s.recurrence.weekdays.map((d) => dayNames[d]),
            startTime: hhmm(s.recurrence.startMinute),
            endTime: hhmm(s.recurrence.endMinute),
            timeZone: s.recurrence.timeZone,
          },
        }
      : {}),
    updatedAt: new Date(s.updatedAt).toISOString(),
    status: { state: silenceState(s, now) },
  };
}
