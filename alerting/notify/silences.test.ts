import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import { inWindow, openSilenceStore, parseSilenceInput, type Recurrence, silenceState } from './silences.ts';

const Z = (iso: string) => Date.parse(iso);
const NOW = Z('2026-01-01T00:00:00Z');

describe('parseSilenceInput', () => {
  it('takes string matchers and Alertmanager matcher objects', () => {
    const s = parseSilenceInput(
      {
        matchers: ['app=~"push.*"', { name: 'project', value: 'shop', isRegex: false, isEqual: true }],
        startsAt: '2025-12-31T00:00:00Z',
        endsAt: '2026-01-01T02:00:00Z',
        comment: 'deploy',
      },
      'alice',
      NOW,
    );
    expect(s).toMatchObject({
      matchers: [
        { name: 'app', type: '=~', value: 'push.*' },
        { name: 'project', type: '=', value: 'shop' },
      ],
      startsAt: NOW,
      endsAt: Z('2026-01-01T02:00:00Z'),
      createdBy: 'alice',
    });
  });

  it.each([
    [{ matchers: [], endsAt: NOW + 1, comment: 'x' }, 'matchers'],
    [{ matchers: ['a=~".*"'], endsAt: NOW + 1, comment: 'x' }, 'matchers'],
    [{ matchers: ['a="1"'], comment: 'x' }, 'endsAt'],
    [{ matchers: ['a="1"'], endsAt: NOW - 1, comment: 'x' }, 'endsAt'],
    [{ matchers: ['a="1"'], endsAt: NOW + 1, comment: '' }, 'comment'],
    [{ matchers: ['a="1"'], endsAt: 'tomorrow', comment: 'x' }, 'endsAt'],
    [
      {
        matchers: ['a="1"'],
        comment: 'x',
        recurrence: { weekdays: ['funday'], startTime: '1:00', endTime: '2:00' },
      },
      'recurrence.weekdays.0',
    ],
    [
      { matchers: ['a="1"'], comment: 'x', recurrence: { startTime: '25:00', endTime: '2:00' } },
      'recurrence',
    ],
  ])('rejects %o naming %s', (input, where) => {
    let error: unknown;
    try {
      parseSilenceInput(input, 'alice', NOW);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).where).toBe(where);
  });
});

describe('inWindow', () => {
  const sundayNight: Recurrence = {
    weekdays: [0],
    startMinute: 120,
    endMinute: 240,
    timeZone: 'Europe/Berlin',
  };
  const overMidnight: Recurrence = { weekdays: [5], startMinute: 22 * 60, endMinute: 120, timeZone: 'UTC' };
  const skippedHour: Recurrence = {
    weekdays: [0],
    startMinute: 120,
    endMinute: 180,
    timeZone: 'Europe/Berlin',
  };
  it.each([
    ['Sunday 02:00 Berlin', sundayNight, '2026-01-04T01:00:00Z', true],
    ['Sunday 01:59 Berlin', sundayNight, '2026-01-04T00:59:00Z', false],
    ['Sunday 04:00 Berlin', sundayNight, '2026-01-04T03:00:00Z', false],
    ['Saturday 02:00 Berlin', sundayNight, '2026-01-03T01:00:00Z', false],
    ['Friday 23:00', overMidnight, '2026-01-02T23:00:00Z', true],
    ['Saturday 01:00, the Friday window continues', overMidnight, '2026-01-03T01:00:00Z', true],
    ['Saturday 23:00', overMidnight, '2026-01-03T23:00:00Z', false],
    ['spring forward: 01:59 CET', skippedHour, '2026-03-29T00:59:00Z', false],
    ['spring forward: 03:00 CEST, the hour never happened', skippedHour, '2026-03-29T01:00:00Z', false],
    ['fall back: 02:00 CEST', skippedHour, '2026-10-25T00:00:00Z', true],
    ['fall back: 02:59 CET, the hour again', skippedHour, '2026-10-25T01:59:00Z', true],
    ['fall back: 03:00 CET', skippedHour, '2026-10-25T02:00:00Z', false],
  ])('%s', (_name, r, iso, expected) => {
    expect(inWindow(r, Z(iso))).toBe(expected);
  });
});

describe('openSilenceStore', () => {
  it('creates, persists, mutes while active and un-mutes once expired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'obs-silences-'));
    try {
      let now = NOW;
      const store = await openSilenceStore({ dir, now: () => now });
      const s = await store.create(
        parseSilenceInput({ matchers: ['app="web"'], endsAt: NOW + 60_000, comment: 'deploy' }, 'alice', now),
      );
      expect(store.mutedBy({ app: 'web' }, now)).toEqual([s.id]);
      expect(store.mutedBy({ app: 'db' }, now)).toEqual([]);
      const reopened = await openSilenceStore({ dir, now: () => now });
      expect(reopened.get(s.id)).toEqual(s);
      now += 60_000;
      expect(silenceState(reopened.get(s.id)!, now)).toBe('expired');
      expect(reopened.mutedBy({ app: 'web' }, now)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('expire ends a silence now and update refuses an expired one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'obs-silences-'));
    try {
      let now = NOW;
      const store = await openSilenceStore({ dir, now: () => now });
      const fields = parseSilenceInput(
        { matchers: ['app="web"'], endsAt: NOW + 60_000, comment: 'x' },
        'a',
        now,
      );
      const s = await store.create(fields);
      now += 1000;
      const expired = await store.expire(s.id);
      expect(expired.endsAt).toBe(now);
      expect(store.mutedBy({ app: 'web' }, now)).toEqual([]);
      await expect(store.update(s.id, fields)).rejects.toThrow(/expired/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
