/**
 * Reads one container's raw figures from its cgroup files (v1 or v2) and from its network
 * namespace, as cumulative counters and gauges. A file that does not exist (controller not enabled,
 * container gone) leaves its figures out quietly; any other failure goes to `onError`. The files
 * are read synchronously (`readSmallFile`): each is made by the kernel in microseconds, and an
 * interval reads thousands.
 */
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readSmallFile } from '../small-file.ts';
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
  /** Read the limit files (CPU quota and period, memory limit); default true. */
  limits?: boolean;
};

const QUIET_CODES = new Set(['ENOENT', 'ENODEV', 'ESRCH', 'ENOTDIR']);

type Reader = <T>(file: string | undefined, parse: (text: string, file: string) => T) => T | undefined;

function makeReader(onError: ReadStatsOptions['onError']): Reader {
  return (file, parse) => {
    if (file === undefined) return undefined;
    let text: string;
    try {
      text = readSmallFile(file);
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
export function readContainerStats(
  layout: CgroupLayout,
  cgroupPath: string,
  pid: number | undefined,
  options: ReadStatsOptions = {},
): ContainerStats {
  const read = makeReader(options.onError);
  const limits = options.limits ?? true;
  const cgroup =
    layout.version === 2
      ? readV2(read, join(layout.root, cgroupPath), limits)
      : readV1(read, layout, cgroupPath, limits);
  const net =
    pid === undefined ? undefined : readNet(read, options.procRoot ?? '/proc', pid, options.hostNetns);
  if (net) cgroup.net = net;
  return cgroup;
}

function readV2(read: Reader, dir: string, limits: boolean): ContainerStats {
  const f = (name: string) => join(dir, name);
  const limit = (name: string) => (limits ? join(dir, name) : undefined);
  const cpuStat = read(f('cpu.stat'), parseKeyedFile);
  const cpuMax = read(limit('cpu.max'), parseCpuMax);
  const current = read(f('memory.current'), parseSingleValue);
  const memStat = read(f('memory.stat'), parseKeyedFile);
  const memMax = read(limit('memory.max'), (t, n) => ({ limit: parseMemoryLimit(t, n) }));
  const events = read(f('memory.events'), parseKeyedFile);
  const io = read(f('io.stat'), parseIoStat);
  const pids = read(f('pids.current'), parseSingleValue);
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

function readV1(read: Reader, layout: CgroupLayout, cgroupPath: string, limits: boolean): ContainerStats {
  const d = cgroupDirs(layout, cgroupPath);
  const f = (dir: string | undefined, name: string) => (dir === undefined ? undefined : join(dir, name));
  const limit = (dir: string | undefined, name: string) => (limits ? f(dir, name) : undefined);
  const usage = read(f(d.cpuacct, 'cpuacct.usage'), parseSingleValue);
  const quota = read(limit(d.cpu, 'cpu.cfs_quota_us'), parseSingleValue);
  const period = read(limit(d.cpu, 'cpu.cfs_period_us'), parseSingleValue);
  const cpuStat = read(f(d.cpu, 'cpu.stat'), parseKeyedFile);
  const memUsage = read(f(d.memory, 'memory.usage_in_bytes'), parseSingleValue);
  const memStat = read(f(d.memory, 'memory.stat'), parseKeyedFile);
  const memLimit = read(limit(d.memory, 'memory.limit_in_bytes'), (t, n) => ({
    limit: parseMemoryLimit(t, n),
  }));
  const failcnt = read(f(d.memory, 'memory.failcnt'), parseSingleValue);
  const oom = read(f(d.memory, 'memory.oom_control'), parseKeyedFile);
  const pids = read(f(d.pids, 'pids.current'), parseSingleValue);
  const io =
    read(f(d.blkio, 'blkio.throttle.io_service_bytes_recursive'), parseBlkioServiceBytes) ??
    read(f(d.blkio, 'blkio.throttle.io_service_bytes'), parseBlkioServiceBytes);
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

function readNet(
  read: Reader,
  procRoot: string,
  pid: number,
  hostNetns: string | undefined,
): NetDevCounters | undefined {
  if (hostNetns !== undefined) {
    let ns: string | undefined;
    try {
      ns = readlinkSync(join(procRoot, String(pid), 'ns/net'));
    } catch {}
    // Host networking: /proc/<pid>/net/dev would be the host's traffic, not the container's.
    if (ns === hostNetns) return undefined;
  }
  const interfaces = read(join(procRoot, String(pid), 'net/dev'), parseNetDev);
  return interfaces && sumNetDev(interfaces);
}
