/**
 * Real cgroups for tests: a top cgroup `obs-test-<random>` under the host's cgroup root with leaves
 * in it (one per v1 hierarchy the source reads, or one v2 directory with controllers enabled),
 * processes started inside them, and a cleanup that kills those processes and removes the cgroups.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statfsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const inCi = process.env['CI'] === 'true';

const CGROUP2_MAGIC = 0x63677270;
const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'];
const V2_CONTROLLERS = ['cpu', 'memory', 'io', 'pids'];

/**
 * Skips a suite outside CI when `reason` is set, and fails the run in CI: there the machine must
 * have what the test needs (see the report of what `.ci/run` installs).
 */
export function missingPrerequisite(what: string, reason: string | undefined): boolean {
  if (reason && inCi) throw new Error(`${what} cannot run: ${reason}`);
  return reason !== undefined;
}

/** Why real cgroups cannot be made here, or undefined when they can. */
export function cgroupsUnavailable(root = '/sys/fs/cgroup'): string | undefined {
  if (process.getuid?.() !== 0) return 'the test needs root to create cgroups and network namespaces';
  if (!existsSync(root)) return `there is no cgroup root at ${root}`;
  if (statfsSync(root).type === CGROUP2_MAGIC) {
    const controllers = readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/);
    const missing = ['cpu', 'memory'].filter((c) => !controllers.includes(c));
    return missing.length ? `cgroup v2 at ${root} lacks the controllers ${missing.join(', ')}` : undefined;
  }
  const missing = ['cpu', 'cpuacct', 'memory'].filter((c) => !existsSync(join(root, c)));
  return missing.length ? `cgroup v1 at ${root} has no hierarchy for ${missing.join(', ')}` : undefined;
}

/** The cgroup v2 tree mounted beside v1 ones (hybrid mode), if there is one. */
export function hybridUnifiedRoot(root = '/sys/fs/cgroup'): string | undefined {
  const unified = join(root, 'unified');
  try {
    return statfsSync(root).type !== CGROUP2_MAGIC && statfsSync(unified).type === CGROUP2_MAGIC
      ? unified
      : undefined;
  } catch {
    return undefined;
  }
}

export type LeafLimits = {
  /** CFS quota and period, µs. */
  cpu?: { quotaUs: number; periodUs: number };
  memoryBytes?: number;
};

export class TestCgroups {
  readonly name = `obs-test-${randomBytes(4).toString('hex')}`;
  readonly version: 1 | 2;
  /** The directories the top cgroup is made in: one per v1 hierarchy, or the v2 root. */
  private readonly hierarchies: string[];
  private readonly leaves: string[] = [];
  private readonly children: ChildProcess[] = [];

  constructor(readonly root = '/sys/fs/cgroup') {
    this.version = statfsSync(root).type === CGROUP2_MAGIC ? 2 : 1;
    this.hierarchies =
      this.version === 2
        ? [root]
        : [
            ...new Set(
              V1_CONTROLLERS.map((c) => join(root, c))
                .filter(existsSync)
                .map((p) => realpathSync(p)),
            ),
          ];
  }

  /** The cgroup path (relative to the hierarchy) of a leaf. */
  path(leaf: string): string {
    return `/${this.name}/${leaf}`;
  }

  /** A pattern for discovery's `include` that matches this instance's leaves, the id being the leaf name. */
  get include(): RegExp {
    return new RegExp(`^/${this.name}/(?<id>[^/]+)$`);
  }

  /** Makes the top cgroup (enabling v2 controllers for its children) and a leaf with limits. */
  async leaf(name: string, limits: LeafLimits = {}): Promise<void> {
    for (const h of this.hierarchies) {
      const top = join(h, this.name);
      if (!existsSync(top)) {
        if (this.version === 2) await this.enableV2Controllers(h);
        await mkdir(top);
        if (this.version === 2) await this.enableV2Controllers(top);
      }
      await mkdir(join(top, name));
    }
    this.leaves.push(name);
    const dir = (file: string) =>
      this.hierarchies.map((h) => join(h, this.name, name, file)).find(existsSync);
    if (limits.cpu) {
      if (this.version === 2)
        await writeFile(dir('cpu.max')!, `${limits.cpu.quotaUs} ${limits.cpu.periodUs}`);
      else {
        await writeFile(dir('cpu.cfs_period_us')!, String(limits.cpu.periodUs));
        await writeFile(dir('cpu.cfs_quota_us')!, String(limits.cpu.quotaUs));
      }
    }
    if (limits.memoryBytes !== undefined)
      await writeFile(
        dir(this.version === 2 ? 'memory.max' : 'memory.limit_in_bytes')!,
        String(limits.memoryBytes),
      );
  }

