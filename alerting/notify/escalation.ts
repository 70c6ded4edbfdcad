/**
 * Paging escalation. A receiver with `oncall_configs` opens an incident per group: level 0's
 * targets (usually whoever of the team is on call now) get the page; if its firing alerts are
 * not all acknowledged within the level's timeout, the next level is paged, and so on. Updates go
 * to the current level, the resolve to everyone paged. Incidents and acknowledgements are kept in
 * the data dir, so a restart neither pages again nor forgets to escalate.
 */
import { join } from 'node:path';
import type { Clock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Tags } from '../../core/model.ts';
import type { Alert } from '../types.ts';
import type { Activity } from './activity.ts';
import type { AttemptLog } from './attempts.ts';
import type { OncallTeam } from './config.ts';
import { levelTargets } from './oncall.ts';
import { deliver, type RetryPolicy } from './retry.ts';
import { createStateFile } from './state-file.ts';
import { episodeId, type Integration, type Notification, type SendResult } from './types.ts';

export type Incident = {
  id: string;
  team: string;
  groupKey: string;
  /** The on-call receiver the route sent the group to. */
  receiver: string;
  groupLabels: Tags;
  level: number;
  levelSince: number;
  openedAt: number;
  /** Receivers paged so far, who get the resolve. */
  paged: string[];
  /** The firing alerts as of the last notification. */
  alerts: Alert[];
  acknowledged: boolean;
};

export type Ack = { fingerprint: string; startsAt: number; by: string; at: number };

export type Escalations = {
  /** The integration behind one `oncall_configs` entry. */
  integration(team: string, index: number, sendResolved: boolean): Integration;
  /** Acknowledges a firing episode; returns the incidents it stopped escalating. */
  ack(fingerprint: string, startsAt: number, by: string): Promise<Incident[]>;
  ackOf(fingerprint: string, startsAt: number): Ack | undefined;
  incidents(): Incident[];
  close(): void;
};

type Stored = { version: 1; incidents: Incident[]; acks: Ack[] };

export type EscalationOptions = {
  dir: string;
  teams: ReadonlyMap<string, OncallTeam>;
  /** The integrations of a plain receiver (a person's, a team lead's). */
  targets(receiver: string): Integration[];
  clock: Clock;
  activity: Activity;
  attempts: AttemptLog;
  policy: RetryPolicy;
  logger: Logger;
  externalURL: string;
};

