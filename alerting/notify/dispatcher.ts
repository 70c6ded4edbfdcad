/**
 * The dispatcher: keeps the alerts the engine reports, sorts them into groups per route and
 * group labels, and flushes each group on the clock, as Alertmanager's aggregation groups do:
 * first after `group_wait`, then every `group_interval`; the notification log decides whether a
 * flush has anything to send (new firing, new resolved, or `repeat_interval` passed). Silenced
 * and inhibited alerts are left out; if nothing is left, nothing is sent or logged.
 *
 * An alert the engine stops reporting is resolved after `resolve_timeout`, as in Alertmanager.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { Tags } from '../../core/model.ts';
import type { Alert } from '../types.ts';
import type { Activity } from './activity.ts';
import type { NotifyConfig } from './config.ts';
import { inhibitedBy } from './inhibit.ts';
import { type NotificationLog, needsUpdate } from './nflog.ts';
import { type DeliveryContext, deliver } from './retry.ts';
import { groupKeyOf, groupLabelsOf, matchRoutes, type Route } from './routing.ts';
import type { SilenceStore } from './silences.ts';
import { episodeId, type Integration, integrationId, type Notification } from './types.ts';

export type Group = {
  key: string;
  route: Route;
  labels: Tags;
  alerts: Map<string, Alert>;
  createdAt: number;
  hasFlushed: boolean;
  nextFlushAt: number;
  cancel?: () => void;
  flushing: boolean;
  /** A tick came while a flush was still sending: flush again once it is done. */
  flushAgain: boolean;
};

export type Forwarder = { receiver: string; integration: Integration; resendInterval: number };

export type DispatcherDeps = {
  config: NotifyConfig;
  clock: Clock;
  activity: Activity;
  nflog: NotificationLog;
  silences: SilenceStore;
  logger: Logger;
  delivery: DeliveryContext;
  /** Integrations that go through groups and the notification log. */
  grouped(receiver: string): Integration[];
  /** Alertmanager forwarders of a receiver: they get every alert, re-sent while firing. */
  forwarders(receiver: string): Forwarder[];
};

export type MuteState = { silencedBy: string[]; inhibitedBy: string[] };

export type Dispatcher = {
  update(alerts: readonly Alert[], now: number): void;
  /** Every alert held (firing, or resolved and not yet notified). */
  alerts(): Alert[];
  groups(): readonly Group[];
  muteState(alert: Alert, now: number): MuteState;
  close(): void;
};

