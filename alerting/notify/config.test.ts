import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import { parseNotifyConfig, parseNotifyConfigYaml } from './config.ts';
import { PAGERDUTY_EVENTS_URL, parseAmDuration } from './config-schema.ts';

const EXAMPLE = `
global:
  external_url: https://hub.example.com/
  resolve_timeout: 5m
route:
  receiver: team-mail
  group_by: [alertname, project]
  routes:
    - matchers: ['severity="page"']
      receiver: infra-oncall
      group_wait: 10s
      repeat_interval: 1h
    - matchers: ['alertname="Watchdog"']
      receiver: deadmans-switch
      repeat_interval: 1m
receivers:
  - name: team-mail
    email_configs:
      - to: team@example.com
        from: hub@example.com
        smarthost: smtp.example.com:587
        auth_username: hub
        auth_password: secret
  - name: infra-oncall
    oncall_configs: [{ team: infra }]
  - name: deadmans-switch
    webhook_configs: [{ url: https://hc-ping.com/uuid }]
  - name: alice
    pagerduty_configs: [{ routing_key: abc }]
  - name: bob
    chat_configs: [{ url: https://hooks.slack.com/services/x, channel: '#ops' }]
  - name: lead
    webhook_configs: [{ url: http://127.0.0.1:9/lead, send_resolved: false }]
  - name: upstream
    alertmanager_configs: [{ url: http://am:9093 }]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname, cluster]
oncall:
  infra:
    time_zone: Europe/Berlin
    members:
      - { name: alice, receiver: alice }
      - { name: bob, receiver: bob }
    shift: 1w
    start: 2026-01-05T09:00
    escalation:
      - { oncall: 0, timeout: 5m }
      - { oncall: 1, timeout: 10m }
      - { receivers: [lead] }
`;

describe('parseNotifyConfigYaml', () => {
  it('reads the example with Alertmanager defaults', () => {
    const c = parseNotifyConfigYaml(EXAMPLE);
    expect(c.externalURL).toBe('https://hub.example.com');
    expect(c.route.groupWait).toBe(30_000);
    expect(c.route.groupInterval).toBe(300_000);
    expect(c.route.repeatInterval).toBe(4 * 3_600_000);
    expect(c.route.routes[0]!.groupWait).toBe(10_000);
    expect(c.route.routes[0]!.groupBy).toEqual(['alertname', 'project']);
    expect(c.receivers.get('team-mail')!.email[0]).toMatchObject({
      smarthost: { host: 'smtp.example.com', port: 587 },
      auth: { username: 'hub', password: 'secret' },
      requireTls: true,
      sendResolved: false,
    });
    expect(c.receivers.get('deadmans-switch')!.webhook[0]!.sendResolved).toBe(true);
    expect(c.receivers.get('alice')!.pagerduty[0]!.url).toBe(PAGERDUTY_EVENTS_URL);
    expect(c.inhibitRules[0]!.equal).toEqual(['alertname', 'cluster']);
    const infra = c.oncall.get('infra')!;
    expect(infra.start).toBe(Date.UTC(2026, 0, 5, 8, 0));
    expect(infra.escalation.map((l) => l.timeout)).toEqual([300_000, 600_000, undefined]);
  });

  const base = { route: { receiver: 'r' }, receivers: [{ name: 'r' }] };
  it.each([
    [{ ...base, route: { receiver: 'nope' } }, 'route.receiver', /no receiver named "nope"/],
    [
      { ...base, route: { receiver: 'r', routes: [{ receiver: 'r' }, { receiver: 'x' }] } },
      'route.routes[1].receiver',
      /no receiver named "x"/,
    ],
    [{ ...base, route: { receiver: 'r', group_wait: 'soon' } }, 'route.group_wait', /not a duration/],
    [
      { ...base, route: { receiver: 'r', routes: [{ matchers: ['a=~"("'] }] } },
      'route.routes[0].matchers[0]',
      /Invalid regular expression/,
    ],
    [{ ...base, route: { receiver: 'r', matchers: ['a="b"'] } }, 'route.matchers', /root route/],
    [{ route: { receiver: 'r' }, receivers: [{ name: 'r' }, { name: 'r' }] }, 'receivers[1].name', /twice/],
    [
      { ...base, receivers: [{ name: 'r', webhook_configs: [{ url: 'ftp://x' }] }] },
      'receivers[0].webhook_configs[0].url',
      /http/,
    ],
    [
      {
        ...base,
        receivers: [{ name: 'r', email_configs: [{ to: 'a@b', from: 'c@d', smarthost: 'nohost' }] }],
      },
      'receivers[0].email_configs[0].smarthost',
      /host:port/,
    ],
    [
      { ...base, receivers: [{ name: 'r', oncall_configs: [{ team: 'ghost' }] }] },
      'receivers[0].oncall_configs[0].team',
      /no on-call team/,
    ],
    [
      {
        ...base,
        oncall: {
          t: { members: [{ name: 'a', receiver: 'r' }], start: '2026-01-01', time_zone: 'Mars/Base' },
        },
      },
      'oncall.t.time_zone',
      /IANA/,
    ],
    [
      {
        ...base,
        oncall: {
          t: {
            members: [{ name: 'a', receiver: 'r' }],
            start: '2026-01-01',
            escalation: [{ oncall: 0 }, { oncall: 1 }],
          },
        },
      },
      'oncall.t.escalation[0].timeout',
      /needs a timeout/,
    ],
    [{ ...base, surprise: 1 }, '(root)', /surprise/],
  ])('names the field: %#', (input, where, message) => {
    let error: unknown;
    try {
      parseNotifyConfig(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).code).toBe('INVALID_CONFIG');
    expect((error as HubError).where).toBe(where);
    expect((error as HubError).message).toMatch(message);
  });
});

it.each([
  ['30s', 30_000],
  ['5m', 300_000],
  ['1h30m', 5_400_000],
  ['1d', 86_400_000],
  ['500ms', 500],
  ['0', 0],
  ['5', undefined],
  ['1.5h', undefined],
])('parseAmDuration(%s) = %s', (text, ms) => {
  expect(parseAmDuration(text)).toBe(ms);
});
