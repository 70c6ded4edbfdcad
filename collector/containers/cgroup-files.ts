/**
 * Pure parsers of the kernel files a container is measured from: cgroup v1 and v2 controller
 * files, `/proc/<pid>/net/dev`, `/proc/self/mountinfo` and `/proc/<pid>/cgroup`. Each takes the
 * file's text and its name; a malformed line throws a HubError naming the file and the line.
 */
import { HubError } from '../../core/errors.ts';

function parseError(file: string, line: number, message: string): HubError {
  return new HubError('INTERNAL', `${file}:${line}: ${message}`, { where: `${file}:${line}` });
}

const INTEGER_RE = /^-?\d+$/;

function toInteger(text: string, file: string, line: number, what: string): number {
  if (!INTEGER_RE.test(text)) throw parseError(file, line, `${what} "${text}" is not an integer`);
  return Number(text);
}

/**
 * `text[start, end)` as a number when it is 1 to 15 plain digits (exact in a double), else -1. The
 * agent reads thousands of these files an interval: the parsers below take this path for the lines
 * the kernel writes, and leave anything else (signs, blanks, huge values, errors) to the general code.
 */
function plainInteger(text: string, start: number, end: number): number {
  if (start >= end || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Lines with their 1-based numbers, blank ones left out. */
function lines(text: string): [number, string][] {
  const out: [number, string][] = [];
  const all = text.split('\n');
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!.trim();
    if (line !== '') out.push([i + 1, line]);
  }
  return out;
}

/**
 * A file of one integer: v2 `memory.current`, `pids.current`; v1 `cpuacct.usage`,
 * `memory.usage_in_bytes`, `memory.failcnt`, `cpu.cfs_quota_us` (-1 = no quota), `cpu.cfs_period_us`.
 */
export function parseSingleValue(text: string, file: string): number {
  const fast = plainInteger(text, 0, text.endsWith('\n') ? text.length - 1 : text.length);
  if (fast >= 0) return fast;
  const body = lines(text);
  if (body.length !== 1) throw parseError(file, body[1]?.[0] ?? 1, 'expected exactly one value');
  const [line, value] = body[0]!;
  return toInteger(value, file, line, 'value');
}

/**
 * A flat keyed file, one `key value` pair a line: `cpu.stat` (v1 and v2), `memory.stat` (v1 and v2),
 * `memory.events`, v1 `memory.oom_control`.
 */
export function parseKeyedFile(text: string, file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (let start = 0; start < text.length; ) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    const space = text.indexOf(' ', start);
    const value = space > start && space < nl ? plainInteger(text, space + 1, nl) : -1;
    if (value < 0 || hasBlank(text, start, space)) return parseKeyedLines(text, file);
    out[text.slice(start, space)] = value;
    start = nl + 1;
  }
  return out;
}

/** True when `text[start, end)` holds a tab or a carriage return. */
function hasBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 9 || c === 13) return true;
  }
  return false;
}

function parseKeyedLines(text: string, file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [line, content] of lines(text)) {
    const parts = content.split(/\s+/);
    if (parts.length !== 2) throw parseError(file, line, `expected "key value", got "${content}"`);
    out[parts[0]!] = toInteger(parts[1]!, file, line, parts[0]!);
  }
  return out;
}

/** At and above this a v1 `memory.limit_in_bytes` means "no limit" (the kernel writes 2^63 rounded to a page). */
const V1_NO_MEMORY_LIMIT = 2 ** 62;

/** v2 `memory.max` (`max` or bytes) or v1 `memory.limit_in_bytes`; `undefined` when there is no limit. */
export function parseMemoryLimit(text: string, file: string): number | undefined {
  const body = lines(text);
  if (body.length === 1 && body[0]![1] === 'max') return undefined;
  const bytes = parseSingleValue(text, file);
  return bytes >= V1_NO_MEMORY_LIMIT ? undefined : bytes;
}

export type CpuQuota = { quotaUs: number | undefined; periodUs: number };

