import { describe, expect, it } from 'vitest';
import { parseNotifyConfig } from './config.ts';
import { levelTargets, shiftAt } from './oncall.ts';

const Z = (iso: string) => Date.parse(iso);

const config = parseNotifyConfig({
  route: { receiver: 'alice' },
  receivers: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }, { name: 'lead' }],
  oncall: {
    weekly: {
      time_zone: 'Europe/Berlin',
      members: [
        { name: 'alice', receiver: 'alice' },
        { name: 'bob', receiver: 'bob' },
        { name: 'carol', receiver: 'carol' },
      ],
      shift: '1w',
      start: '2026-01-05T09:00',
      escalation: [
        { oncall: 0, timeout: '5m' },
        { oncall: 1, timeout: '10m' },
        { oncall: 0, receivers: ['lead'] },
      ],
    },
    twelve: {
      members: [
        { name: 'alice', receiver: 'alice' },
        { name: 'bob', receiver: 'bob' },
      ],
      shift: '12h',
      start: '2026-01-01T08:00:00Z',
    },
  },
});
const weekly = config.oncall.get('weekly')!;
const twelve = config.oncall.get('twelve')!;

describe('shiftAt', () => {
  it.each([
    ['before the start: the last member', weekly, '2026-01-05T07:59:59Z', 'carol'],
    ['first shift starts at 09:00 Berlin', weekly, '2026-01-05T08:00:00Z', 'alice'],
    ['end of the first week', weekly, '2026-01-12T07:59:59Z', 'alice'],
    ['second week', weekly, '2026-01-12T08:00:00Z', 'bob'],
    ['third week', weekly, '2026-01-19T08:00:00Z', 'carol'],
    ['the week across DST still hands over at 09:00 local (07:00Z)', weekly, '2026-03-30T06:59:59Z', 'carol'],
    ['after DST', weekly, '2026-03-30T07:00:00Z', 'alice'],
    ['12h shifts, fixed length', twelve, '2026-01-01T19:59:59Z', 'alice'],
    ['12h shifts, second', twelve, '2026-01-01T20:00:00Z', 'bob'],
    ['12h shifts, third', twelve, '2026-01-02T08:00:00Z', 'alice'],
  ])('%s', (_name, team, iso, who) => {
    expect(shiftAt(team, Z(iso)).member.name).toBe(who);
  });

  it('a shift across the DST change is an hour shorter', () => {
    const s = shiftAt(weekly, Z('2026-03-29T12:00:00Z'));
    expect(s.startsAt).toBe(Z('2026-03-23T08:00:00Z'));
    expect(s.endsAt).toBe(Z('2026-03-30T07:00:00Z'));
  });

  it('offset 1 is whoever is on call next', () => {
    expect(shiftAt(weekly, Z('2026-01-06T00:00:00Z'), 1).member.name).toBe('bob');
  });
});

it('levelTargets resolves rotation offsets and named receivers', () => {
  const t = Z('2026-01-06T00:00:00Z');
  expect(levelTargets(weekly, 0, t)).toEqual(['alice']);
  expect(levelTargets(weekly, 1, t)).toEqual(['bob']);
  expect(levelTargets(weekly, 2, t)).toEqual(['alice', 'lead']);
  expect(levelTargets(weekly, 3, t)).toEqual([]);
});
