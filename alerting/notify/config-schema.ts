/**
 * The schema of the notification config (`config.ts` turns what it accepts into the hub's model):
 * Alertmanager's `route`, `receivers`, `inhibit_rules` and `global`, with their names and
 * defaults, plus `oncall`.
 */
import { z } from 'zod';
import { parseMatchers } from './matchers.ts';
import { isValidTimeZone } from './timezone.ts';
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

export type RawRoute = {
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

/** The config as the schema leaves it: Alertmanager's names, defaults filled in. */
export type RawNotifyConfig = z.infer<typeof notifyConfigSchema>;