/** v2 `cpu.max`: `$MAX $PERIOD`, `$MAX` being `max` when there is no quota. */
export function parseCpuMax(text: string, file: string): CpuQuota {
  const body = lines(text);
  if (body.length !== 1) throw parseError(file, body[1]?.[0] ?? 1, 'expected one line "$MAX $PERIOD"');
  const [line, content] = body[0]!;
  const [max, period, extra] = content.split(/\s+/);
  if (max === undefined || extra !== undefined)
    throw parseError(file, line, `expected "$MAX $PERIOD", got "${content}"`);
  const periodUs = period === undefined ? 100_000 : toInteger(period, file, line, 'period');
  if (periodUs <= 0) throw parseError(file, line, `period ${periodUs} is not positive`);
  return { quotaUs: max === 'max' ? undefined : toInteger(max, file, line, 'quota'), periodUs };
}

/** Cores a quota allows (quota / period); `undefined` when there is no quota (v1 writes -1). */
export function cpuLimitCores(quota: CpuQuota): number | undefined {
  if (quota.quotaUs === undefined || quota.quotaUs <= 0 || quota.periodUs <= 0) return undefined;
  return quota.quotaUs / quota.periodUs;
}

export type IoBytes = { readBytes: number; writeBytes: number };

/** v2 `io.stat`: `MAJ:MIN rbytes=… wbytes=… rios=… …` a device; summed over the devices. */
export function parseIoStat(text: string, file: string): IoBytes {
  let readBytes = 0;
  let writeBytes = 0;
  for (const [line, content] of lines(text)) {
    const [device, ...fields] = content.split(/\s+/);
    if (!/^\d+:\d+$/.test(device!)) throw parseError(file, line, `"${device}" is not a MAJ:MIN device`);
    for (const field of fields) {
      const eq = field.indexOf('=');
      if (eq <= 0) throw parseError(file, line, `expected key=value, got "${field}"`);
      const key = field.slice(0, eq);
      // Newer kernels add non-integer keys (cost.*, latency targets); only the byte counters matter.
      if (key === 'rbytes') readBytes += toInteger(field.slice(eq + 1), file, line, key);
      else if (key === 'wbytes') writeBytes += toInteger(field.slice(eq + 1), file, line, key);
    }
  }
  return { readBytes, writeBytes };
}

const BLKIO_OPS = new Set(['Read', 'Write', 'Sync', 'Async', 'Discard', 'Total']);

/**
 * v1 `blkio.throttle.io_service_bytes` (or its `_recursive` twin): `MAJ:MIN Op bytes` lines and a
 * last `Total bytes`; Read and Write summed over the devices.
 */
export function parseBlkioServiceBytes(text: string, file: string): IoBytes {
  let readBytes = 0;
  let writeBytes = 0;
  for (const [line, content] of lines(text)) {
    const parts = content.split(/\s+/);
    if (parts.length === 2 && parts[0] === 'Total') {
      toInteger(parts[1]!, file, line, 'Total');
      continue;
    }
    if (parts.length !== 3 || !/^\d+:\d+$/.test(parts[0]!) || !BLKIO_OPS.has(parts[1]!))
      throw parseError(file, line, `expected "MAJ:MIN Op bytes", got "${content}"`);
    const bytes = toInteger(parts[2]!, file, line, parts[1]!);
    if (parts[1] === 'Read') readBytes += bytes;
    else if (parts[1] === 'Write') writeBytes += bytes;
  }
  return { readBytes, writeBytes };
}

export type NetDevCounters = {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
};

export type NetDevInterface = NetDevCounters & { iface: string };

