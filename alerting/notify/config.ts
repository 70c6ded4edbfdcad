/**
 * The notification config: Alertmanager's `route`, `receivers` and `inhibit_rules` (same names,
 * same defaults), plus `oncall` (rotations and escalation per team). Validated by
 * a schema (`config-schema.ts`); an error names the field (`route.routes[1].receiver`).
 */
import { parse as parseYaml } from 'yaml';
import { HubError } from '../../core/errors.ts';
import { notifyConfigSchema, type RawNotifyConfig, type RawRoute } from './config-schema.ts';
import { buildRouteTree, type Route, type RouteInput } from './routing.ts';
import { parseLocalDateTime } from './timezone.ts';
import type { Matcher } from './types.ts';

export type WebhookConfig = { url: string; sendResolved: boolean; maxAlerts: number };
export type EmailConfig = {
  to: string;
  from: string;
  smarthost: { host: string; port: number };
  auth?: { username: string; password: string };
  requireTls: boolean;
  insecureSkipVerify: boolean;
  sendResolved: boolean;
  headers: Record<string, string>;
};
export type ChatConfig = { url: string; channel?: string; username?: string; sendResolved: boolean };
export type PagerDutyConfig = {
  routingKey: string;
  url: string;
  severity?: 'critical' | 'error' | 'warning' | 'info';
  source?: string;
  client: string;
  clientUrl?: string;
  sendResolved: boolean;
};
export type AlertmanagerConfig = { url: string; resendInterval: number };
export type ReceiverConfig = {
  name: string;
  webhook: WebhookConfig[];
  email: EmailConfig[];
  chat: ChatConfig[];
  pagerduty: PagerDutyConfig[];
  alertmanager: AlertmanagerConfig[];
  oncall: { team: string; sendResolved: boolean }[];
  log: { level: 'debug' | 'info' | 'warn' | 'error' }[];
};
export type InhibitRule = { sourceMatchers: Matcher[]; targetMatchers: Matcher[]; equal: string[] };
export type EscalationLevel = { timeout?: number; oncall?: number; receivers: string[] };
export type OncallTeam = {
  name: string;
  timeZone: string;
  members: { name: string; receiver: string }[];
  shift: number;
  /** Epoch ms of the first shift's start. */
  start: number;
  escalation: EscalationLevel[];
};

export type NotifyConfig = {
  resolveTimeout: number;
  externalURL: string;
  httpTimeout: number;
  nflogRetention: number;
  retry: { attempts: number; initialBackoff: number; maxBackoff: number };
  route: Route;
  receivers: Map<string, ReceiverConfig>;
  inhibitRules: InhibitRule[];
  oncall: Map<string, OncallTeam>;
};

