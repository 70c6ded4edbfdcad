/**
 * The notification config: Alertmanager's `route`, `receivers` and `inhibit_rules` (same names,
 * same defaults), plus `oncall` (rotations and escalation per team). Validated by
 * a schema; an error names the field (`route.routes[1].receiver`).
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { HubError } from '../../core/errors.ts';
import { parseMatchers } from './matchers.ts';
import { buildRouteTree, type Route, type RouteInput } from './routing.ts';
import { isValidTimeZone, parseLocalDateTime } from './timezone.ts';
import type { Matcher } from './types.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5, y: 31536e6 };

/** Parses Alertmanager/Prometheus durations: `30s`, `5m`, `1h30m`, `1d`, `500ms`. */
export function parseAmDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '0') return 0;
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const ms = parseAmDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration like 30s, 5m, 1h30m, 1d` });
    return z.NEVER;
  }
  return ms;
});

const positiveDuration = duration.refine((v) => v > 0, 'must be longer than 0');

const matcherList = z.array(z.string()).transform((items, ctx) => {
  const out: Matcher[] = [];
  items.forEach((item, i) => {
    try {
      out.push(...parseMatchers(item));
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message, path: [i] });
    }
  });
  return out;
});

const url = z.string().refine((s) => URL.canParse(s) && /^https?:/.test(s), 'must be an http(s) URL');

type RawRoute = {
  receiver?: string | undefined;
  group_by?: string[] | undefined;
  group_wait?: number | undefined;
  group_interval?: number | undefined;
  repeat_interval?: number | undefined;
  matchers: Matcher[];
  continue: boolean;
  routes: RawRoute[];
};

const routeSchema: z.ZodType<RawRoute, unknown> = z.lazy(() =>
  z
    .object({
      receiver: z.string().min(1).optional(),
      group_by: z.array(z.string().min(1)).optional(),
      group_wait: duration.optional(),
      group_interval: positiveDuration.optional(),
      repeat_interval: positiveDuration.optional(),
      matchers: matcherList.default([]),
      continue: z.boolean().default(false),
      routes: z.array(routeSchema).default([]),
    })
    .strict(),
);

const hostPort = z.string().transform((v, ctx) => {
  const m = /^(.+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not host:port` });
    return z.NEVER;
  }
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
});

const webhookSchema = z
  .object({
    url,
    send_resolved: z.boolean().default(true),
    max_alerts: z.number().int().nonnegative().default(0),
  })
  .strict();

const emailSchema = z
  .object({
    to: z.string().min(1),
    from: z.string().min(1),
    smarthost: hostPort,
    auth_username: z.string().optional(),
    auth_password: z.string().optional(),
    require_tls: z.boolean().default(true),
    insecure_skip_verify: z.boolean().default(false),
    send_resolved: z.boolean().default(false),
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const chatSchema = z
  .object({
    url,
    channel: z.string().optional(),
    username: z.string().optional(),
    send_resolved: z.boolean().default(false),
  })
  .strict();

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

const pagerdutySchema = z
  .object({
    routing_key: z.string().min(1),
    url: url.default(PAGERDUTY_EVENTS_URL),
    severity: z.enum(['critical', 'error', 'warning', 'info']).optional(),
    source: z.string().optional(),
    client: z.string().default('obs'),
    client_url: z.string().optional(),
    send_resolved: z.boolean().default(true),
  })
  .strict();

const alertmanagerSchema = z
  .object({
    url,
    resend_interval: positiveDuration.default(60_000),
  })
  .strict();

const oncallRefSchema = z
  .object({ team: z.string().min(1), send_resolved: z.boolean().default(true) })
  .strict();
const logSchema = z.object({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).strict();

const receiverSchema = z
  .object({
    name: z.string().min(1),
    webhook_configs: z.array(webhookSchema).default([]),
    email_configs: z.array(emailSchema).default([]),
    chat_configs: z.array(chatSchema).default([]),
    pagerduty_configs: z.array(pagerdutySchema).default([]),
    alertmanager_configs: z.array(alertmanagerSchema).default([]),
    oncall_configs: z.array(oncallRefSchema).default([]),
    log_configs: z.array(logSchema).default([]),
  })
  .strict();

const inhibitSchema = z
  .object({
    source_matchers: matcherList.default([]),
    target_matchers: matcherList.default([]),
    equal: z.array(z.string()).default([]),
  })
  .strict();

const timeZone = z.string().refine(isValidTimeZone, 'is not an IANA time zone like Europe/Berlin');

const levelSchema = z
  .object({
    timeout: positiveDuration.optional(),
    oncall: z.number().int().nonnegative().optional(),
    receivers: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .refine((l) => l.oncall !== undefined || l.receivers.length > 0, 'a level needs oncall: N or receivers');

const teamSchema = z
  .object({
    time_zone: timeZone.default('UTC'),
    members: z
      .array(z.object({ name: z.string().min(1), receiver: z.string().min(1) }).strict())
      .min(1, 'needs at least one member'),
    shift: positiveDuration.default(7 * 86_400_000),
    start: z.string(),
    escalation: z.array(levelSchema).default([{ oncall: 0, receivers: [] }]),
  })
  .strict();

const globalSchema = z
  .object({
    resolve_timeout: positiveDuration.default(300_000),
    external_url: z.string().default('http://127.0.0.1:7070'),
    http_timeout: positiveDuration.default(10_000),
    notification_log_retention: positiveDuration.default(120 * 3_600_000),
    retry: z
      .object({
        attempts: z.number().int().min(1).max(20).default(5),
        initial_backoff: positiveDuration.default(1_000),
        max_backoff: positiveDuration.default(60_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export const notifyConfigSchema = z
  .object({
    global: globalSchema,
    route: routeSchema,
    receivers: z.array(receiverSchema).min(1, 'needs at least one receiver'),
    inhibit_rules: z.array(inhibitSchema).default([]),
    oncall: z.record(z.string(), teamSchema).default({}),
  })
  .strict();

type Raw = z.infer<typeof notifyConfigSchema>;

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

function toReceiver(r: Raw['receivers'][number]): ReceiverConfig {
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

function checkReferences(raw: Raw, receivers: Map<string, ReceiverConfig>, route: Route): void {
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