/** `/proc/<pid>/net/dev`: two header lines, then `iface: 8 receive and 8 transmit counters`. */
export function parseNetDev(text: string, file: string): NetDevInterface[] {
  const out: NetDevInterface[] = [];
  for (const [line, content] of lines(text)) {
    if (line <= 2 && content.includes('|')) continue;
    const colon = content.indexOf(':');
    if (colon <= 0) throw parseError(file, line, `expected "iface: counters", got "${content}"`);
    const fields = content
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (fields.length !== 16) throw parseError(file, line, `expected 16 counters, got ${fields.length}`);
    const n = fields.map((f, i) => toInteger(f, file, line, `counter ${i + 1}`));
    out.push({
      iface: content.slice(0, colon).trim(),
      rxBytes: n[0]!,
      rxPackets: n[1]!,
      rxErrors: n[2]!,
      rxDropped: n[3]!,
      txBytes: n[8]!,
      txPackets: n[9]!,
      txErrors: n[10]!,
      txDropped: n[11]!,
    });
  }
  return out;
}

/** The sum of the counters of the interfaces `include` keeps (by default all but loopback). */
export function sumNetDev(
  interfaces: readonly NetDevInterface[],
  include: (iface: string) => boolean = (iface) => iface !== 'lo',
): NetDevCounters | undefined {
  const kept = interfaces.filter((i) => include(i.iface));
  if (kept.length === 0) return undefined;
  const sum: NetDevCounters = {
    rxBytes: 0,
    rxPackets: 0,
    rxErrors: 0,
    rxDropped: 0,
    txBytes: 0,
    txPackets: 0,
    txErrors: 0,
    txDropped: 0,
  };
  for (const i of kept) for (const k of Object.keys(sum) as (keyof NetDevCounters)[]) sum[k] += i[k];
  return sum;
}

export type CgroupMount = {
  /** Where the hierarchy is mounted. */
  mountPoint: string;
  /** The cgroup the mount shows as its root (not `/` inside a cgroup namespace or a bind mount). */
  root: string;
  version: 1 | 2;
  /** v1 controllers of the hierarchy (`cpu`, `cpuacct`, `name=systemd`, …); empty for v2. */
  controllers: string[];
};

/** A path of `/proc/<pid>/mountinfo` or `/proc/<pid>/mounts`, with its `\040`-style escapes undone. */
export const unescapeMount = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * The cgroup mounts of `/proc/<pid>/mountinfo`:
 * `id parent maj:min root mountpoint options [optional…] - fstype source superoptions`.
 */
export function parseMountinfo(text: string, file: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const [line, content] of lines(text)) {
    const parts = content.split(' ');
    const dash = parts.indexOf('-', 6);
    if (parts.length < 7 || dash < 0 || dash + 3 > parts.length)
      throw parseError(
        file,
        line,
        'expected "id parent maj:min root mountpoint options … - fstype source …"',
      );
    const fstype = parts[dash + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    out.push({
      mountPoint: unescapeMount(parts[4]!),
      root: unescapeMount(parts[3]!),
      version: fstype === 'cgroup2' ? 2 : 1,
      controllers:
        fstype === 'cgroup2'
          ? []
          : (parts[dash + 3] ?? '').split(',').filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name=')),
    });
  }
  return out;
}

const V1_CONTROLLERS = new Set([
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'blkio',
  'perf_event',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
]);

export type ProcCgroupEntry = { hierarchyId: number; controllers: string[]; path: string };

/** `/proc/<pid>/cgroup`: `hierarchy-id:controller,list:/path` a line; v2 is `0::/path`. */
export function parseProcCgroup(text: string, file: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const [line, content] of lines(text)) {
    const first = content.indexOf(':');
    const second = content.indexOf(':', first + 1);
    if (first <= 0 || second < 0)
      throw parseError(file, line, `expected "id:controllers:path", got "${content}"`);
    const path = content.slice(second + 1);
    if (!path.startsWith('/')) throw parseError(file, line, `path "${path}" is not absolute`);
    const list = content.slice(first + 1, second);
    out.push({
      hierarchyId: toInteger(content.slice(0, first), file, line, 'hierarchy id'),
      controllers: list === '' ? [] : list.split(','),
      path,
    });
  }
  return out;
}

/** `cgroup.procs`: one pid a line. */
export function parsePids(text: string, file: string): number[] {
  return lines(text).map(([line, content]) => toInteger(content, file, line, 'pid'));
}
