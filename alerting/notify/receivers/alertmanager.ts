/**
 * Forwarding to an existing Alertmanager, as Prometheus does: every alert is POSTed to
 * `/api/v2/alerts`, re-sent while it fires with an `endsAt` a little in the future (so that
 * Alertmanager resolves it by itself if the hub goes quiet), and sent once more when it resolves.
 * Grouping, silences and inhibition are then that Alertmanager's business.
 */
import type { Alert } from '../../types.ts';
import type { AlertmanagerConfig } from '../config.ts';
import type { Integration, Notification } from '../types.ts';
import { rfc3339 } from './common.ts';
import { postJson } from './http.ts';

export type PostableAlert = {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
};

/** Alertmanager's postable alerts; firing ones are valid until `now + validFor`. */
export function buildAlertmanagerAlerts(
  alerts: readonly Alert[],
  now: number,
  validFor: number,
): PostableAlert[] {
  return alerts.map((a) => ({
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    startsAt: rfc3339(a.startsAt),
    endsAt: rfc3339(a.status === 'resolved' && a.endsAt !== null ? a.endsAt : now + validFor),
    generatorURL: a.generatorURL,
  }));
}

export function alertsEndpoint(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/api/v2/alerts') ? trimmed : `${trimmed}/api/v2/alerts`;
}

export function createAlertmanagerIntegration(
  config: AlertmanagerConfig,
  index: number,
  timeoutMs: number,
  validFor: number,
): Integration {
  return {
    kind: 'alertmanager',
    index,
    sendResolved: true,
    send: (n: Notification) =>
      postJson(alertsEndpoint(config.url), buildAlertmanagerAlerts(n.alerts, n.now, validFor), { timeoutMs }),
  };
}