export async function openEscalations(options: EscalationOptions): Promise<Escalations> {
  const { clock, activity, teams, logger } = options;
  const file = createStateFile<Stored>(join(options.dir, 'escalations.json'));
  const stored = await file.read({ version: 1, incidents: [], acks: [] });
  const incidents = new Map(stored.incidents.map((i) => [i.id, i]));
  const acks = new Map(stored.acks.map((a) => [episodeId(a), a]));
  const timers = new Map<string, () => void>();

  const save = () => {
    const live = new Set([...incidents.values()].flatMap((i) => i.alerts.map(episodeId)));
    const oldest = clock.now() - 7 * 86_400_000;
    for (const [k, a] of acks) if (!live.has(k) && a.at < oldest) acks.delete(k);
    return file.write(() => ({ version: 1, incidents: [...incidents.values()], acks: [...acks.values()] }));
  };
  const allAcked = (alerts: readonly Alert[]) => alerts.every((a) => acks.has(episodeId(a)));

  async function page(targets: readonly string[], n: Notification, team: string): Promise<boolean> {
    const results = await Promise.all(
      targets.flatMap((receiver) =>
        options.targets(receiver).map(async (integration): Promise<SendResult> => {
          const alerts = integration.sendResolved ? n.alerts : n.alerts.filter((a) => a.status === 'firing');
          if (alerts.length === 0) return { ok: true };
          return deliver(integration, { ...n, receiver, alerts }, { ...options, via: team });
        }),
      ),
    );
    return results.length === 0 || results.some((r) => r.ok);
  }

  function schedule(incident: Incident): void {
    timers.get(incident.id)?.();
    timers.delete(incident.id);
    const team = teams.get(incident.team);
    const timeout = team?.escalation[incident.level]?.timeout;
    if (
      !team ||
      incident.acknowledged ||
      timeout === undefined ||
      incident.level + 1 >= team.escalation.length
    )
      return;
    const wait = Math.max(0, incident.levelSince + timeout - clock.now());
    timers.set(
      incident.id,
      clock.setTimeout(() => {
        timers.delete(incident.id);
        activity.spawn('escalation', () => escalate(incident.id));
      }, wait),
    );
  }

  async function escalate(id: string): Promise<void> {
    const incident = incidents.get(id);
    const team = incident && teams.get(incident.team);
    if (!incident || !team || incident.acknowledged || incident.level + 1 >= team.escalation.length) return;
    const now = clock.now();
    incident.level++;
    incident.levelSince = now;
    const targets = levelTargets(team, incident.level, now);
    for (const t of targets) if (!incident.paged.includes(t)) incident.paged.push(t);
    logger.info('escalating', {
      team: team.name,
      groupKey: incident.groupKey,
      level: incident.level,
      targets,
    });
    await save();
    schedule(incident);
    const n: Notification = {
      receiver: incident.receiver,
      groupKey: incident.groupKey,
      groupLabels: incident.groupLabels,
      alerts: incident.alerts,
      externalURL: options.externalURL,
      now,
    };
    await page(targets, n, team.name);
  }

  async function notify(teamName: string, sendResolved: boolean, n: Notification): Promise<SendResult> {
    const team = teams.get(teamName);
    if (!team) return { ok: false, error: new HubError('INVALID_CONFIG', `No on-call team "${teamName}"`) };
    const id = JSON.stringify([n.groupKey, n.receiver, teamName]);
    const firing = n.alerts.filter((a) => a.status === 'firing');
    let incident = incidents.get(id);
    let targets: string[];
    if (firing.length === 0) {
      if (!incident) return { ok: true };
      incidents.delete(id);
      timers.get(id)?.();
      timers.delete(id);
      await save();
      targets = sendResolved ? incident.paged : [];
    } else if (!incident) {
      targets = levelTargets(team, 0, n.now);
      incident = {
        id,
        team: teamName,
        groupKey: n.groupKey,
        receiver: n.receiver,
        groupLabels: n.groupLabels,
        level: 0,
        levelSince: n.now,
        openedAt: n.now,
        paged: [...targets],
        alerts: firing,
        acknowledged: allAcked(firing),
      };
      incidents.set(id, incident);
      await save();
      schedule(incident);
    } else {
      const wasAcked = incident.acknowledged;
      incident.alerts = firing;
      incident.acknowledged = allAcked(firing);
      if (wasAcked && !incident.acknowledged) incident.levelSince = n.now;
      targets = levelTargets(team, incident.level, n.now);
      for (const t of targets) if (!incident.paged.includes(t)) incident.paged.push(t);
      await save();
      schedule(incident);
    }
    if (await page(targets, n, teamName)) return { ok: true };
    return {
      ok: false,
      error: new HubError('UNAVAILABLE', `No page of team ${teamName} got through to ${targets.join(', ')}`),
    };
  }

  for (const incident of incidents.values()) schedule(incident);

  return {
    integration: (team, index, sendResolved) => ({
      kind: 'oncall',
      index,
      sendResolved: true,
      send: (n) => notify(team, sendResolved, n),
    }),
    async ack(fingerprint, startsAt, by) {
      const a: Ack = { fingerprint, startsAt, by, at: clock.now() };
      acks.set(episodeId(a), a);
      const stopped: Incident[] = [];
      for (const incident of incidents.values()) {
        if (incident.acknowledged || !incident.alerts.some((x) => episodeId(x) === episodeId(a))) continue;
        if (allAcked(incident.alerts)) {
          incident.acknowledged = true;
          timers.get(incident.id)?.();
          timers.delete(incident.id);
          stopped.push(incident);
        }
      }
      await save();
      return stopped;
    },
    ackOf: (fingerprint, startsAt) => acks.get(episodeId({ fingerprint, startsAt })),
    incidents: () => [...incidents.values()],
    close() {
      for (const cancel of timers.values()) cancel();
      timers.clear();
    },
  };
}
