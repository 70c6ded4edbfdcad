/**
 * Clocks, counters and figures: formatting, the CPU time of processes and of the machine
 * from /proc, and bytes on disk.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLK_TCK } from '../os.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function si(n: number | undefined, digits = 3): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(digits)} G`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(digits)} M`;
  if (a >= 1e3) return `${(n / 1e3).toPrecision(digits)} k`;
  return n.toPrecision(digits);
}
export const fixed = (n: number | undefined, d = 2) =>
  n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(d);

/**
 * CPU seconds (user + system) a process has used so far: all its threads, or with `thread` only
 * that one (the main thread's id is the process id).
 */
export async function processCpu(pid: number, thread?: number): Promise<number> {
  // A thread that is gone reads as NaN (printed as "—"); the process itself must be there.
  const stat =
    thread === undefined
      ? await readFile(`/proc/${pid}/stat`, 'utf8')
      : await readFile(`/proc/${pid}/task/${thread}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return Number.NaN;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3, utime field 14, stime field 15 (1-based, of the whole line).
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Busy CPU seconds of the whole machine so far (all cores). */
export async function machineCpu(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK;
}

export function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export async function peakRss(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU of the server, of this process and of everything else over an interval. */
export type CpuMark = { at: number; server: number; serverMain: number; self: number; machine: number };
export async function cpuMark(pid: number): Promise<CpuMark> {
  return {
    at: performance.now(),
    server: await processCpu(pid),
    serverMain: await processCpu(pid, pid),
    self: selfCpu(),
    machine: await machineCpu(),
  };
}
export type CpuUse = {
  seconds: number;
  serverCores: number;
  /** The server's main thread: the share of the time it was busy (1 = all the time). */
  serverMainBusy: number;
  /** CPU seconds the server used in all. */
  serverCpuSeconds: number;
  clientCores: number;
  otherCores: number;
};
export function cpuUse(a: CpuMark, b: CpuMark): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const server = b.server - a.server;
  const self = b.self - a.self;
  const machine = b.machine - a.machine;
  return {
    seconds,
    serverCores: server / seconds,
    serverMainBusy: (b.serverMain - a.serverMain) / seconds,
    serverCpuSeconds: server,
    clientCores: self / seconds,
    otherCores: Math.max(0, machine - server - self) / seconds,
  };
}

/** Points per second of wall time, and per second of the server's CPU time. */
export type Rates = { pointsPerSec: number; pointsPerCpuSecond: number };

/** `use` with the rates of `points` over it. */
export function withRates(use: CpuUse, points: number): CpuUse & Rates {
  return { ...use, pointsPerSec: points / use.seconds, pointsPerCpuSecond: points / use.serverCpuSeconds };
}

/** Bytes under a directory: as `du -sb` (apparent) and as `du -sB1` (allocated blocks). */
export async function diskUsage(path: string): Promise<{ apparent: number; allocated: number }> {
  let apparent = 0;
  let allocated = 0;
  const visit = async (p: string) => {
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(p);
    } catch {
      return; // merged away meanwhile
    }
    apparent += Number(st.size);
    allocated += Number(st.blocks) * 512;
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = await readdir(p);
      } catch {
        return;
      }
      for (const n of names) await visit(join(p, n));
    }
  };
  await visit(path);
  return { apparent, allocated };
}
