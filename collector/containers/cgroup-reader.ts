/**
 * Reads one container's raw figures from its cgroup files (v1 or v2) and from its network
 * namespace, as cumulative counters and gauges. A file that does not exist (controller not enabled,
 * container gone) leaves its figures out quietly; any other failure goes to `onError`.
 */
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cpuLimitCores,
  type IoBytes,
  type NetDevCounters,
  parseBlkioServiceBytes,
  parseCpuMax,
  parseIoStat,
  parseKeyedFile,
  parseMemoryLimit,
  parseNetDev,
  parseSingleValue,
  sumNetDev,
} from './cgroup-files.ts';
import { type CgroupLayout, cgroupDirs } from './discovery.ts';

/** One reading of a container. Counters are cumulative since the cgroup (or namespace) began. */
export type ContainerStats = {
  /** Counter: CPU time, ns. */
  cpuUsageNs?: number;
  /** Gauge: the CFS quota in cores; absent when there is none. */
  cpuLimitCores?: number;
  /** Counters: CFS periods elapsed, periods throttled, time throttled (ns). */
  cpuPeriods?: number;
  cpuThrottledPeriods?: number;
  cpuThrottledNs?: number;
  /** Gauges, bytes. Working set = usage − inactive file cache (what the kernel cannot easily take back). */
  memUsage?: number;
  memWorkingSet?: number;
  memRss?: number;
  memCache?: number;
  /** Gauge; absent when there is no limit. */
  memLimit?: number;
  /** Counters: times usage hit the limit (v1 `failcnt`, v2 `memory.events max`), OOM kills. */
  memFailcnt?: number;
  memOomKills?: number;
  /** Counters, bytes, summed over devices. */
  ioReadBytes?: number;
  ioWriteBytes?: number;
  /** Gauge. */
  pids?: number;
  /** Counters of the container's own network namespace, all interfaces but `lo`. */
  net?: NetDevCounters;
};

export type ReadStatsOptions = {
  /** Default `/proc`. */
  procRoot?: string;
  /** The `/proc/self/ns/net` link of the agent: a pid in this namespace has no network of its own. */
  hostNetns?: string;
  /** A file that exists but could not be read or parsed. */
  onError?: (file: string, error: unknown) => void;
};

const QUIET_CODES = new Set(['ENOENT', 'ENODEV', 'ESRCH', 'ENOTDIR']);

type Reader = <T>(
  file: string | undefined,
  parse: (text: string, file: string) => T,
) => Promise<T | undefined>;

function makeReader(onError: ReadStatsOptions['onError']): Reader {
  return async (file, parse) => {
    if (file === undefined) return undefined;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (!QUIET_CODES.has((error as NodeJS.ErrnoException).code ?? '')) onError?.(file, error);
      return undefined;
    }
    try {
      return parse(text, file);
    } catch (error) {
      onError?.(file, error);
      return undefined;
    }
  };
}

/** Reads the cgroup and network figures of the container at `cgroupPath` (with `pid` inside it). */
export async function readContainerStats(
  layout: CgroupLayout,
  cgroupPath: string,
  pid: number | undefined,
  options: ReadStatsOptions = {},
): Promise<ContainerStats> {
  const read = makeReader(options.onError);
  const [cgroup, net] = await Promise.all([
    layout.version === 2 ? readV2(read, join(layout.root, cgroupPath)) : readV1(read, layout, cgroupPath),
    pid === undefined ? undefined : readNet(read, options.procRoot ?? '/proc', pid, options.hostNetns),
  ]);
  if (net) cgroup.net = net;
  return cgroup;
}

async function readV2(read: Reader, dir: string): Promise<ContainerStats> {
  const f = (name: string) => join(dir, name);
  const [cpuStat, cpuMax, current, memStat, memMax, events, io, pids] = await Promise.all([
    read(f('cpu.stat'), parseKeyedFile),
    read(f('cpu.max'), parseCpuMax),
    read(f('memory.current'), parseSingleValue),
    read(f('memory.stat'), parseKeyedFile),
    read(f('memory.max'), (t, n) => ({ limit: parseMemoryLimit(t, n) })),
    read(f('memory.events'), parseKeyedFile),
    read(f('io.stat'), parseIoStat),
    read(f('pids.current'), parseSingleValue),
  ]);
  const s: ContainerStats = {};
  const usec = (v: number | undefined) => (v === undefined ? undefined : v * 1000);
  assign(s, {
    cpuUsageNs: usec(cpuStat?.['usage_usec']),
    cpuPeriods: cpuStat?.['nr_periods'],
    cpuThrottledPeriods: cpuStat?.['nr_throttled'],
    cpuThrottledNs: usec(cpuStat?.['throttled_usec']),
    cpuLimitCores: cpuMax && cpuLimitCores(cpuMax),
    memLimit: memMax?.limit,
    memFailcnt: events?.['max'],
    memOomKills: events?.['oom_kill'],
    pids,
  });
  memory(s, current, memStat?.['anon'], memStat?.['file'], memStat?.['inactive_file']);
  blkio(s, io);
  return s;
}

