/**
 * `kill -9` of a real process running the rule engine while an alert fires: after a restart on
 * the same data dir the alert is the same one (fingerprint and startsAt), so nothing pages again,
 * and the resolve that comes later is sent.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../alerting/types.ts';
import { exited, tempDir } from '../harness.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('./engine-child.ts', import.meta.url));
const T0 = Date.UTC(2026, 0, 1);

type Message = { kind: 'update' | 'ready' | 'done'; now: number; alerts?: Alert[] };

/** A child engine, and a way to wait for its next message of a kind. */
function startChild(dataDir: string, start: number, initial?: number) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', script, dataDir, String(start), ...(initial === undefined ? [] : [String(initial)])],
    { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const messages: Message[] = [];
  const waiters: { kind: string; from: number; resolve: (m: Message) => void }[] = [];
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.on('data', (d: Buffer) => {
    const lines = (pending + d.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      messages.push(JSON.parse(line) as Message);
      for (const w of [...waiters]) {
        const m = messages.slice(w.from).find((x) => x.kind === w.kind);
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  });
  const next = (kind: Message['kind']) => {
    const from = messages.length;
    return new Promise<Message>((resolve, reject) => {
      waiters.push({ kind, from, resolve });
      child.once('exit', (code) =>
        reject(new Error(`child exited (${code}) waiting for ${kind}: ${stderr}`)),
      );
    });
  };
  const ready = new Promise<Message>((resolve, reject) => {
    waiters.push({ kind: 'ready', from: 0, resolve });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before ready: ${stderr}`)));
  });
  return {
    child,
    messages,
    ready,
    async tick(value: number): Promise<Message> {
      const done = next('done');
      child.stdin.write(`tick ${value}\n`);
      await done;
      return messages.filter((m) => m.kind === 'update').at(-1)!;
    },
  };
}

describe('kill -9 of the rule engine while an alert fires', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterAll(async () => cleanup?.());

  it('restores the firing alert with its startsAt, pages no second time, and sends the later resolve', async () => {
    const tmp = await tempDir('obs-engine-kill9-');
    cleanup = tmp.cleanup;
    const first = startChild(tmp.dir, T0);
    await first.ready;
    await first.tick(50);
    const firing = await first.tick(95);
    const [fired] = firing.alerts!;
    expect(fired).toMatchObject({ rule: 'CpuHigh', status: 'firing', startsAt: T0 + 20_000 });
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(first.child.signalCode).toBe('SIGKILL');

    // The restart continues 30 s later, the metric still above the threshold.
    const second = startChild(tmp.dir, T0 + 50_000, 95);
    await second.ready;
    const restored = second.messages.find((m) => m.kind === 'update')!;
    expect(restored.alerts).toMatchObject([
      { fingerprint: fired!.fingerprint, status: 'firing', startsAt: fired!.startsAt, nodata: false },
    ]);
    expect((await second.tick(85)).alerts).toMatchObject([{ status: 'firing', startsAt: fired!.startsAt }]);
    const resolved = await second.tick(70);
    expect(resolved.alerts).toMatchObject([
      { fingerprint: fired!.fingerprint, status: 'resolved', startsAt: fired!.startsAt, endsAt: T0 + 70_000 },
    ]);
    second.child.stdin.write('exit\n');
    await exited(second.child);

    // Across both processes, one firing alert (fingerprint + startsAt): the notification side pages once.
    const firings = new Set(
      [...first.messages, ...second.messages]
        .flatMap((m) => m.alerts ?? [])
        .filter((a) => a.status === 'firing')
        .map((a) => `${a.fingerprint}@${a.startsAt}`),
    );
    expect([...firings]).toEqual([`${fired!.fingerprint}@${fired!.startsAt}`]);
    const history = (await readFile(join(tmp.dir, 'history.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { from: string; to: string; ts: number });
    expect(history.map((h) => `${h.from}>${h.to}@${h.ts - T0}`)).toEqual([
      'inactive>firing@20000',
      'firing>resolved@70000',
    ]);
  }, 60_000);
});
