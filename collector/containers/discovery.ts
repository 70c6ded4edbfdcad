/**
 * Finding containers from outside: which cgroup layout the host has (v1 hierarchies or the v2
 * unified tree) and which cgroups in it are containers (Docker, podman, Mesos, other runtimes under
 * systemd), each with a pid inside for its network namespace.
 */
import { type Dirent, readdirSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HubError } from '../../core/errors.ts';
import type { ContainerInfo } from '../../core/ports.ts';
import { readSmallFile } from '../small-file.ts';
import { parseMountinfo, parsePids } from './cgroup-files.ts';
import { appIdentity, identityTags, parseEnviron } from './identity-tags.ts';

/** The v1 controllers the source reads. */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export type CgroupLayout =
  | { version: 2; root: string }
  | {
      version: 1;
      root: string;
      /** Directory of the hierarchy of each controller found (`cpu` and `cpuacct` are often one). */
      hierarchies: Partial<Record<V1Controller, string>>;
    };

export type LayoutOptions = {
  /** `--cgroup-root`; default `/sys/fs/cgroup`. */
  cgroupRoot?: string;
  /** Default `/proc`. */
  procRoot?: string;
};

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Detects v2 (a `cgroup.controllers` file at the root) or v1 (one directory a hierarchy under the
 * root). v1 hierarchies come from `/proc/self/mountinfo` when it lists mounts under the root, else
 * from directory names (`cpu,cpuacct`, `memory`, …), which is what fixture trees have.
 * @throws HubError `UNAVAILABLE` when the root holds no cgroup hierarchy.
 */
export async function detectCgroupLayout(options: LayoutOptions = {}): Promise<CgroupLayout> {
  const root = options.cgroupRoot ?? '/sys/fs/cgroup';
  if (await exists(join(root, 'cgroup.controllers'))) return { version: 2, root };
  const hierarchies: Partial<Record<V1Controller, string>> = {};
  const claim = (controllers: readonly string[], dir: string) => {
    for (const c of V1_CONTROLLERS) if (controllers.includes(c) && !hierarchies[c]) hierarchies[c] = dir;
  };
  const mountinfo = join(options.procRoot ?? '/proc', 'self/mountinfo');
  const mounts = await readFile(mountinfo, 'utf8').then(
    (text) => parseMountinfo(text, mountinfo),
    () => [],
  );
  for (const m of mounts)
    if (m.version === 1 && m.mountPoint.startsWith(root.replace(/\/+$/, '') + '/'))
      claim(m.controllers, m.mountPoint);
  if (Object.keys(hierarchies).length === 0) {
    const entries = await readdir(root, { withFileTypes: true }).catch((cause: unknown) => {
      throw new HubError('UNAVAILABLE', `Cannot read the cgroup root ${root}`, { cause, where: root });
    });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name)))
      if (e.isDirectory() || e.isSymbolicLink()) claim(e.name.split(','), join(root, e.name));
  }
  if (Object.keys(hierarchies).length === 0)
    throw new HubError('UNAVAILABLE', `No cgroup v2 tree nor v1 hierarchy under ${root}`, { where: root });
  return { version: 1, root, hierarchies };
}

/** Directories of a container's cgroup: the v2 directory, or each v1 hierarchy's. */
export function cgroupDirs(layout: CgroupLayout, cgroupPath: string): Partial<Record<V1Controller, string>> {
  if (layout.version === 2) {
    const dir = join(layout.root, cgroupPath);
    return { cpu: dir, cpuacct: dir, memory: dir, blkio: dir, pids: dir };
  }
  const out: Partial<Record<V1Controller, string>> = {};
  for (const c of V1_CONTROLLERS) {
    const h = layout.hierarchies[c];
    if (h) out[c] = join(h, cgroupPath);
  }
  return out;
}

export type Runtime = 'docker' | 'podman' | 'mesos' | 'systemd' | 'pattern';

export type RecognisedCgroup = { id: string; runtime: Runtime };

const HEX64 = '[0-9a-f]{64}';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const RECOGNISERS: { runtime: Runtime; re: RegExp }[] = [
  // cgroupfs drivers: /docker/<id>, /mesos/<uuid>, podman's /libpod_parent/libpod-<id>.
  { runtime: 'docker', re: new RegExp(`(?:^|/)docker/(${HEX64})$`) },
  { runtime: 'mesos', re: new RegExp(`(?:^|/)mesos/(${UUID})$`) },
  { runtime: 'podman', re: new RegExp(`(?:^|/)libpod-(${HEX64})(?:\\.scope)?$`) },
  // systemd drivers: system.slice/docker-<id>.scope, machine.slice/libpod-<id>.scope,
  // and any other runtime's <name>-<id>.scope (crio-, cri-containerd-, …).
  { runtime: 'docker', re: new RegExp(`(?:^|/)docker-(${HEX64})\\.scope$`) },
  { runtime: 'systemd', re: new RegExp(`(?:^|/)(?!libpod-conmon-)[a-z][a-z0-9_-]*-(${HEX64})\\.scope$`) },
];

/** The container a cgroup path (relative to the hierarchy, `/`-separated) is, if it is one. */
export function recogniseContainerCgroup(cgroupPath: string): RecognisedCgroup | undefined {
  for (const { runtime, re } of RECOGNISERS) {
    const m = re.exec(cgroupPath);
    if (m) return { id: m[1]!, runtime };
  }
  return undefined;
}

