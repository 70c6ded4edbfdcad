/** Webhook receiver: Alertmanager's webhook JSON (version 4), so existing webhook consumers work unchanged. */
import type { WebhookConfig } from '../config.ts';
import { groupStatus, type Integration, type Notification } from '../types.ts';
import { commonOf, rfc3339, ZERO_TIME } from './common.ts';
import { postJson } from './http.ts';

export type WebhookAlert = {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
};

export type WebhookPayload = {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
};

/** Alertmanager's webhook body; `maxAlerts` > 0 truncates the list as `max_alerts` does. */
export function buildWebhookPayload(n: Notification, maxAlerts = 0): WebhookPayload {
  const kept = maxAlerts > 0 ? n.alerts.slice(0, maxAlerts) : n.alerts;
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: n.alerts.length - kept.length,
    status: groupStatus(n.alerts),
    receiver: n.receiver,
    groupLabels: { ...n.groupLabels },
    commonLabels: commonOf(n.alerts.map((a) => a.labels)),
    commonAnnotations: commonOf(n.alerts.map((a) => a.annotations)),
    externalURL: n.externalURL,
    alerts: kept.map((a) => ({
      status: a.status,
      labels: { ...a.labels },
      annotations: { ...a.annotations },
      startsAt: rfc3339(a.startsAt),
      endsAt: a.status === 'resolved' && a.endsAt !== null ? rfc3339(a.endsAt) : ZERO_TIME,
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
    })),
  };
}

export function createWebhookIntegration(
  config: WebhookConfig,
  index: number,
  timeoutMs: number,
): Integration {
  return {
    kind: 'webhook',
    index,
    sendResolved: config.sendResolved,
    send: (n) => postJson(config.url, buildWebhookPayload(n, config.maxAlerts), { timeoutMs }),
  };
}
