import { describe, expect, it } from 'vitest';
import { makeAlert, resolved } from '../testing.ts';
import type { Notification } from '../types.ts';
import { alertsEndpoint, buildAlertmanagerAlerts } from './alertmanager.ts';
import { buildChatPayload } from './chat.ts';
import { titleOf } from './common.ts';
import { buildEmail, escapeHtml } from './email.ts';
import { buildPagerDutyEvent, dedupKeyOf } from './pagerduty.ts';
import { buildWebhookPayload } from './webhook.ts';

const T0 = Date.parse('2026-01-01T10:00:00Z');
const a1 = makeAlert({ alertname: 'HighLatency', app: 'push-api', host: 'h1', severity: 'page' }, T0);
const a2 = makeAlert({ alertname: 'HighLatency', app: 'push-api', host: 'h2', severity: 'page' }, T0 + 1000, {
  annotations: { summary: 'slow on h2', runbook: 'http://wiki/latency' },
});

const notification = (alerts = [a1, a2]): Notification => ({
  receiver: 'team',
  groupKey: '{}/{severity="page"}:{alertname="HighLatency"}',
  groupLabels: { alertname: 'HighLatency' },
  alerts,
  externalURL: 'http://hub.test',
  now: T0 + 60_000,
});

describe('buildWebhookPayload', () => {
  it('is Alertmanager version 4', () => {
    expect(buildWebhookPayload(notification([a1, resolved(a2, T0 + 30_000)]))).toEqual({
      version: '4',
      groupKey: '{}/{severity="page"}:{alertname="HighLatency"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'team',
      groupLabels: { alertname: 'HighLatency' },
      commonLabels: { alertname: 'HighLatency', app: 'push-api', severity: 'page' },
      commonAnnotations: {},
      externalURL: 'http://hub.test',
      alerts: [
        {
          status: 'firing',
          labels: a1.labels,
          annotations: a1.annotations,
          startsAt: '2026-01-01T10:00:00.000Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://hub.test/alerts/HighLatency',
          fingerprint: a1.fingerprint,
        },
        {
          status: 'resolved',
          labels: a2.labels,
          annotations: a2.annotations,
          startsAt: '2026-01-01T10:00:01.000Z',
          endsAt: '2026-01-01T10:00:30.000Z',
          generatorURL: 'http://hub.test/alerts/HighLatency',
          fingerprint: a2.fingerprint,
        },
      ],
    });
  });

  it.each([
    [[a1, a2], 0, 'firing', 2, 0],
    [[resolved(a1, T0 + 5)], 0, 'resolved', 1, 0],
    [[a1, a2], 1, 'firing', 1, 1],
  ] as const)('status and truncation %#', (alerts, max, status, kept, truncated) => {
    const p = buildWebhookPayload(notification([...alerts]), max);
    expect([p.status, p.alerts.length, p.truncatedAlerts]).toEqual([status, kept, truncated]);
  });
});

describe('titleOf', () => {
  it.each([
    [[a1, a2], '[FIRING:2] HighLatency (push-api page)'],
    [[a1], '[FIRING:1] HighLatency (push-api h1 page)'],
    [[resolved(a1, T0 + 5)], '[RESOLVED] HighLatency (push-api h1 page)'],
  ])('%#', (alerts, title) => {
    expect(titleOf(notification(alerts))).toBe(title);
  });
});

describe('buildChatPayload', () => {
  it.each([
    [[a1, a2], 'danger', '#ops'],
    [[resolved(a1, T0 + 5)], 'good', undefined],
  ] as const)('colour %#', (alerts, color, channel) => {
    const p = buildChatPayload(notification([...alerts]), channel ? { channel } : {});
    expect(p.attachments[0]!.color).toBe(color);
    expect(p.channel).toBe(channel);
    expect(p.text).toBe(titleOf(notification([...alerts])));
  });

  it('lists each alert', () => {
    const text = buildChatPayload(notification(), {}).attachments[0]!.text;
    expect(text.split('\n')).toEqual([
      ':red_circle: HighLatency on h1 (app=push-api host=h1 severity=page)',
      ':red_circle: slow on h2 (app=push-api host=h2 severity=page)',
    ]);
  });
});

