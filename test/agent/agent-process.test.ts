/** `obs agent` as a user runs it: a separate process that keeps sampling and shipping to a real hub. */
import { spawn } from 'node:child_process';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, exited, startTestHub, type TestHub, tempDir } from '../harness.ts';

const LINE = (status: number) =>
  `127.0.0.1 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" ${status} 612 "-" "curl/7.88" 0.012 0.010 shop.example 10.0.0.5:8080\n`;

describe('obs agent', () => {
  let hub: TestHub | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await hub?.stop();
    await cleanup?.();
  });

  it('keeps shipping host and nginx metrics every interval until stopped', async () => {
    hub = await startTestHub();
    const tmp = await tempDir('obs-agent-proc-');
    cleanup = tmp.cleanup;
    const log = join(tmp.dir, 'access.log');
    await writeFile(log, '');
    const child = spawn(
      process.execPath,
      [
        'bin/obs.mjs',
        'agent',
        '--hub',
        hub.url,
        '--interval',
        '500ms',
        '--tag',
        'dc=test',
        '--nginx-log',
        log,
        '--data-dir',
        join(tmp.dir, 'agent'),
      ],
      { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d) => {
      output += d;
    });
    child.stderr!.on('data', (d) => {
      output += d;
    });
    await eventually(async () => expect(output).toContain('obs agent is shipping'), 30_000);
    await appendFile(log, LINE(200).repeat(7) + LINE(503).repeat(3));
    const count = async (m: string) => {
      const res = await fetch(`${hub!.url}api/query?start=5m-ago&m=sum:0all-sum:${m}`);
      const body = (await res.json()) as { dps: Record<string, number> }[];
      return Object.values(body[0]?.dps ?? {})[0] ?? 0;
    };
    await eventually(async () => {
      const samples = await fetch(
        `${hub!.url}api/query?start=5m-ago&m=sum:0all-count:host.load.1m%7Bdc=test%7D`,
      );
      const body = (await samples.json()) as { dps: Record<string, number> }[];
      expect(Object.values(body[0]?.dps ?? {})[0]).toBeGreaterThanOrEqual(4);
      expect(await count('nginx.status.5xx')).toBe(3);
      expect(await count('nginx.status.2xx')).toBe(7);
    }, 30_000);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    await exited(child);
  }, 60_000);
});