  /** Turns on, for the children of `dir`, the controllers the source reads that `dir` has. */
  private async enableV2Controllers(dir: string): Promise<void> {
    const have = (await readFile(join(dir, 'cgroup.controllers'), 'utf8')).split(/\s+/);
    const on = (await readFile(join(dir, 'cgroup.subtree_control'), 'utf8')).split(/\s+/);
    const wanted = V2_CONTROLLERS.filter((c) => have.includes(c) && !on.includes(c));
    if (wanted.length)
      await writeFile(join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
  }

  /** The `cgroup.procs` files a process must be written to, to be in `leaf` in every hierarchy. */
  procsFiles(leaf: string): string[] {
    return this.hierarchies.map((h) => join(h, this.name, leaf, 'cgroup.procs'));
  }

  /**
   * Starts `argv` inside the cgroups whose `cgroup.procs` files are given: a shell writes its own pid
   * there and then execs the command, so the command is charged to the cgroup from its first page.
   */
  spawn(procsFiles: string[], argv: string[], env: Record<string, string> = {}): ChildProcess {
    const script = 'files=$1; shift; for f in $files; do echo $$ > "$f" || exit 97; done; exec "$@"';
    const child = spawn('/bin/sh', ['-c', script, 'sh', procsFiles.join(' '), ...argv], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.children.push(child);
    return child;
  }

  /** Kills every process in the leaves, then removes the leaves and the top cgroup. Never throws. */
  async cleanup(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    for (let attempt = 0; attempt < 50; attempt++) {
      let left = 0;
      for (const leaf of this.leaves)
        for (const file of this.procsFiles(leaf)) {
          const pids = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
          left += pids.length;
          for (const pid of pids) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {}
          }
        }
      if (left === 0) break;
      await sleep(100);
    }
    for (const h of this.hierarchies) {
      for (const leaf of this.leaves) await rmdir(join(h, this.name, leaf)).catch(() => {});
      await rmdir(join(h, this.name)).catch(() => {});
    }
  }
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, all threads) a process has used, from `/proc/<pid>/stat`. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * How far (in cores) a cgroup CPU figure may be from a process's own CPU time over a window: 10%,
 * or two clock ticks of `/proc/<pid>/stat` when the process got so little that ticks matter.
 */
export function cpuTolerance(own: number, windowSeconds: number): number {
  return Math.max(0.1 * own, 2 / CLK_TCK / windowSeconds);
}

/** Resolves with the first line of `child`'s stdout that matches, or rejects when it exits first. */
export function waitForLine(child: ChildProcess, match: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${match} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => match.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(line);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited with ${code} before printing ${match}; output: ${buffer}`));
    });
  });
}

/** A node one-liner: burns one core until it exits by itself after `seconds` (in case cleanup fails). */
export const burnerArgv = (seconds = 180) => [
  process.execPath,
  '-e',
  `const end = Date.now() + ${seconds * 1000}; while (Date.now() < end);`,
];

/**
 * A node process that, once it reads a line on stdin, allocates `bytes`, writes every page, prints
 * `ready`, and holds the memory until it exits by itself after `seconds`.
 */
export const allocatorArgv = (bytes: number, seconds = 180) => [
  process.execPath,
  '-e',
  `process.stdin.once('data', () => {
     globalThis.held = Buffer.allocUnsafe(${bytes}).fill(1);
     console.log('ready');
   });
   setTimeout(() => process.exit(0), ${seconds * 1000});`,
];