describe('buildPagerDutyEvent', () => {
  const cfg = { routingKey: 'rk', client: 'obs' };
  it('triggers with summary, severity and details', () => {
    const e = buildPagerDutyEvent(notification(), cfg);
    expect(e).toMatchObject({
      routing_key: 'rk',
      event_action: 'trigger',
      dedup_key: dedupKeyOf('{}/{severity="page"}:{alertname="HighLatency"}'),
      client: 'obs',
      client_url: 'http://hub.test',
      payload: {
        summary: '[FIRING:2] HighLatency (push-api page)',
        source: 'push-api',
        severity: 'critical',
        timestamp: '2026-01-01T10:00:00.000Z',
        custom_details: { num_firing: 2, num_resolved: 0 },
      },
    });
    expect(e.dedup_key).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    [{ severity: 'warning' }, undefined, 'warning'],
    [{ severity: 'whatever' }, undefined, 'error'],
    [{ severity: 'info' }, 'critical', 'critical'],
  ] as const)('severity %#', (labels, configured, expected) => {
    const alert = makeAlert({ alertname: 'X', ...labels }, T0);
    const e = buildPagerDutyEvent(notification([alert]), {
      ...cfg,
      ...(configured ? { severity: configured } : {}),
    });
    expect(e.payload!.severity).toBe(expected);
  });

  it('resolves with the same dedup key and no payload', () => {
    const e = buildPagerDutyEvent(notification([resolved(a1, T0 + 5), resolved(a2, T0 + 5)]), cfg);
    expect(e).toEqual({
      routing_key: 'rk',
      event_action: 'resolve',
      dedup_key: dedupKeyOf('{}/{severity="page"}:{alertname="HighLatency"}'),
      client: 'obs',
      client_url: 'http://hub.test',
    });
  });
});

describe('buildAlertmanagerAlerts', () => {
  it('gives firing alerts an end in the future and resolved ones their end', () => {
    expect(buildAlertmanagerAlerts([a1, resolved(a2, T0 + 30_000)], T0 + 60_000, 300_000)).toEqual([
      {
        labels: a1.labels,
        annotations: a1.annotations,
        startsAt: '2026-01-01T10:00:00.000Z',
        endsAt: '2026-01-01T10:06:00.000Z',
        generatorURL: a1.generatorURL,
      },
      {
        labels: a2.labels,
        annotations: a2.annotations,
        startsAt: '2026-01-01T10:00:01.000Z',
        endsAt: '2026-01-01T10:00:30.000Z',
        generatorURL: a2.generatorURL,
      },
    ]);
  });

  it.each([
    ['http://am:9093', 'http://am:9093/api/v2/alerts'],
    ['http://am:9093/', 'http://am:9093/api/v2/alerts'],
    ['http://am/prefix/api/v2/alerts', 'http://am/prefix/api/v2/alerts'],
  ])('endpoint of %s', (base, url) => {
    expect(alertsEndpoint(base)).toBe(url);
  });
});

describe('buildEmail', () => {
  it('has a subject, a text and an escaped HTML part', () => {
    const evil = makeAlert({ alertname: 'X<script>' }, T0, { annotations: { summary: '<b>"hi"</b>' } });
    const n = { ...notification([evil]), groupLabels: { alertname: 'X<script>' } };
    const m = buildEmail(n, { from: 'hub@x', to: 'ops@x', headers: { 'X-Team': 'ops' } });
    expect(m.subject).toBe('[FIRING:1] X<script>');
    expect(m.text).toContain('- <b>"hi"</b>');
    expect(m.html).toContain('&lt;b&gt;&quot;hi&quot;&lt;/b&gt;');
    expect(m.html).not.toContain('<script>');
    expect(m.headers).toEqual({ 'X-Team': 'ops' });
  });

  it('escapes all five characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
