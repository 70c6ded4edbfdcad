/**
 * The host figures of `HostStatsApi` read straight from Linux's `/proc` and `statfs(2)`, in the
 * agent's process. systeminformation gets the same figures on Linux by starting shells: `cat
 * /proc/stat | grep cpu` (synchronously) for the CPU, several `ip`/`cat` runs for the network and
 * `df` for the disks, every interval; each start copies the page tables of the agent, which cost
 * the agent more CPU than everything else it did with 200 containers. It stays the source where
 * `/proc/stat` cannot be read (not Linux).
 */
import { statfs } from 'node:fs/promises';
import { parseNetDev, unescapeMount } from '../containers/cgroup-files.ts';
import { readSmallFile } from '../small-file.ts';
import type { HostStatsApi } from './host-source.ts';

/** The jiffies of one `cpu` line of `/proc/stat`: all of them, and the idle ones (idle + iowait). */
export type CpuTimes = { total: number; idle: number };

/** `/proc/stat`'s `cpu` line (first) and `cpuN` lines (then, in order). */
export function parseProcStat(text: string): CpuTimes[] {
  const out: CpuTimes[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice).
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    out.push({ total: f.reduce((a, b) => a + b, 0), idle: (f[3] ?? 0) + (f[4] ?? 0) });
  }
  return out;
}

/** Percent busy between two readings; since boot when there is no previous one. */
export function busyPercent(now: CpuTimes, before: CpuTimes | undefined): number {
  const total = now.total - (before?.total ?? 0);
  const idle = now.idle - (before?.idle ?? 0);
  return total > 0 ? ((total - idle) / total) * 100 : 0;
}

/** `/proc/meminfo`'s `MemTotal` and `MemAvailable`, in bytes. */
export function parseMeminfo(text: string): { total: number; available: number } {
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { total: kb('MemTotal'), available: kb('MemAvailable') };
}

/** `/proc/self/mounts`: `source mountpoint fstype options 0 0`, with `\040`-style escapes. */
export function parseProcMounts(text: string): { fs: string; mount: string; type: string }[] {
  const out: { fs: string; mount: string; type: string }[] = [];
  for (const line of text.split('\n')) {
    const [fs, mount, type] = line.split(' ');
    if (fs && mount && type) out.push({ fs: unescapeMount(fs), mount: unescapeMount(mount), type });
  }
  return out;
}

/**
 * `HostStatsApi` from `/proc` (under `procRoot`, default `/proc`) and `statfs`. Throws from the
 * start when `/proc/stat` cannot be read, so the caller can fall back to systeminformation.
 */
export function createProcHostStats(procRoot = '/proc'): HostStatsApi {
  const read = (name: string) => readSmallFile(`${procRoot}/${name}`);
  let previous = parseProcStat(read('stat'));
  return {
    async currentLoad() {
      const now = parseProcStat(read('stat'));
      const [all, ...cores] = now.map((t, i) => busyPercent(t, previous[i]));
      previous = now;
      return { currentLoad: all ?? 0, cpus: cores.map((load) => ({ load })) };
    },
    async mem() {
      return parseMeminfo(read('meminfo'));
    },
    async networkStats() {
      return parseNetDev(read('net/dev'), `${procRoot}/net/dev`).map((n) => ({
        iface: n.iface,
        rx_bytes: n.rxBytes,
        tx_bytes: n.txBytes,
      }));
    },
    async fsSize() {
      const seen = new Set<string>();
      const out: { fs: string; type: string; size: number; used: number; mount: string }[] = [];
      for (const m of parseProcMounts(read('self/mounts'))) {
        if (seen.has(m.mount)) continue;
        seen.add(m.mount);
        // df's figures: size = blocks, used = blocks - free (what root may still use is not "used").
        const s = await statfs(m.mount).catch(() => undefined);
        if (s) out.push({ ...m, size: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize });
      }
      return out;
    },
  };
}