async function readV1(read: Reader, layout: CgroupLayout, cgroupPath: string): Promise<ContainerStats> {
  const d = cgroupDirs(layout, cgroupPath);
  const f = (dir: string | undefined, name: string) => (dir === undefined ? undefined : join(dir, name));
  const [usage, quota, period, cpuStat, memUsage, memStat, memLimit, failcnt, oom, ioRecursive, pids] =
    await Promise.all([
      read(f(d.cpuacct, 'cpuacct.usage'), parseSingleValue),
      read(f(d.cpu, 'cpu.cfs_quota_us'), parseSingleValue),
      read(f(d.cpu, 'cpu.cfs_period_us'), parseSingleValue),
      read(f(d.cpu, 'cpu.stat'), parseKeyedFile),
      read(f(d.memory, 'memory.usage_in_bytes'), parseSingleValue),
      read(f(d.memory, 'memory.stat'), parseKeyedFile),
      read(f(d.memory, 'memory.limit_in_bytes'), (t, n) => ({ limit: parseMemoryLimit(t, n) })),
      read(f(d.memory, 'memory.failcnt'), parseSingleValue),
      read(f(d.memory, 'memory.oom_control'), parseKeyedFile),
      read(f(d.blkio, 'blkio.throttle.io_service_bytes_recursive'), parseBlkioServiceBytes),
      read(f(d.pids, 'pids.current'), parseSingleValue),
    ]);
  const io =
    ioRecursive ?? (await read(f(d.blkio, 'blkio.throttle.io_service_bytes'), parseBlkioServiceBytes));
  const s: ContainerStats = {};
  assign(s, {
    cpuUsageNs: usage,
    cpuPeriods: cpuStat?.['nr_periods'],
    cpuThrottledPeriods: cpuStat?.['nr_throttled'],
    cpuThrottledNs: cpuStat?.['throttled_time'],
    cpuLimitCores:
      quota === undefined || period === undefined
        ? undefined
        : cpuLimitCores({ quotaUs: quota, periodUs: period }),
    memLimit: memLimit?.limit,
    memFailcnt: failcnt,
    memOomKills: oom?.['oom_kill'],
    pids,
  });
  // The total_ figures include child cgroups, as usage_in_bytes does.
  const stat = (key: string) => memStat?.[`total_${key}`] ?? memStat?.[key];
  memory(s, memUsage, stat('rss'), stat('cache'), stat('inactive_file'));
  blkio(s, io);
  return s;
}

function assign(
  s: ContainerStats,
  values: { [K in keyof ContainerStats]: ContainerStats[K] | undefined },
): void {
  for (const [k, v] of Object.entries(values)) if (v !== undefined) (s as Record<string, unknown>)[k] = v;
}

function memory(
  s: ContainerStats,
  usage: number | undefined,
  rss: number | undefined,
  cache: number | undefined,
  inactiveFile: number | undefined,
): void {
  assign(s, {
    memUsage: usage,
    memRss: rss,
    memCache: cache,
    memWorkingSet: usage === undefined ? undefined : Math.max(0, usage - (inactiveFile ?? 0)),
  });
}

function blkio(s: ContainerStats, io: IoBytes | undefined): void {
  if (io) assign(s, { ioReadBytes: io.readBytes, ioWriteBytes: io.writeBytes });
}

async function readNet(
  read: Reader,
  procRoot: string,
  pid: number,
  hostNetns: string | undefined,
): Promise<NetDevCounters | undefined> {
  if (hostNetns !== undefined) {
    const ns = await readlink(join(procRoot, String(pid), 'ns/net')).catch(() => undefined);
    // Host networking: /proc/<pid>/net/dev would be the host's traffic, not the container's.
    if (ns === hostNetns) return undefined;
  }
  const interfaces = await read(join(procRoot, String(pid), 'net/dev'), parseNetDev);
  return interfaces && sumNetDev(interfaces);
}
