/**
 * Clients written by others, against a real hub: collectd's write_tsdb plugin sending telnet
 * `put` lines, and a real Prometheus scraping `/metrics` (with `promtool check metrics`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort, startTestHub, type TestHub, tempDir } from './harness.ts';

const inCi = process.env['CI'] === 'true';
const have = (bin: string) => existsSync(bin);
const missing = (bin: string, pkg: string) => {
  if (!have(bin) && inCi)
    throw new Error(`${bin} is missing: .ci/run must install the Debian package ${pkg}`);
  return !have(bin);
};

let hub: TestHub;
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  hub = await startTestHub();
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await hub?.stop();
  for (const c of cleanups) await c();
});

describe.skipIf(missing('/usr/sbin/collectd', 'collectd-core'))(
  'collectd write_tsdb (skipped outside CI when collectd is not installed)',
  () => {
    it("stores what collectd's write_tsdb sends over telnet put", async () => {
      const tmp = await tempDir('obs-collectd-');
      cleanups.push(tmp.cleanup);
      const conf = join(tmp.dir, 'collectd.conf');
      await writeFile(
        conf,
        [
          'Hostname "collectd-test-host"',
          'FQDNLookup false',
          'Interval 1',
          `BaseDir "${tmp.dir}"`,
          `PIDFile "${tmp.dir}/collectd.pid"`,
          'PluginDir "/usr/lib/collectd"',
          'TypesDB "/usr/share/collectd/types.db"',
          'LoadPlugin memory',
          'LoadPlugin load',
          'LoadPlugin write_tsdb',
          '<Plugin write_tsdb>',
          '  <Node "obs">',
          '    Host "127.0.0.1"',
          `    Port "${hub.telnetPort}"`,
          '    HostTags "dc=ci"',
          '  </Node>',
          '</Plugin>',
          '',
        ].join('\n'),
      );
      const collectd = spawn('/usr/sbin/collectd', ['-f', '-C', conf], { stdio: 'ignore' });
      children.push(collectd);
      const found = await eventually(async () => {
        const metrics = (await (
          await fetch(`${hub.url}api/suggest?type=metrics&q=&max=100`)
        ).json()) as string[];
        const mem = metrics.filter((m) => m.startsWith('memory'));
        expect(mem).toContain('memory.used.memory');
        return mem;
      }, 30_000);
      // The series is known as soon as its first batch is being written; its points follow.
      await eventually(async () => {
        const res = await fetch(`${hub.url}api/query?start=1h-ago&m=sum:memory.used.memory%7Bfqdn=*%7D`);
        const body = (await res.json()) as { tags: Record<string, string>; dps: Record<string, number> }[];
        expect(body[0]!.tags['fqdn']).toBe('collectd-test-host');
        expect(Object.values(body[0]!.dps).every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      }, 30_000);
      expect(found).toContain('memory.used.memory');
      collectd.kill('SIGTERM');
    }, 60_000);
  },
);

describe.skipIf(missing('/usr/bin/prometheus', 'prometheus'))(
  'Prometheus (skipped outside CI when prometheus is not installed)',
  () => {
    it('/metrics passes promtool check metrics', async () => {
      await fetch(`${hub.url}api/put`, {
        method: 'POST',
        body: JSON.stringify({ metric: 'x.y', timestamp: 1_700_000_000, value: 1, tags: { a: 'b' } }),
      });
      const text = await (await fetch(`${hub.url}metrics`)).text();
      const out = execFileSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(out.trim()).toBe('');
    });

    it('a real Prometheus scrapes the hub', async () => {
      const tmp = await tempDir('obs-prom-');
      cleanups.push(tmp.cleanup);
      const port = await freePort();
      const target = new URL(hub.url).host;
      const conf = join(tmp.dir, 'prometheus.yml');
      await writeFile(
        conf,
        `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: obs\n    static_configs:\n      - targets: ['${target}']\n`,
      );
      const prom = spawn(
        '/usr/bin/prometheus',
        [
          `--config.file=${conf}`,
          `--storage.tsdb.path=${join(tmp.dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: 'ignore' },
      );
      children.push(prom);
      await eventually(async () => {
        const r = (await (
          await fetch(`http://127.0.0.1:${port}/api/v1/query?query=obs_points_accepted_total`)
        ).json()) as any;
        expect(r.status).toBe('success');
        expect(r.data.result.length).toBeGreaterThan(0);
        const up = (await (
          await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up%7Bjob%3D%22obs%22%7D`)
        ).json()) as any;
        expect(up.data.result[0].value[1]).toBe('1');
      }, 40_000);
      prom.kill('SIGTERM');
    }, 60_000);
  },
);
