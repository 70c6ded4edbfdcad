/**
 * `tsx scripts/demo.ts` as a user runs it: a child process against a real hub, stopped with a
 * signal; and the errors it prints when it cannot start.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, freePort, startTestHub, type TestHub } from '../harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function runDemo(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  return { child, out: () => out, err: () => err };
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('scripts/demo.ts', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub?.stop());

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops cleanly on %s and prints what ran and where to look',
    async (signal) => {
      const run = runDemo(['--hub', hub.url, '--rate', '30']);
      await until(() => run.out().includes('service map'), 'the start banner');
      expect(run.out()).toMatch(/pushd-3 {2}thrift:\/\/127\.0\.0\.1:\d+/);
      await until(() => /calls (\d+)/.test(run.out()) && !run.out().includes('calls 0 '), 'progress');
      run.child.kill(signal);
      await exited(run.child);
      expect(run.child.exitCode).toBe(0);
      const out = run.out();
      expect(out).toContain(`${signal}: stopping`);
      expect(out).toMatch(/load {5}\d+ calls: \d+ normal, \d+ slow, \d+ failing; 0 refused/);
      expect(out).toMatch(/spans {4}\d+ sent to the hub, 0 dropped, 0 lost/);
      expect(out).toContain(`traces       ${hub.url}traces.html?service=pushapi`);
      expect(out).toContain(`service map  ${hub.url}service-map.html`);
    },
    60_000,
  );

  it('stops by itself after --duration', async () => {
    const run = runDemo(['--hub', hub.url, '--rate', '10', '--duration', '1s']);
    await exited(run.child);
    expect(run.child.exitCode).toBe(0);
    expect(run.out()).toContain('after 1s: stopping');
    expect(run.out()).toContain('push demo stopped');
  }, 60_000);

  it('exits 1 with a clear error when no hub answers', async () => {
    const port = await freePort();
    const run = runDemo(['--hub', `http://127.0.0.1:${port}`]);
    await exited(run.child);
    expect(run.child.exitCode).toBe(1);
    expect(run.err()).toMatch(/No hub answers at http:\/\/127\.0\.0\.1:\d+\/ .*start one with "npm start"/);
  }, 60_000);

  it('exits 2 with the usage on a bad argument', async () => {
    const run = runDemo(['--rate', 'lots']);
    await exited(run.child);
    expect(run.child.exitCode).toBe(2);
    expect(run.err()).toContain('Invalid rate "lots"');
  }, 60_000);
});
