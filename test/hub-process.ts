/**
 * `obs hub` as a separate process, as a user runs it: start it and wait for its URL, stop it.
 * Kept apart from harness.ts (which loads the hub itself and Chromium) so benchmarks can use it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export type ChildHub = { url: string; telnetPort: number; child: ChildProcess; output: () => string };

/**
 * Runs `obs hub` as a separate process, as a user would, and waits for its URL. `nodeArgs` go to
 * node itself (`--cpu-prof`, ...).
 */
export async function spawnHub(
  dataDir: string,
  extraArgs: string[] = [],
  options: { nodeArgs?: string[]; startTimeoutMs?: number } = {},
): Promise<ChildHub> {
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      'bin/obs.mjs',
      'hub',
      '--port',
      '0',
      '--telnet-port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, OBS_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const started = Date.now();
  for (;;) {
    const m = /running at (http:\/\/\S+) .*telnet on port (\d+)/.exec(out);
    if (m) return { url: m[1]!, telnetPort: Number(m[2]), child, output: () => out };
    if (child.exitCode !== null) throw new Error(`obs hub exited with ${child.exitCode}: ${out}`);
    const limit = options.startTimeoutMs ?? 60_000;
    if (Date.now() - started > limit) throw new Error(`obs hub did not start in ${limit / 1000} s: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves when the child has exited, also if it already had. */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Stops a hub cleanly (SIGTERM), killing it if it takes longer than `ms`. */
export async function stopHub(hub: { child: ChildProcess }, ms = 20_000): Promise<void> {
  if (hub.child.exitCode !== null || hub.child.signalCode !== null) return;
  hub.child.kill('SIGTERM');
  const timer = setTimeout(() => hub.child.kill('SIGKILL'), ms);
  await exited(hub.child);
  clearTimeout(timer);
}
