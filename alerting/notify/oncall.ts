/**
 * On-call rotations: who of a team is on call at an instant. Shifts that are whole days hand over
 * at the start's local wall-clock time in the team's time zone (a weekly shift starting Monday
 * 09:00 Europe/Berlin hands over at 09:00 local in summer and in winter, so the shift across a
 * DST change is an hour shorter or longer); other lengths are fixed spans of elapsed time.
 */
import type { OncallTeam } from './config.ts';
import { addCivilDays, civilDaysBetween, localTime, zonedTimeToUtc } from './timezone.ts';

export type Shift = {
  /** Index of the shift since the rotation's start (negative before it). */
  index: number;
  member: { name: string; receiver: string };
  startsAt: number;
  endsAt: number;
};

const DAY = 86_400_000;
const mod = (a: number, n: number) => ((a % n) + n) % n;

function shiftBounds(team: OncallTeam, index: number): [number, number] {
  if (team.shift % DAY !== 0) return [team.start + index * team.shift, team.start + (index + 1) * team.shift];
  const days = team.shift / DAY;
  const start = localTime(team.start, team.timeZone);
  const at = (i: number) =>
    zonedTimeToUtc({ ...addCivilDays(start, i * days), second: start.second }, team.timeZone);
  return [at(index), at(index + 1)];
}

function shiftIndex(team: OncallTeam, t: number): number {
  if (team.shift % DAY !== 0) return Math.floor((t - team.start) / team.shift);
  const days = team.shift / DAY;
  let index = Math.floor(
    civilDaysBetween(localTime(team.start, team.timeZone), localTime(t, team.timeZone)) / days,
  );
  while (t < shiftBounds(team, index)[0]) index--;
  while (t >= shiftBounds(team, index)[1]) index++;
  return index;
}

/** The shift at instant `t`, `offset` shifts later (1 = whoever is on call next). */
export function shiftAt(team: OncallTeam, t: number, offset = 0): Shift {
  const index = shiftIndex(team, t) + offset;
  const [startsAt, endsAt] = shiftBounds(team, index);
  return { index, member: team.members[mod(index, team.members.length)]!, startsAt, endsAt };
}

/** The receivers to page at escalation level `level` of `team` at instant `t`. */
export function levelTargets(team: OncallTeam, level: number, t: number): string[] {
  const l = team.escalation[level];
  if (!l) return [];
  const out = l.oncall !== undefined ? [shiftAt(team, t, l.oncall).member.receiver] : [];
  for (const r of l.receivers) if (!out.includes(r)) out.push(r);
  return out;
}
