/**
 * The notification pipeline against a real HTTP receiver and a real SMTP server on loopback,
 * with the rule engine's evaluations simulated on a fake clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeAlert } from '../../alerting/notify/testing.ts';
import { EVAL, type Run, startRun, T0, tempDir } from './harness.ts';
import { type HttpReceiver, type SmtpReceiver, startHttpReceiver, startSmtpReceiver } from './servers.ts';

const S = 1000;
const M = 60_000;
const H = 3_600_000;

let http: HttpReceiver;
let smtp: SmtpReceiver;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let run: Run | undefined;

beforeEach(async () => {
  [http, smtp, tmp] = await Promise.all([startHttpReceiver(), startSmtpReceiver(), tempDir()]);
});

afterEach(async () => {
  await run?.pipeline.close();
  run = undefined;
  await Promise.all([http.close(), smtp.close()]);
  await tmp.cleanup();
});

function config(extra: Record<string, unknown> = {}) {
  return {
    global: { external_url: 'http://hub.test', retry: { attempts: 3, initial_backoff: '1s' } },
    route: {
      receiver: 'team',
      group_by: ['alertname'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
    },
    receivers: [
      {
        name: 'team',
        webhook_configs: [{ url: `${http.url}/hook` }],
        email_configs: [
          {
            to: 'ops@example.com',
            from: 'hub@example.com',
            smarthost: `127.0.0.1:${smtp.port}`,
            require_tls: false,
            send_resolved: true,
          },
        ],
      },
    ],
    ...extra,
  };
}

const latency = (host: string) => makeAlert({ alertname: 'HighLatency', app: 'push-api', host }, T0);
const disk = makeAlert({ alertname: 'DiskFull', host: 'db1' }, T0);

describe('grouping and deduplication', () => {
  it('a threshold crossed gives exactly one notification per group', async () => {
    run = await startRun({ config: config(), dir: tmp.dir });
    for (const a of [latency('h1'), latency('h2'), disk]) run.firing.set(a.fingerprint, a);

    await run.run(15 * S);
    expect(http.requests).toHaveLength(0);
    await run.run(15 * S);
    expect(http.requests).toHaveLength(2);
    expect(smtp.messages).toHaveLength(2);

    await run.run(2 * H);
    expect(http.requests).toHaveLength(2);
    expect(smtp.messages).toHaveLength(2);

    const byGroup = Object.fromEntries(http.requests.map((r) => [r.body.groupLabels.alertname, r.body]));
    expect(byGroup['HighLatency']).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'team',
      groupKey: '{}:{alertname="HighLatency"}',
      commonLabels: { alertname: 'HighLatency', app: 'push-api' },
      externalURL: 'http://hub.test',
    });
    expect(byGroup['HighLatency'].alerts.map((a: any) => a.labels.host).sort()).toEqual(['h1', 'h2']);
    expect(byGroup['DiskFull'].alerts).toHaveLength(1);
    expect(byGroup['DiskFull'].alerts[0]).toMatchObject({
      status: 'firing',
      endsAt: '0001-01-01T00:00:00Z',
      startsAt: new Date(T0).toISOString(),
      fingerprint: disk.fingerprint,
    });
    expect(smtp.messages.map((m) => m.subject).sort()).toEqual([
      '[FIRING:1] DiskFull (db1)',
      '[FIRING:2] HighLatency (push-api)',
    ]);
    const mail = smtp.messages.find((m) => m.subject.includes('DiskFull'))!;
    expect(mail.to).toEqual(['ops@example.com']);
    expect(mail.raw).toContain('text/plain');
    expect(mail.raw).toContain('text/html');
  });

  it('a new alert in a group waits for group_interval; unchanged groups repeat after repeat_interval', async () => {
    run = await startRun({ config: config(), dir: tmp.dir });
    const h1 = latency('h1');
    run.firing.set(h1.fingerprint, h1);
    await run.run(30 * S);
    expect(http.requests).toHaveLength(1);

    const h3 = makeAlert({ alertname: 'HighLatency', host: 'h3' }, T0 + 60 * S);
    run.firing.set(h3.fingerprint, h3);
    await run.run(4 * M + 45 * S);
    expect(http.requests).toHaveLength(1);
    await run.run(EVAL);
    expect(http.requests).toHaveLength(2);
    expect(http.requests[1]!.body.alerts).toHaveLength(2);

    await run.run(4 * H - EVAL);
    expect(http.requests).toHaveLength(2);
    await run.run(EVAL);
    expect(http.requests).toHaveLength(3);
    expect(http.requests[2]!.body.alerts).toHaveLength(2);
  });

  it('sends the resolve once, and drops the group', async () => {
    run = await startRun({ config: config(), dir: tmp.dir });
    const h1 = latency('h1');
    const h2 = latency('h2');
    run.firing.set(h1.fingerprint, h1);
    run.firing.set(h2.fingerprint, h2);
    await run.run(1 * M);
    run.resolve(h1);
    await run.run(5 * M);
    expect(http.requests.map((r) => r.body.alerts.map((a: any) => a.status))).toEqual([
      ['firing', 'firing'],
      ['resolved', 'firing'],
    ]);
    run.resolve(h2);
    await run.run(10 * M);
    expect(http.requests.at(-1)!.body.status).toBe('resolved');
    expect(http.requests).toHaveLength(3);
    expect(smtp.messages.map((m) => m.subject)).toEqual([
      '[FIRING:2] HighLatency (push-api)',
      '[FIRING:1] HighLatency (push-api)',
      '[RESOLVED] HighLatency (push-api h2)',
    ]);
    expect(run.pipeline.groups()).toEqual([]);
  });

  it('an alert the engine stops reporting resolves after resolve_timeout', async () => {
    run = await startRun({ config: config({ global: { resolve_timeout: '2m' } }), dir: tmp.dir });
    const h1 = latency('h1');
    run.firing.set(h1.fingerprint, h1);
    await run.run(1 * M);
    run.firing.clear();
    await run.run(10 * M);
    expect(http.requests.map((r) => r.body.status)).toEqual(['firing', 'resolved']);
    expect(http.requests[1]!.body.alerts[0].endsAt).toBe(new Date(T0 + 1 * M + 2 * M).toISOString());
  });
});

describe('silences', () => {
  it('a silence mutes; its expiry un-mutes at the next flush', async () => {
    run = await startRun({ config: config(), dir: tmp.dir });
    await run.pipeline.silences.create({
      matchers: [{ name: 'app', type: '=', value: 'push-api' }],
      startsAt: T0,
      endsAt: T0 + 12 * M,
      createdBy: 'alice',
      comment: 'deploying push-api',
    });
    const h1 = latency('h1');
    run.firing.set(h1.fingerprint, h1);
    run.firing.set(disk.fingerprint, disk);
    await run.run(11 * M);
    expect(http.requests.map((r) => r.body.groupLabels.alertname)).toEqual(['DiskFull']);
    const view = run.pipeline.alerts().find((a) => a.fingerprint === h1.fingerprint)!;
    expect(view.silencedBy).toHaveLength(1);

    await run.run(4 * M);
    expect(http.requests).toHaveLength(1);
    await run.run(1 * M);
    expect(http.requests.map((r) => r.body.groupLabels.alertname)).toEqual(['DiskFull', 'HighLatency']);
    expect(smtp.messages.map((m) => m.subject)).toEqual([
      '[FIRING:1] DiskFull (db1)',
      '[FIRING:1] HighLatency (push-api h1)',
    ]);
  });

  it('a recurring maintenance window mutes only inside the window', async () => {
    run = await startRun({ config: config(), dir: tmp.dir });
    await run.pipeline.silences.create({
      matchers: [{ name: 'host', type: '=', value: 'db1' }],
      startsAt: T0,
      endsAt: null,
      createdBy: 'alice',
      comment: 'nightly backup',
      // T0 is 11:00 in Berlin: the window is 11:10-11:40 there, every day.
      recurrence: {
        weekdays: [],
        startMinute: 11 * 60 + 10,
        endMinute: 11 * 60 + 40,
        timeZone: 'Europe/Berlin',
      },
    });
    run.firing.set(disk.fingerprint, disk);
    await run.run(1 * M);
    expect(http.requests).toHaveLength(1);
    run.resolve(disk);
    await run.run(10 * M);
    expect(http.requests.map((r) => r.body.status)).toEqual(['firing', 'resolved']);

    const again = makeAlert({ alertname: 'DiskFull', host: 'db1' }, run.clock.now());
    run.firing.set(again.fingerprint, again);
    await run.run(25 * M);
    expect(http.requests).toHaveLength(2);
    await run.run(10 * M);
    expect(http.requests).toHaveLength(3);
    expect(http.requests[2]!.body.alerts[0].startsAt).toBe(new Date(again.startsAt).toISOString());
  });
});

describe('inhibition', () => {
  it('a firing critical alert mutes warnings on the same host until it resolves', async () => {
    run = await startRun({
      config: config({
        inhibit_rules: [
          {
            source_matchers: ['severity="critical"'],
            target_matchers: ['severity="warning"'],
            equal: ['host'],
          },
        ],
      }),
      dir: tmp.dir,
    });
    const down = makeAlert({ alertname: 'HostDown', host: 'h1', severity: 'critical' }, T0);
    const slow = makeAlert({ alertname: 'SlowDisk', host: 'h1', severity: 'warning' }, T0);
    const elsewhere = makeAlert({ alertname: 'SlowDisk', host: 'h2', severity: 'warning' }, T0);
    for (const a of [down, slow, elsewhere]) run.firing.set(a.fingerprint, a);
    await run.run(10 * M);
    const sent = () =>
      http.requests.map((r) => [r.body.groupLabels.alertname, r.body.alerts.map((a: any) => a.labels.host)]);
    expect(sent().sort()).toEqual([
      ['HostDown', ['h1']],
      ['SlowDisk', ['h2']],
    ]);
    expect(run.pipeline.alerts().find((a) => a.fingerprint === slow.fingerprint)!.inhibitedBy).toEqual([
      down.fingerprint,
    ]);

    run.resolve(down);
    await run.run(5 * M);
    expect(sent().slice(2).sort()).toEqual([
      ['HostDown', ['h1']],
      ['SlowDisk', ['h1', 'h2']],
    ]);
  });
});

describe('retries', () => {
  it('retries with exponential backoff on 500, then records every attempt', async () => {
    run = await startRun({ config: config(), dir: tmp.dir });
    http.answer(500, 503);
    const h1 = latency('h1');
    run.firing.set(h1.fingerprint, h1);
    await run.run(30 * S);
    expect(http.requests).toHaveLength(1);
    await run.advance(999);
    expect(http.requests).toHaveLength(1);
    await run.advance(1);
    expect(http.requests).toHaveLength(2);
    await run.advance(1999);
    expect(http.requests).toHaveLength(2);
    await run.advance(1);
    expect(http.requests).toHaveLength(3);
    await run.run(10 * M);
    expect(http.requests).toHaveLength(3);

    const attempts = run.pipeline.attempts
      .list({ receiver: 'team' })
      .filter((a) => a.integration === 'webhook/0')
      .reverse();
    expect(attempts.map((a) => [a.attempt, a.status, a.ok, a.ts - T0])).toEqual([
      [1, 500, false, 30 * S],
      [2, 503, false, 31 * S],
      [3, 200, true, 33 * S],
    ]);
    expect(attempts[0]).toMatchObject({
      groupKey: '{}:{alertname="HighLatency"}',
      canRetry: true,
      firing: 1,
    });
    expect(attempts[0]!.error).toMatch(/answered 500/);
    expect(attempts.every((a) => a.durationMs >= 0)).toBe(true);
  });

  it('does not retry a 400, and tries again at the next flush', async () => {
    run = await startRun({ config: config(), dir: tmp.dir });
    http.answer(400);
    const h1 = latency('h1');
    run.firing.set(h1.fingerprint, h1);
    await run.run(5 * M);
    expect(http.requests).toHaveLength(1);
    await run.run(30 * S + EVAL);
    expect(http.requests).toHaveLength(2);
    const [second, first] = run.pipeline.attempts
      .list({ receiver: 'team' })
      .filter((a) => a.integration === 'webhook/0');
    expect([first!.status, first!.canRetry, second!.status]).toEqual([400, false, 200]);
  });
});

describe('the core Notifier port', () => {
  it('sends AlertEvents to a receiver at once, reporting the result', async () => {
    run = await startRun({ config: config(), dir: tmp.dir });
    const event = {
      rule: 'HighLatency',
      labels: { app: 'web' },
      annotations: { summary: 'slow' },
      state: 'firing' as const,
      value: 2,
      ts: T0,
    };
    expect(await run.pipeline.notifier.notify('team', [event])).toEqual({ ok: true });
    expect(http.requests[0]!.body.alerts[0].labels).toEqual({ alertname: 'HighLatency', app: 'web' });
    expect(smtp.messages).toHaveLength(1);
    http.answer(400);
    const failed = await run.pipeline.notifier.notify('team', [event]);
    expect(failed.ok).toBe(false);
    expect((await run.pipeline.notifier.notify('nobody', [event])).ok).toBe(false);
  });
});

describe('watchdog', () => {
  it('the always-firing Watchdog reaches a dead-man switch every repeat_interval, and stops when evaluations stop', async () => {
    run = await startRun({
      config: {
        ...config(),
        route: {
          receiver: 'team',
          group_by: ['alertname'],
          routes: [{ matchers: ['alertname="Watchdog"'], receiver: 'deadman', repeat_interval: '5m' }],
        },
        receivers: [
          ...config().receivers,
          { name: 'deadman', webhook_configs: [{ url: `${http.url}/deadman` }] },
        ],
      },
      dir: tmp.dir,
    });
    // What the engine's Watchdog rule (alerting/rules/examples/watchdog.yaml) reports every cycle.
    const watchdog = makeAlert({ alertname: 'Watchdog', severity: 'none' }, T0);
    run.firing.set(watchdog.fingerprint, watchdog);
    await run.run(16 * M);
    expect(http.at('/deadman').map((r) => r.body.status)).toEqual(['firing', 'firing', 'firing', 'firing']);
    expect(http.at('/hook')).toEqual([]);

    // Last evaluation at 16m: still firing at the 20m30s flush, expired (resolve_timeout 5m) by the next.
    await run.advance(1 * H);
    expect(http.at('/deadman').map((r) => r.body.status)).toEqual([...Array(5).fill('firing'), 'resolved']);
  });
});
