/**
 * The notification pipeline: the `AlertSink` the rule engine feeds, built from the notification
 * config, with its state (notification log, silences, escalations, attempts) in a data dir.
 */
import { join } from 'node:path';
import { type Clock, systemClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { Notifier } from '../../core/ports.ts';
import type { Alert, AlertSink } from '../types.ts';
import { createActivity } from './activity.ts';
import { type AttemptLog, openAttemptLog } from './attempts.ts';
import type { NotifyConfig, ReceiverConfig } from './config.ts';
import { createDispatcher, type Dispatcher, type Forwarder } from './dispatcher.ts';
import { type Ack, type Escalations, type Incident, openEscalations } from './escalation.ts';
import { openNotificationLog } from './nflog.ts';
import { shiftAt } from './oncall.ts';
import { createNotifierPort } from './port.ts';
import { buildIntegrations } from './receivers/index.ts';
import type { DeliveryContext } from './retry.ts';
import { matchRoutes } from './routing.ts';
import { openSilenceStore, type SilenceStore } from './silences.ts';
import type { Integration } from './types.ts';

export type NotifyPipelineOptions = {
  config: NotifyConfig;
  /** Where the notification log, silences, escalations and attempts are kept. */
  dataDir: string;
  clock?: Clock;
  logger?: Logger;
  /** Replaces the integrations built for a receiver (other adapters, tests). */
  integrations?: (receiver: ReceiverConfig, built: Integration[]) => Integration[];
};

export type AlertView = Alert & {
  receivers: string[];
  silencedBy: string[];
  inhibitedBy: string[];
  acknowledged?: { by: string; at: number };
};

export type GroupView = {
  groupKey: string;
  receiver: string;
  route: string;
  labels: Record<string, string>;
  alerts: AlertView[];
  nextFlushAt: number;
  hasFlushed: boolean;
  /** Per integration: when it was last notified, and of which episodes. */
  notified: { integration: string; ts: number; firing: number; resolved: number }[];
};

export type OncallView = {
  team: string;
  timeZone: string;
  current: { name: string; receiver: string; since: number; until: number };
  next: { name: string; receiver: string; since: number; until: number };
  levels: { timeout?: number; oncall?: number; receivers: string[] }[];
  incidents: Incident[];
};

export type NotifyPipeline = AlertSink & {
  readonly config: NotifyConfig;
  readonly silences: SilenceStore;
  readonly attempts: AttemptLog;
  readonly escalations: Escalations;
  /** The core `Notifier` port over these receivers: direct sends, no grouping. */
  readonly notifier: Notifier;
  /** Epoch ms on the pipeline's clock. */
  now(): number;
  /** Alerts held now, with their receivers, mute state and acknowledgement. */
  alerts(now?: number): AlertView[];
  groups(now?: number): GroupView[];
  oncall(now?: number): OncallView[];
  /** Acknowledges the firing alert with this fingerprint: its escalations stop. */
  ack(fingerprint: string, by: string): Promise<{ ack: Ack; stopped: Incident[] }>;
  /** Resolves when no notification is being sent (timers may still be pending). */
  idle(): Promise<void>;
  close(): Promise<void>;
};

export async function createNotifyPipeline(options: NotifyPipelineOptions): Promise<NotifyPipeline> {
  const { config, dataDir } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const activity = createActivity(clock, logger);
  const now = () => clock.now();
  const [nflog, silences, attempts] = await Promise.all([
    openNotificationLog({
      dir: dataDir,
      retention: config.nflogRetention,
      now,
      onError: (e) => logger.error('notification log could not compact its journal', { err: e }),
    }),
    openSilenceStore({ dir: dataDir, now }),
    openAttemptLog({ dir: dataDir }),
  ]);
  const plain = new Map<string, Integration[]>();
  for (const r of config.receivers.values()) {
    const built = buildIntegrations(r, {
      timeoutMs: config.httpTimeout,
      logger,
      forwardValidFor: (resend) => Math.max(config.resolveTimeout, 4 * resend),
    });
    plain.set(r.name, options.integrations ? options.integrations(r, built) : built);
  }
  const delivery: DeliveryContext = { clock, activity, attempts, policy: config.retry };
  const escalations = await openEscalations({
    dir: dataDir,
    teams: config.oncall,
    targets: (name) => (plain.get(name) ?? []).filter((i) => i.kind !== 'alertmanager'),
    clock,
    activity,
    attempts,
    policy: config.retry,
    logger,
    externalURL: config.externalURL,
  });
  const grouped = new Map<string, Integration[]>();
  const forwarders = new Map<string, Forwarder[]>();
  for (const r of config.receivers.values()) {
    const own = plain.get(r.name)!;
    grouped.set(r.name, [
      ...own.filter((i) => i.kind !== 'alertmanager'),
      ...r.oncall.map((o, i) => escalations.integration(o.team, i, o.sendResolved)),
    ]);
    forwarders.set(
      r.name,
      own
        .filter((i) => i.kind === 'alertmanager')
        .map((integration) => ({
          receiver: r.name,
          integration,
          resendInterval: r.alertmanager[integration.index]!.resendInterval,
        })),
    );
  }
  const dispatcher: Dispatcher = createDispatcher({
    config,
    clock,
    activity,
    nflog,
    silences,
    logger,
    delivery,
    grouped: (name) => grouped.get(name) ?? [],
    forwarders: (name) => forwarders.get(name) ?? [],
  });

  const view = (a: Alert, t: number): AlertView => {
    const ack = a.status === 'firing' ? escalations.ackOf(a.fingerprint, a.startsAt) : undefined;
    return {
      ...a,
      receivers: [...new Set(matchRoutes(config.route, a.labels).map((r) => r.receiver))],
      ...dispatcher.muteState(a, t),
      ...(ack ? { acknowledged: { by: ack.by, at: ack.at } } : {}),
    };
  };

  return {
    config,
    silences,
    attempts,
    escalations,
    notifier: createNotifierPort({
      integrations: (name) => plain.get(name),
      clock,
      activity,
      attempts,
      policy: config.retry,
      externalURL: config.externalURL,
    }),
    now: () => clock.now(),
    async update(alerts, t) {
      dispatcher.update(alerts, t);
    },
    alerts: (t = clock.now()) => dispatcher.alerts().map((a) => view(a, t)),
    groups(t = clock.now()) {
      const logged = nflog.entries();
      return dispatcher.groups().map((g) => ({
        groupKey: g.key,
        receiver: g.route.receiver,
        route: g.route.key,
        labels: g.labels,
        alerts: [...g.alerts.values()].map((a) => view(a, t)),
        nextFlushAt: g.nextFlushAt,
        hasFlushed: g.hasFlushed,
        notified: logged
          .filter((e) => e.groupKey === g.key && e.receiver === g.route.receiver)
          .map((e) => ({
            integration: e.integration,
            ts: e.entry.ts,
            firing: e.entry.firing.length,
            resolved: e.entry.resolved.length,
          })),
      }));
    },
    oncall(t = clock.now()) {
      return [...config.oncall.values()].map((team) => {
        const person = (offset: number) => {
          const s = shiftAt(team, t, offset);
          return { ...s.member, since: s.startsAt, until: s.endsAt };
        };
        return {
          team: team.name,
          timeZone: team.timeZone,
          current: person(0),
          next: person(1),
          levels: team.escalation,
          incidents: escalations.incidents().filter((i) => i.team === team.name),
        };
      });
    },
    async ack(fingerprint, by) {
      const alert = dispatcher.alerts().find((a) => a.fingerprint === fingerprint && a.status === 'firing');
      if (!alert)
        throw new HubError('NOT_FOUND', `No firing alert with fingerprint ${fingerprint}`, {
          where: 'fingerprint',
        });
      const stopped = await escalations.ack(fingerprint, alert.startsAt, by);
      return { ack: escalations.ackOf(fingerprint, alert.startsAt)!, stopped };
    },
    idle: () => activity.idle(),
    async close() {
      dispatcher.close();
      escalations.close();
      await activity.close();
      await Promise.all([...plain.values()].flat().map((i) => i.close?.()));
      await Promise.all([attempts.flushed(), nflog.flushed(), silences.flushed()]);
    },
  };
}

export const NOTIFY_DIR = 'notify';

/** The pipeline's directory inside the hub's data dir. */
export function notifyDataDir(hubDataDir: string): string {
  return join(hubDataDir, NOTIFY_DIR);
}
