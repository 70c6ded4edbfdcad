/**
 * Forwarding to a real Alertmanager (Debian package prometheus-alertmanager): the alerts show in
 * its API with their labels, are kept alive by re-sends, and resolve there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeAlert } from '../../alerting/notify/testing.ts';
import { FakeClock } from '../../core/clock.ts';
import { freePort } from '../harness.ts';
import { type Run, startRun, tempDir } from './harness.ts';

const BINARY = '/usr/bin/prometheus-alertmanager';
const available = existsSync(BINARY);
const MISSING = `${BINARY} is missing: install the Debian package prometheus-alertmanager (apt-get install -y prometheus-alertmanager)`;
if (!available && process.env['CI']) throw new Error(MISSING);

type AmAlert = {
  labels: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
};

describe('forwarding to a real Alertmanager', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let am: ChildProcess | undefined;
  let amUrl = '';
  let log = '';
  let run: Run | undefined;

  beforeAll(async () => {
    tmp = await tempDir();
    if (!available) return;
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    const configFile = join(tmp.dir, 'alertmanager.yml');
    await writeFile(
      configFile,
      'route:\n  receiver: blackhole\n  group_wait: 1h\nreceivers:\n  - name: blackhole\n',
    );
    am = spawn(
      BINARY,
      [
        `--config.file=${configFile}`,
        `--storage.path=${join(tmp.dir, 'am-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    am.stdout!.on('data', (c: Buffer) => {
      log += c.toString();
    });
    am.stderr!.on('data', (c: Buffer) => {
      log += c.toString();
    });
    await vi.waitFor(
      async () => {
        if (am!.exitCode !== null) throw new Error(`alertmanager exited: ${log}`);
        const res = await fetch(`${amUrl}/-/ready`);
        if (!res.ok) throw new Error(`not ready: ${res.status}`);
      },
      { timeout: 30_000, interval: 100 },
    );
  }, 60_000);

  afterAll(async () => {
    await run?.pipeline.close();
    if (am && am.exitCode === null) {
      const exited = new Promise((resolve) => am!.once('exit', resolve));
      am.kill('SIGKILL');
      await exited;
    }
    await tmp.cleanup();
  });

  const amAlerts = async (): Promise<AmAlert[]> => {
    const res = await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent('source="obs-test"')}`);
    expect(res.status).toBe(200);
    return (await res.json()) as AmAlert[];
  };

  it('alerts show in its API with their labels, and resolve there', async (ctx) => {
    if (!available) return ctx.skip(MISSING);
    // Alertmanager compares times with its own clock: the fake clock starts a minute behind it.
    const clock = new FakeClock(Date.now() - 60_000);
    run = await startRun({
      config: {
        route: { receiver: 'upstream', group_by: ['alertname'] },
        receivers: [{ name: 'upstream', alertmanager_configs: [{ url: amUrl, resend_interval: '30s' }] }],
      },
      dir: join(tmp.dir, 'hub'),
      clock,
    });
    const a1 = makeAlert(
      { alertname: 'HighLatency', app: 'push-api', host: 'h1', source: 'obs-test' },
      clock.now(),
    );
    const a2 = makeAlert(
      { alertname: 'DiskFull', host: 'db1', severity: 'warning', source: 'obs-test' },
      clock.now(),
    );
    run.firing.set(a1.fingerprint, a1);
    run.firing.set(a2.fingerprint, a2);
    await run.run(0);

    const firing = await amAlerts();
    expect(
      firing.map((a) => a.labels).sort((x, y) => x['alertname']!.localeCompare(y['alertname']!)),
    ).toEqual([a2.labels, a1.labels]);
    for (const a of firing) {
      expect(a.status.state).toBe('active');
      expect(Date.parse(a.endsAt)).toBeGreaterThan(Date.now());
      expect(Date.parse(a.startsAt)).toBe(a1.startsAt);
    }
    const attempts = run.pipeline.attempts.list({ receiver: 'upstream' });
    expect(attempts.map((a) => [a.integration, a.status, a.firing])).toEqual([['alertmanager/0', 200, 2]]);

    // While they fire they are re-sent every resend_interval, so Alertmanager keeps them active.
    await run.run(45_000);
    expect(run.pipeline.attempts.list({ receiver: 'upstream' }).map((a) => a.ts - a1.startsAt)).toEqual([
      30_000, 0,
    ]);
    expect((await amAlerts()).map((a) => a.status.state)).toEqual(['active', 'active']);

    run.resolve(a1);
    await run.run(0);
    const after = await amAlerts();
    // Alertmanager leaves resolved alerts out of its list of alerts.
    expect(after.map((a) => [a.labels['alertname'], a.status.state])).toEqual([['DiskFull', 'active']]);
    expect(run.pipeline.attempts.list({ receiver: 'upstream' })[0]).toMatchObject({ ok: true, resolved: 1 });
  });
});
