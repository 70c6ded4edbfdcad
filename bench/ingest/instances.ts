/**
 * The systems under test as child processes, each on a fresh temp dir. This module owns every
 * live child and temp dir: they go with the bench however it ends (exit, SIGINT, SIGTERM, SIGHUP).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnHub } from '../../test/hub-process.ts';
import { freePort } from '../os.ts';
import { newAgent, request } from './http-client.ts';
import { log } from './log.ts';
import { sleep } from './measure.ts';
import { HUB_DIR, LABEL, PROFILE_DIR, type SystemName } from './options.ts';

export type Instance = {
  system: SystemName;
  pid: number;
  dir: string;
  /** Port of `/api/put`. */
  putPort: number;
  telnetPort: number;
  /** Port of `/metrics` and the query API. */
  apiPort: number;
  child: ChildProcess;
  /** performance.now() when the process was spawned. */
  spawnedAt: number;
  output(): string;
  stop(): Promise<void>;
};

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function killAllNow(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(sig, () => {
    log(`${sig}: stopping the servers`);
    killAllNow();
    process.exit(130);
  });

/** Kills the child with the bench, and says so when it exits unasked. */
function watch(child: ChildProcess, name: string): void {
  live.add(child);
  child.on('exit', (code, signal) => {
    live.delete(child);
    if (!stopping.has(child)) log(`${name} (pid ${child.pid}) exited unexpectedly: ${signal ?? code}`);
  });
}

/** `watch`, and the child's output (its last 100–200 KB). */
function track(child: ChildProcess, name: string): () => string {
  watch(child, name);
  let out = '';
  const add = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
}

const stopping = new Set<ChildProcess>();
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  stopping.add(child);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function startHub(phase: string): Promise<Instance> {
  const dir = await mkdtemp(join(tmpdir(), `bench-hub-${phase}-`));
  tempDirs.add(dir);
  const nodeArgs = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [];
  const spawnedAt = performance.now();
  const hub = await spawnHub(dir, ['--no-agent'], { nodeArgs, cwd: HUB_DIR });
  watch(hub.child, 'hub');
  const port = Number(new URL(hub.url).port);
  return {
    system: 'hub',
    pid: hub.child.pid!,
    dir,
    putPort: port,
    telnetPort: hub.telnetPort,
    apiPort: port,
    child: hub.child,
    spawnedAt,
    output: hub.output,
    stop: () => stopChild(hub.child),
  };
}

async function startVm(phase: string): Promise<Instance> {
  const dir = await mkdtemp(join(tmpdir(), `bench-vm-${phase}-`));
  tempDirs.add(dir);
  const [httpPort, putPort, telnetPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    'victoria-metrics',
    [
      `-storageDataPath=${dir}`,
      `-httpListenAddr=127.0.0.1:${httpPort}`,
      `-opentsdbHTTPListenAddr=127.0.0.1:${putPort}`,
      `-opentsdbListenAddr=127.0.0.1:${telnetPort}`,
      '-search.disableCache',
      '-retentionPeriod=100y',
      '-loggerLevel=WARN',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = track(child, 'victoria-metrics');
  const spawnedAt = performance.now();
  const started = Date.now();
  const agent = newAgent();
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`victoria-metrics exited with ${child.exitCode}: ${output()}`);
    try {
      const r = await request(agent, httpPort, 'GET', '/health', undefined, 2_000);
      if (r.status === 200 && (await canConnect(putPort)) && (await canConnect(telnetPort))) break;
    } catch {
      // not yet
    }
    if (Date.now() - started > 60_000) throw new Error(`victoria-metrics did not start in 60 s: ${output()}`);
    await sleep(100);
  }
  agent.destroy();
  return {
    system: 'vm',
    pid: child.pid!,
    dir,
    putPort,
    telnetPort,
    apiPort: httpPort,
    child,
    spawnedAt,
    output,
    stop: () => stopChild(child),
  };
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export const startSystem = (s: SystemName, phase: string) => (s === 'hub' ? startHub(phase) : startVm(phase));

export async function removeInstance(inst: Instance): Promise<void> {
  await inst.stop();
  await rm(inst.dir, { recursive: true, force: true });
  tempDirs.delete(inst.dir);
}

/** The server's last logged error, if any (hub: JSON lines; VictoriaMetrics: `error` lines). */
export function lastErrorLine(inst: Instance): string | undefined {
  const lines = inst
    .output()
    .split('\n')
    .filter((l) => /"level":"error"|\terror\t/.test(l));
  return lines.at(-1)?.slice(0, 600);
}

export function assertAlive(inst: Instance): void {
  if (inst.child.exitCode !== null || inst.child.signalCode !== null)
    throw new Error(
      `${LABEL[inst.system]} died (${inst.child.signalCode ?? inst.child.exitCode}): ${inst.output().slice(-2000)}`,
    );
}