function fail(where: string, message: string): never {
  throw new HubError('INVALID_CONFIG', `Invalid notification setting ${where}: ${message}`, { where });
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

function toRouteInput(r: RawRoute): RouteInput {
  return {
    receiver: r.receiver,
    groupBy: r.group_by,
    groupWait: r.group_wait,
    groupInterval: r.group_interval,
    repeatInterval: r.repeat_interval,
    matchers: r.matchers,
    continue: r.continue,
    routes: r.routes.map(toRouteInput),
  };
}

function toReceiver(r: RawNotifyConfig['receivers'][number]): ReceiverConfig {
  return {
    name: r.name,
    webhook: r.webhook_configs.map((w) => ({
      url: w.url,
      sendResolved: w.send_resolved,
      maxAlerts: w.max_alerts,
    })),
    email: r.email_configs.map((e) => ({
      to: e.to,
      from: e.from,
      smarthost: e.smarthost,
      ...(e.auth_username !== undefined
        ? { auth: { username: e.auth_username, password: e.auth_password ?? '' } }
        : {}),
      requireTls: e.require_tls,
      insecureSkipVerify: e.insecure_skip_verify,
      sendResolved: e.send_resolved,
      headers: e.headers,
    })),
    chat: r.chat_configs.map((c) => ({
      url: c.url,
      ...(c.channel !== undefined ? { channel: c.channel } : {}),
      ...(c.username !== undefined ? { username: c.username } : {}),
      sendResolved: c.send_resolved,
    })),
    pagerduty: r.pagerduty_configs.map((p) => ({
      routingKey: p.routing_key,
      url: p.url,
      ...(p.severity !== undefined ? { severity: p.severity } : {}),
      ...(p.source !== undefined ? { source: p.source } : {}),
      client: p.client,
      ...(p.client_url !== undefined ? { clientUrl: p.client_url } : {}),
      sendResolved: p.send_resolved,
    })),
    alertmanager: r.alertmanager_configs.map((a) => ({ url: a.url, resendInterval: a.resend_interval })),
    oncall: r.oncall_configs.map((o) => ({ team: o.team, sendResolved: o.send_resolved })),
    log: r.log_configs,
  };
}

function checkReferences(raw: RawNotifyConfig, receivers: Map<string, ReceiverConfig>, route: Route): void {
  if (route.matchers.length > 0)
    fail('route.matchers', 'the root route must match every alert: remove its matchers');
  if (!raw.route.receiver) fail('route.receiver', 'the root route needs a receiver');
  const walk = (r: RawRoute, where: string) => {
    if (r.receiver !== undefined && !receivers.has(r.receiver))
      fail(`${where}.receiver`, `no receiver named "${r.receiver}"`);
    r.routes.forEach((c, i) => {
      walk(c, `${where}.routes[${i}]`);
    });
  };
  walk(raw.route, 'route');
  raw.receivers.forEach((r, i) => {
    r.oncall_configs.forEach((o, j) => {
      if (!raw.oncall[o.team])
        fail(`receivers[${i}].oncall_configs[${j}].team`, `no on-call team "${o.team}" under oncall`);
    });
  });
  const isOncall = (name: string) => (receivers.get(name)?.oncall.length ?? 0) > 0;
  for (const [team, t] of Object.entries(raw.oncall)) {
    t.members.forEach((m, i) => {
      if (!receivers.has(m.receiver))
        fail(`oncall.${team}.members[${i}].receiver`, `no receiver named "${m.receiver}"`);
      if (isOncall(m.receiver))
        fail(`oncall.${team}.members[${i}].receiver`, `"${m.receiver}" is itself an on-call receiver`);
    });
    t.escalation.forEach((l, i) => {
      l.receivers.forEach((name, j) => {
        const where = `oncall.${team}.escalation[${i}].receivers[${j}]`;
        if (!receivers.has(name)) fail(where, `no receiver named "${name}"`);
        if (isOncall(name)) fail(where, `"${name}" is itself an on-call receiver`);
      });
      if (i < t.escalation.length - 1 && l.timeout === undefined)
        fail(`oncall.${team}.escalation[${i}].timeout`, 'every level but the last needs a timeout');
    });
  }
}

/** Validates a parsed (YAML or JSON) notification config. */
export function parseNotifyConfig(input: unknown): NotifyConfig {
  const result = notifyConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    fail(pathText(issue.path), issue.message);
  }
  const raw = result.data;
  const receivers = new Map<string, ReceiverConfig>();
  raw.receivers.forEach((r, i) => {
    if (receivers.has(r.name)) fail(`receivers[${i}].name`, `"${r.name}" is defined twice`);
    receivers.set(r.name, toReceiver(r));
  });
  const route = buildRouteTree(toRouteInput(raw.route));
  checkReferences(raw, receivers, route);
  const oncall = new Map<string, OncallTeam>();
  for (const [name, t] of Object.entries(raw.oncall)) {
    let start: number;
    try {
      start = parseLocalDateTime(t.start, t.time_zone, `oncall.${name}.start`);
    } catch (e) {
      fail(`oncall.${name}.start`, (e as Error).message);
    }
    oncall.set(name, {
      name,
      timeZone: t.time_zone,
      members: t.members,
      shift: t.shift,
      start,
      escalation: t.escalation.map((l) => ({
        ...(l.timeout !== undefined ? { timeout: l.timeout } : {}),
        ...(l.oncall !== undefined ? { oncall: l.oncall } : {}),
        receivers: l.receivers,
      })),
    });
  }
  const g = raw.global;
  return {
    resolveTimeout: g.resolve_timeout,
    externalURL: g.external_url.replace(/\/+$/, ''),
    httpTimeout: g.http_timeout,
    nflogRetention: g.notification_log_retention,
    retry: {
      attempts: g.retry.attempts,
      initialBackoff: g.retry.initial_backoff,
      maxBackoff: g.retry.max_backoff,
    },
    route,
    receivers,
    inhibitRules: raw.inhibit_rules.map((r) => ({
      sourceMatchers: r.source_matchers,
      targetMatchers: r.target_matchers,
      equal: r.equal,
    })),
    oncall,
  };
}

/** Parses the YAML text of a notification config; `source` names the file in errors. */
export function parseNotifyConfigYaml(text: string, source = 'notification config'): NotifyConfig {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (e) {
    throw new HubError('INVALID_CONFIG', `${source} is not valid YAML: ${(e as Error).message}`, {
      cause: e,
      where: source,
    });
  }
  try {
    return parseNotifyConfig(parsed);
  } catch (e) {
    if (e instanceof HubError)
      throw new HubError('INVALID_CONFIG', `${e.message} (in ${source})`, {
        cause: e,
        where: e.where ?? source,
      });
    throw e;
  }
}

/**
 * The embedded default: every alert to a `log` receiver (the log notifier), grouped by
 * alertname, with Alertmanager's timings.
 */
export function defaultNotifyConfig(externalURL?: string): NotifyConfig {
  return parseNotifyConfig({
    ...(externalURL ? { global: { external_url: externalURL } } : {}),
    route: { receiver: 'log', group_by: ['alertname'] },
    receivers: [{ name: 'log', log_configs: [{}] }],
  });
}
