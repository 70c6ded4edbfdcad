/**
 * `obs hub` as a separate process, as a user runs it: start it and wait for its URL, stop it.
 * Kept apart from harness.ts (which loads the hub itself and Chromium) so benchmarks can use it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export type ChildHub = { url: string; telnetPort: number; child: ChildProcess; output: () => string };

export type ObsProcess = { child: ChildProcess; output: () => string; ready: RegExpExecArray };

export type SpawnOptions = {
  /** Arguments for node itself (`--cpu-prof`, ...). */
  nodeArgs?: string[];
  /** The checkout to run `bin/obs.mjs` from (default: this one). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
};

/**
 * Runs `obs <args>` as a separate process, as a user would, and waits until its output matches
 * `ready` (failing with that output if it exits or takes longer than the timeout, 60 s).
 */
export async function spawnObs(
  args: string[],
  ready: RegExp,
  options: SpawnOptions = {},
): Promise<ObsProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), 'bin/obs.mjs', ...args], {
    cwd: options.cwd ?? join(import.meta.dirname, '..'),
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const add = (d: Buffer) => {
    out += d;
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const what = `obs ${args[0]}`;
  const limit = options.startTimeoutMs ?? 60_000;
  const started = Date.now();
  for (;;) {
    const m = ready.exec(out);
    if (m) return { child, output: () => out, ready: m };
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${out}`);
    if (Date.now() - started > limit) throw new Error(`${what} did not start in ${limit / 1000} s: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `obs hub` on free ports and a data dir of its own, without a config file; waits for its URL. */
export async function spawnHub(
  dataDir: string,
  extraArgs: string[] = [],
  options: SpawnOptions = {},
): Promise<ChildHub> {
  const { child, output, ready } = await spawnObs(
    ['hub', '--port', '0', '--telnet-port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs],
    /running at (http:\/\/\S+) .*telnet on port (\d+)/,
    { ...options, env: { ...(options.env ?? process.env), OBS_CONFIG: '' } },
  );
  return { url: ready[1]!, telnetPort: Number(ready[2]), child, output };
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
