/**
 * The notification log across restarts: a page that was sent is not sent again by a restarted
 * hub while the alert still fires, and the later resolve is sent. Once in-process (a new pipeline
 * on the same data dir) and once with a real `kill -9` of a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeAlert } from '../../alerting/notify/testing.ts';
import { FakeClock } from '../../core/clock.ts';
import { type Run, startRun, T0, tempDir } from './harness.ts';
import { type HttpReceiver, startHttpReceiver } from './servers.ts';

const M = 60_000;
const root = fileURLToPath(new URL('../..', import.meta.url));
const childScript = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

let http: HttpReceiver;
let tmp: Awaited<ReturnType<typeof tempDir>>;
const runs: Run[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  [http, tmp] = await Promise.all([startHttpReceiver(), tempDir()]);
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of runs.splice(0)) await r.pipeline.close();
  await http.close();
  await tmp.cleanup();
});

const summary = () =>
  http.requests.map((r) => `${r.path} ${r.path === '/pd' ? r.body.event_action : r.body.status}`);

describe('in-process restart on the same data dir', () => {
  it('does not page again for a still-firing alert, and sends its resolve', async () => {
    const config = {
      route: { receiver: 'pager', group_by: ['alertname'] },
      receivers: [
        {
          name: 'pager',
          webhook_configs: [{ url: `${http.url}/hook` }],
          pagerduty_configs: [{ routing_key: 'k', url: `${http.url}/pd` }],
        },
      ],
    };
    const alert = makeAlert({ alertname: 'ApiDown', severity: 'page' }, T0);
    const first = await startRun({ config, dir: tmp.dir });
    runs.push(first);
    first.firing.set(alert.fingerprint, alert);
    await first.run(1 * M);
    expect(summary()).toEqual(['/hook firing', '/pd trigger']);

    const second = await startRun({ config, dir: tmp.dir, clock: new FakeClock(first.clock.now() + 2 * M) });
    runs.push(second);
    second.firing.set(alert.fingerprint, alert);
    await second.run(20 * M);
    expect(summary()).toEqual(['/hook firing', '/pd trigger']);
    second.resolve(alert);
    await second.run(5 * M);
    expect(summary()).toEqual(['/hook firing', '/pd trigger', '/hook resolved', '/pd resolve']);
    expect(http.requests[3]!.body.dedup_key).toBe(http.requests[1]!.body.dedup_key);
  });
});

function startChild(startsAt: number): { child: ChildProcess; lines: string[]; stderr: () => string } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', childScript, tmp.dir, http.url, String(startsAt)],
    {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const lines: string[] = [];
  let pending = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (pending + chunk.toString()).split('\n');
    pending = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return { child, lines, stderr: () => stderr };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, stderr: () => string) {
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error(`still waiting for ${what}; child stderr: ${stderr()}`);
    },
    { timeout: 20_000, interval: 20 },
  );
}

describe('kill -9 while firing', () => {
  it('the restarted process sends no second page, and sends the later resolve', {
    timeout: 60_000,
  }, async () => {
    const startsAt = Date.now() - 60_000;
    const a = startChild(startsAt);
    a.child.stdin!.write('fire\n');
    await waitFor('the first page', () => http.requests.length >= 2, a.stderr);
    await waitFor(
      'the notification log on disk',
      async () => {
        // The snapshot and its journal (nflog.json, nflog.<n>.log).
        const files = (await readdir(tmp.dir)).filter((f) => f.startsWith('nflog.'));
        const texts = await Promise.all(files.map((f) => readFile(join(tmp.dir, f), 'utf8').catch(() => '')));
        const text = texts.join('\n');
        return (text.match(/@\d+/g) ?? []).length >= 2;
      },
      a.stderr,
    );
    a.child.kill('SIGKILL');
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      if (a.child.exitCode !== null || a.child.signalCode !== null)
        resolve([a.child.exitCode, a.child.signalCode]);
      else a.child.on('exit', (c, s) => resolve([c, s]));
    });
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(summary()).toEqual(['/hook firing', '/pd trigger']);

    const b = startChild(startsAt);
    b.child.stdin!.write('fire\n');
    await waitFor('a flush after the restart', () => b.lines.includes('flushed'), b.stderr);
    expect(summary()).toEqual(['/hook firing', '/pd trigger']);

    b.child.stdin!.write('resolve\n');
    await waitFor('the resolve', () => http.requests.length >= 4, b.stderr);
    expect(summary().slice(2).sort()).toEqual(['/hook resolved', '/pd resolve']);
    expect(http.at('/pd')[1]!.body.dedup_key).toBe(http.at('/pd')[0]!.body.dedup_key);
    expect(http.at('/hook')[1]!.body.alerts[0].startsAt).toBe(new Date(startsAt).toISOString());
    b.child.kill('SIGKILL');
    expect(b.stderr()).toBe('');
  });
});