type Tracked = { alert: Alert; lastSeen: number };
type ForwardState = { status: Alert['status']; lastSent: number };

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { config, clock, activity, nflog, logger } = deps;
  const tracked = new Map<string, Tracked>();
  const groups = new Map<string, Group>();
  const forwardState = new Map<string, Map<string, ForwardState>>();
  const forwarding = new Set<string>();
  /** How many groups hold each fingerprint: a resolved alert no group holds is dropped. */
  const heldBy = new Map<string, number>();
  /** No firing alert goes stale before this (the earliest last report plus resolve_timeout). */
  let nextStale = Number.POSITIVE_INFINITY;
  let closed = false;
  // Most setups forward to no Alertmanager: then there is no reason to walk every alert per update.
  const hasForwarders = [...config.receivers.keys()].some((name) => deps.forwarders(name).length > 0);

  function replaceEverywhere(alert: Alert): void {
    for (const g of groups.values())
      if (g.alerts.has(alert.fingerprint)) g.alerts.set(alert.fingerprint, alert);
  }

  /**
   * Alerts not reported for `resolve_timeout` resolve at their last report plus that timeout.
   * Called at every update and flush: it walks the alerts only when one can be stale.
   */
  function expireStale(now: number): void {
    if (now < nextStale) return;
    nextStale = Number.POSITIVE_INFINITY;
    for (const t of tracked.values()) {
      if (t.alert.status !== 'firing') continue;
      const endsAt = t.lastSeen + config.resolveTimeout;
      if (endsAt > now) {
        nextStale = Math.min(nextStale, endsAt);
        continue;
      }
      t.alert = { ...t.alert, status: 'resolved', endsAt, updatedAt: endsAt };
      replaceEverywhere(t.alert);
    }
  }

  function hold(group: Group, alert: Alert): void {
    if (!group.alerts.has(alert.fingerprint))
      heldBy.set(alert.fingerprint, (heldBy.get(alert.fingerprint) ?? 0) + 1);
    group.alerts.set(alert.fingerprint, alert);
  }

  function release(group: Group, fp: string): void {
    if (!group.alerts.delete(fp)) return;
    const n = (heldBy.get(fp) ?? 1) - 1;
    if (n > 0) heldBy.set(fp, n);
    else heldBy.delete(fp);
  }

  /** Drops the resolved alerts (of `fps`, or all) that no group holds any more. */
  function collectGarbage(fps: Iterable<string> = tracked.keys()): void {
    for (const fp of [...fps]) {
      const t = tracked.get(fp);
      if (t?.alert.status !== 'resolved' || heldBy.has(fp)) continue;
      tracked.delete(fp);
      for (const states of forwardState.values()) states.delete(fp);
    }
  }

  function scheduleFlush(group: Group, delay: number): void {
    group.cancel?.();
    group.nextFlushAt = clock.now() + delay;
    group.cancel = clock.setTimeout(() => activity.spawn('flush', () => flush(group)), delay);
  }

  /** The firing alerts that may inhibit others; none to list when no inhibit rule is set. */
  function inhibitSources(): Alert[] {
    if (config.inhibitRules.length === 0) return [];
    return [...tracked.values()].map((t) => t.alert).filter((a) => a.status === 'firing');
  }

  function muteState(alert: Alert, now: number, sources?: Alert[]): MuteState {
    const firing = sources ?? inhibitSources();
    return {
      silencedBy: deps.silences.mutedBy(alert.labels, now),
      inhibitedBy: inhibitedBy(config.inhibitRules, alert, firing),
    };
  }

  async function notifyGroup(group: Group, visible: Alert[], now: number): Promise<boolean> {
    const receiver = group.route.receiver;
    const firing = new Set(visible.filter((a) => a.status === 'firing').map(episodeId));
    const resolved = new Set(visible.filter((a) => a.status === 'resolved').map(episodeId));
    const results = await Promise.all(
      deps.grouped(receiver).map(async (integration) => {
        const id = integrationId(integration);
        const entry = nflog.get(group.key, receiver, id);
        const repeat = group.route.repeatInterval;
        if (!needsUpdate(entry, firing, resolved, integration.sendResolved, repeat, now)) return true;
        const alerts = integration.sendResolved ? visible : visible.filter((a) => a.status === 'firing');
        if (alerts.length > 0) {
          const n: Notification = {
            receiver,
            groupKey: group.key,
            groupLabels: group.labels,
            alerts,
            externalURL: config.externalURL,
            now,
          };
          const result = await deliver(integration, n, deps.delivery);
          if (!result.ok) {
            logger.warn('notification failed', {
              receiver,
              integration: id,
              groupKey: group.key,
              error: result.error,
            });
            return false;
          }
        }
        await nflog.set(group.key, receiver, id, { firing: [...firing], resolved: [...resolved], ts: now });
        return true;
      }),
    );
    return results.every(Boolean);
  }

  async function flush(group: Group): Promise<void> {
    if (closed) return;
    if (group.flushing) {
      group.flushAgain = true;
      return;
    }
    group.flushing = true;
    try {
      const now = clock.now();
      expireStale(now);
      group.hasFlushed = true;
      scheduleFlush(group, group.route.groupInterval);
      const snapshot = new Map(group.alerts);
      const sources = inhibitSources();
      const visible = [...snapshot.values()].filter((a) => {
        const m = muteState(a, now, sources);
        return m.silencedBy.length === 0 && m.inhibitedBy.length === 0;
      });
      const ok = visible.length === 0 || (await notifyGroup(group, visible, now));
      const released: string[] = [];
      if (ok)
        for (const [fp, a] of snapshot)
          if (a.status === 'resolved' && group.alerts.get(fp) === a) {
            release(group, fp);
            released.push(fp);
          }
      if (group.alerts.size === 0) {
        group.cancel?.();
        groups.delete(group.key);
      }
      collectGarbage(released);
    } finally {
      group.flushing = false;
      if (group.flushAgain && groups.get(group.key) === group) {
        group.flushAgain = false;
        activity.spawn('flush', () => flush(group));
      }
    }
  }

  function insert(alert: Alert, now: number): void {
    for (const route of matchRoutes(config.route, alert.labels)) {
      const labels = groupLabelsOf(route, alert.labels);
      const key = groupKeyOf(route, labels);
      let group = groups.get(key);
      if (!group) {
        group = {
          key,
          route,
          labels,
          alerts: new Map(),
          createdAt: now,
          hasFlushed: false,
          nextFlushAt: 0,
          flushing: false,
          flushAgain: false,
        };
        groups.set(key, group);
        scheduleFlush(group, route.groupWait);
      }
      hold(group, alert);
      // An alert older than group_wait (after a restart, say) need not wait again.
      if (!group.hasFlushed && alert.startsAt + route.groupWait <= now && group.nextFlushAt > now)
        scheduleFlush(group, 0);
    }
  }

  function forward(now: number): void {
    if (!hasForwarders) return;
    const due = new Map<string, { f: Forwarder; alerts: Alert[] }>();
    for (const { alert } of tracked.values()) {
      for (const route of matchRoutes(config.route, alert.labels)) {
        for (const f of deps.forwarders(route.receiver)) {
          const id = `${f.receiver}/${integrationId(f.integration)}`;
          const state = forwardState.get(id)?.get(alert.fingerprint);
          const stale = !state || state.status !== alert.status || state.lastSent + f.resendInterval <= now;
          if (!stale || (state?.status === 'resolved' && alert.status === 'resolved')) continue;
          const entry = due.get(id) ?? { f, alerts: [] };
          if (!entry.alerts.includes(alert)) entry.alerts.push(alert);
          due.set(id, entry);
        }
      }
    }
    for (const [id, { f, alerts }] of due) {
      if (forwarding.has(id)) continue;
      forwarding.add(id);
      activity.spawn('forward', async () => {
        try {
          const n: Notification = {
            receiver: f.receiver,
            groupKey: `forward:${f.receiver}`,
            groupLabels: {},
            alerts,
            externalURL: config.externalURL,
            now,
          };
          const result = await deliver(f.integration, n, deps.delivery);
          if (!result.ok) return;
          const states = forwardState.get(id) ?? new Map<string, ForwardState>();
          forwardState.set(id, states);
          for (const a of alerts) states.set(a.fingerprint, { status: a.status, lastSent: now });
        } finally {
          forwarding.delete(id);
        }
      });
    }
  }

  return {
    update(alerts, now) {
      if (closed) return;
      for (const alert of alerts) {
        const old = tracked.get(alert.fingerprint);
        if (old && old.alert.updatedAt > alert.updatedAt) continue;
        tracked.set(alert.fingerprint, { alert, lastSeen: now });
        if (alert.status === 'firing') nextStale = Math.min(nextStale, now + config.resolveTimeout);
        insert(alert, now);
      }
      expireStale(now);
      forward(now);
      collectGarbage();
    },
    alerts: () => [...tracked.values()].map((t) => t.alert),
    groups: () => [...groups.values()],
    muteState: (alert, now) => muteState(alert, now),
    close() {
      closed = true;
      for (const g of groups.values()) g.cancel?.();
    },
  };
}