export type DiscoveryOptions = LayoutOptions & {
  /** Recognise Docker, podman, Mesos and systemd-scope containers; default true. */
  builtin?: boolean;
  /**
   * Cgroup paths (relative to the hierarchy, starting with `/`) that are containers too; the id is
   * the named group `id` when there is one, else the path. For tests and unusual runtimes.
   */
  include?: RegExp;
  /** Read `MARATHON_APP_ID`/`MESOS_TASK_ID` from `/proc/<pid>/environ`; default true. */
  readEnviron?: boolean;
  /** How deep to walk; default 12. */
  maxDepth?: number;
};

/** Whether the walk stops at a cgroup: its recognised container, if any. */
function recognise(path: string, options: DiscoveryOptions): RecognisedCgroup | undefined {
  if (options.include) {
    const m = options.include.exec(path);
    if (m) return { id: m.groups?.['id'] ?? path, runtime: 'pattern' };
  }
  return options.builtin === false ? undefined : recogniseContainerCgroup(path);
}

/** Where containers are looked for: the v2 tree, or the cpuacct (else memory, else any) hierarchy. */
function walkRoot(layout: CgroupLayout): string {
  if (layout.version === 2) return layout.root;
  const h = layout.hierarchies;
  return h.cpuacct ?? h.memory ?? h.cpu ?? h.pids ?? h.blkio ?? layout.root;
}

const MAX_DIRS = 100_000;

export type ContainerCgroup = RecognisedCgroup & { cgroupPath: string };

/**
 * Every container cgroup under the layout's tree, without descending into containers. Synchronous,
 * like the agent's other reads of the cgroup tree (see `readSmallFile`): it runs every interval.
 */
export function findContainerCgroups(
  layout: CgroupLayout,
  options: DiscoveryOptions = {},
): ContainerCgroup[] {
  const root = walkRoot(layout);
  const maxDepth = options.maxDepth ?? 12;
  const found: ContainerCgroup[] = [];
  let queue: string[] = ['/'];
  let seen = 0;
  for (let depth = 0; depth <= maxDepth && queue.length > 0 && seen < MAX_DIRS; depth++) {
    const next: string[] = [];
    for (const path of queue) {
      let entries: Dirent[];
      try {
        entries = readdirSync(join(root, path), { withFileTypes: true });
      } catch {
        continue; // removed while walking
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        seen++;
        const child = path === '/' ? `/${e.name}` : `${path}/${e.name}`;
        const hit = recognise(child, options);
        if (hit) found.push({ ...hit, cgroupPath: child });
        else next.push(child);
      }
    }
    queue = next;
  }
  return found.sort((a, b) => a.cgroupPath.localeCompare(b.cgroupPath));
}

/**
 * A pid in the container's cgroup: the first of `cgroup.procs` (v1: of the pids, cpuacct or memory
 * hierarchy; v2: of the cgroup or, as v2 keeps processes in leaves, of its first non-empty descendant).
 */
export function findPid(layout: CgroupLayout, cgroupPath: string): number | undefined {
  const dirs = cgroupDirs(layout, cgroupPath);
  const candidates = layout.version === 2 ? [dirs.pids!] : [dirs.pids, dirs.cpuacct, dirs.memory];
  for (const dir of candidates) {
    if (!dir) continue;
    const pid = firstPid(dir, layout.version === 2 ? 3 : 0);
    if (pid !== undefined) return pid;
  }
  return undefined;
}

function firstPid(dir: string, depth: number): number | undefined {
  const file = join(dir, 'cgroup.procs');
  let pids: number[] = [];
  try {
    pids = parsePids(readSmallFile(file), file);
  } catch {}
  if (pids.length > 0) return pids[0];
  if (depth <= 0) return undefined;
  let entries: Dirent[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {}
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const pid = firstPid(join(dir, e.name), depth - 1);
    if (pid !== undefined) return pid;
  }
  return undefined;
}

/** The container tag a container has before anyone names it: Docker's short id for 64-hex ids, else the id. */
export function defaultContainerName(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}

/**
 * One container found by `findContainerCgroups`, cgroup-only: id, cgroup path, a pid, and tags
 * (`container`, plus `project`/`app`/`task` when the pid's environment has Marathon's and Mesos's
 * variables).
 */
export function describeContainer(
  layout: CgroupLayout,
  c: ContainerCgroup,
  options: DiscoveryOptions = {},
): ContainerInfo {
  const pid = findPid(layout, c.cgroupPath);
  let identity = {};
  if (pid !== undefined && options.readEnviron !== false) {
    let environ = '';
    try {
      environ = readSmallFile(join(options.procRoot ?? '/proc', String(pid), 'environ'), 'latin1');
    } catch {}
    identity = appIdentity(parseEnviron(environ));
  }
  const info: ContainerInfo = {
    id: c.id,
    cgroupPath: c.cgroupPath,
    tags: identityTags(identity, defaultContainerName(c.id)),
  };
  if (pid !== undefined) info.pid = pid;
  return info;
}

/** The containers running now, cgroup-only (see `describeContainer`). */
export function discoverContainers(layout: CgroupLayout, options: DiscoveryOptions = {}): ContainerInfo[] {
  return findContainerCgroups(layout, options).map((c) => describeContainer(layout, c, options));
}
