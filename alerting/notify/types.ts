/**
 * The notification pipeline's own vocabulary: what a receiver integration gets (one group's
 * notification) and what it answers (a result, never an exception).
 */
import type { HubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';
import type { Alert } from '../types.ts';

export type MatchType = '=' | '!=' | '=~' | '!~';

/** One label matcher, as Alertmanager writes it: `severity="page"`, `app=~"push.*"`. */
export type Matcher = {
  name: string;
  type: MatchType;
  value: string;
};

/** One group's notification to one receiver: what every payload builder works from. */
export type Notification = {
  receiver: string;
  /** `{route path}:{group labels}`, as Alertmanager forms it; stable across restarts. */
  groupKey: string;
  groupLabels: Tags;
  /** Firing and resolved alerts, each with its status as of `now`. */
  alerts: Alert[];
  /** Where the hub can be reached, for links back. */
  externalURL: string;
  /** Epoch ms the notification was built. */
  now: number;
};

export type IntegrationKind = 'webhook' | 'email' | 'chat' | 'pagerduty' | 'alertmanager' | 'oncall' | 'log';

export type SendResult = { ok: true; status?: number } | { ok: false; error: HubError; status?: number };

/** One way of delivering a receiver's notifications (one entry of one `*_configs` list). */
export type Integration = {
  kind: IntegrationKind;
  /** Position in its `*_configs` list, so `webhook/1` names the second webhook of a receiver. */
  index: number;
  /** Whether resolved alerts are sent at all. */
  sendResolved: boolean;
  /** Delivers one notification; failures come back as a result, never thrown. */
  send(notification: Notification): Promise<SendResult>;
  /** Releases connections (SMTP pools). */
  close?(): Promise<void>;
};

export function integrationId(i: Pick<Integration, 'kind' | 'index'>): string {
  return `${i.kind}/${i.index}`;
}

/** Whether any alert of the notification is firing (Alertmanager's group status). */
export function groupStatus(alerts: readonly Alert[]): 'firing' | 'resolved' {
  return alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
}

/** The identity of one firing episode of an alert: a re-fire after a resolve is a new one. */
export function episodeId(alert: Pick<Alert, 'fingerprint' | 'startsAt'>): string {
  return `${alert.fingerprint}@${alert.startsAt}`;
}
