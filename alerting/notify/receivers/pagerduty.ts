/** Paging receiver: PagerDuty Events API v2 (also spoken by Opsgenie, Grafana OnCall, Squadcast, …). */
import { createHash } from 'node:crypto';
import type { PagerDutyConfig } from '../config.ts';
import { groupStatus, type Integration, type Notification } from '../types.ts';
import { commonOf, lineOf, splitByStatus, titleOf } from './common.ts';
import { postJson } from './http.ts';

export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

export type PagerDutyEvent = {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: PagerDutySeverity;
    timestamp?: string;
    custom_details: Record<string, unknown>;
  };
  client: string;
  client_url: string;
  links?: { href: string; text: string }[];
};

const SEVERITY_OF: Record<string, PagerDutySeverity> = {
  critical: 'critical',
  page: 'critical',
  error: 'error',
  warning: 'warning',
  warn: 'warning',
  info: 'info',
};

/** Same group, same incident: the dedup key is the SHA-256 of the group key, as Alertmanager's. */
export function dedupKeyOf(groupKey: string): string {
  return createHash('sha256').update(groupKey).digest('hex');
}

export function buildPagerDutyEvent(
  n: Notification,
  config: Pick<PagerDutyConfig, 'routingKey' | 'severity' | 'source' | 'client' | 'clientUrl'>,
): PagerDutyEvent {
  const firingNow = groupStatus(n.alerts) === 'firing';
  const base = {
    routing_key: config.routingKey,
    event_action: firingNow ? ('trigger' as const) : ('resolve' as const),
    dedup_key: dedupKeyOf(n.groupKey),
    client: config.client,
    client_url: config.clientUrl ?? n.externalURL,
  };
  if (!firingNow) return base;
  const { firing, resolved } = splitByStatus(n.alerts);
  const common = commonOf(n.alerts.map((a) => a.labels));
  const generator = firing.find((a) => a.generatorURL)?.generatorURL;
  return {
    ...base,
    payload: {
      summary: titleOf(n).slice(0, 1024),
      source: config.source ?? common['host'] ?? common['app'] ?? config.client,
      severity: config.severity ?? SEVERITY_OF[(common['severity'] ?? '').toLowerCase()] ?? 'error',
      timestamp: new Date(Math.min(...firing.map((a) => a.startsAt))).toISOString(),
      custom_details: {
        firing: firing.map(lineOf).join('\n'),
        resolved: resolved.map(lineOf).join('\n'),
        num_firing: firing.length,
        num_resolved: resolved.length,
        group_labels: n.groupLabels,
        common_labels: common,
      },
    },
    ...(generator ? { links: [{ href: generator, text: 'Alert source' }] } : {}),
  };
}

export function createPagerDutyIntegration(
  config: PagerDutyConfig,
  index: number,
  timeoutMs: number,
): Integration {
  return {
    kind: 'pagerduty',
    index,
    sendResolved: config.sendResolved,
    send: (n) => postJson(config.url, buildPagerDutyEvent(n, config), { timeoutMs }),
  };
}
