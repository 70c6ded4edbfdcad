/**
 * The container metrics source of the agent, read from outside the containers: cgroup files for
 * CPU, memory, block I/O and pids, `/proc/<pid>/net/dev` for the network, and, when given, an
 * identity resolver (Docker) for names and Marathon/Mesos tags. Without one it runs cgroup-only.
 *
 * Counters become per-second rates (`counterRates`: no rate on a counter's first reading or after a
 * reset). CPU usage is in cores: Δusage_ns / Δt_ns. Throttling is reported two ways:
 * `container.cpu.throttled` is the fraction of CFS periods that were throttled (Δnr_throttled /
 * Δnr_periods, 0…1, 0 when no period ran), and `container.cpu.throttled_time` is seconds throttled per
 * second. Limits are gauges, left out when there is no limit; they are read every `limitsEveryMs`
 * (they change only by `docker update`) and reported every interval.
 */
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, systemClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import { type MetricPoint, type Tags, validateTags } from '../../core/model.ts';
import type { ContainerInfo, ContainerSource } from '../../core/ports.ts';
import { type CounterReading, counterRates } from '../host/counter-rates.ts';
import type { NetDevCounters } from './cgroup-files.ts';
import { type ContainerStats, readContainerStats } from './cgroup-reader.ts';
import {
  type CgroupLayout,
  type DiscoveryOptions,
  describeContainer,
  detectCgroupLayout,
  findContainerCgroups,
  findPid,
} from './discovery.ts';

/** Tells who containers are (Docker, a registry, …), keyed by the container id the cgroup shows. */
export type IdentityResolver = {
  /**
   * Identity tags (`project`, `app`, `task`, `container`) of the containers running now. Resolves even
   * when the runtime does not answer (with what it last knew, or nothing).
   */
  identities(): Promise<ReadonlyMap<string, { tags: Tags }>>;
};

export type CgroupSourceOptions = DiscoveryOptions & {
  /** Tags on every point: `host` at least, and `dc`, `cluster`. */
  tags: Tags;
  /** Names and Marathon/Mesos tags; without it, cgroup-only (environment of the container's pid). */
  identity?: IdentityResolver;
  clock?: Clock;
  logger?: Logger;
  /** A file that keeps failing is logged once in this long; default 10 minutes. */
  logEveryMs?: number;
  /** How often a container's limit files are read again; default 60 s. */
  limitsEveryMs?: number;
};

/** A container's limits as last read, and when (sample `ts`). */
type Limits = Pick<ContainerStats, 'cpuLimitCores' | 'memLimit'> & { readAt: number };

export type CgroupSource = ContainerSource & {
  /** The cgroup layout found under the root (detected on first use). */
  layout(): Promise<CgroupLayout>;
};

export type CounterName =
  | 'cpu_ns'
  | 'cpu_periods'
  | 'cpu_throttled_periods'
  | 'cpu_throttled_ns'
  | 'mem_failcnt'
  | 'mem_oom_kills'
  | 'io_read_bytes'
  | 'io_write_bytes'
  | `net_${NetCounterMetric}`;

type NetCounterMetric =
  | 'rx_bytes'
  | 'rx_packets'
  | 'rx_errors'
  | 'rx_dropped'
  | 'tx_bytes'
  | 'tx_packets'
  | 'tx_errors'
  | 'tx_dropped';

const NET: [keyof NetDevCounters, NetCounterMetric][] = [
  ['rxBytes', 'rx_bytes'],
  ['rxPackets', 'rx_packets'],
  ['rxErrors', 'rx_errors'],
  ['rxDropped', 'rx_dropped'],
  ['txBytes', 'tx_bytes'],
  ['txPackets', 'tx_packets'],
  ['txErrors', 'tx_errors'],
  ['txDropped', 'tx_dropped'],
];

const COUNTERS: [keyof ContainerStats, CounterName][] = [
  ['cpuUsageNs', 'cpu_ns'],
  ['cpuPeriods', 'cpu_periods'],
  ['cpuThrottledPeriods', 'cpu_throttled_periods'],
  ['cpuThrottledNs', 'cpu_throttled_ns'],
  ['memFailcnt', 'mem_failcnt'],
  ['memOomKills', 'mem_oom_kills'],
  ['ioReadBytes', 'io_read_bytes'],
  ['ioWriteBytes', 'io_write_bytes'],
];

/** The cumulative counters of a reading, by name, for `counterRates`. */
export function counterValues(stats: ContainerStats): [CounterName, number][] {
  const out: [CounterName, number][] = [];
  for (const [field, name] of COUNTERS) {
    const v = stats[field];
    if (typeof v === 'number') out.push([name, v]);
  }
  if (stats.net) for (const [field, name] of NET) out.push([`net_${name}`, stats.net[field]]);
  return out;
}

const GAUGES: [keyof ContainerStats, string][] = [
  ['cpuLimitCores', 'container.cpu.limit'],
  ['memUsage', 'container.mem.usage'],
  ['memWorkingSet', 'container.mem.working_set'],
  ['memRss', 'container.mem.rss'],
  ['memCache', 'container.mem.cache'],
  ['memLimit', 'container.mem.limit'],
  ['pids', 'container.pids'],
];

const RATES: [CounterName, string, number][] = [
  ['cpu_ns', 'container.cpu.usage', 1e-9],
  ['cpu_throttled_ns', 'container.cpu.throttled_time', 1e-9],
  ['mem_failcnt', 'container.mem.failcnt', 1],
  ['mem_oom_kills', 'container.mem.oom_kills', 1],
  ['io_read_bytes', 'container.blkio.read_bytes', 1],
  ['io_write_bytes', 'container.blkio.write_bytes', 1],
  ...NET.map(([, name]): [CounterName, string, number] => [`net_${name}`, `container.net.${name}`, 1]),
];

/**
 * The points of one container's reading: gauges as read, counters as the per-second `rate` of each
 * (undefined on a counter's first reading, so the point is left out).
 */
export function statsToPoints(
  stats: ContainerStats,
  rate: (counter: CounterName) => number | undefined,
  tags: Tags,
  ts: number,
): MetricPoint[] {
  const points: MetricPoint[] = [];
  const add = (metric: string, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) points.push({ metric, tags, ts, value });
  };
  for (const [field, metric] of GAUGES) add(metric, stats[field] as number | undefined);
  for (const [counter, metric, scale] of RATES) {
    const r = rate(counter);
    add(metric, r === undefined ? undefined : r * scale);
  }
  const periods = rate('cpu_periods');
  const throttled = rate('cpu_throttled_periods');
  if (periods !== undefined && throttled !== undefined)
    add('container.cpu.throttled', periods > 0 ? Math.min(1, throttled / periods) : 0);
  return points;
}

/** @throws HubError `INVALID_CONFIG` when `tags` has no `host` or a bad tag. */
export function createCgroupSource(options: CgroupSourceOptions): CgroupSource {
  const bad = options.tags['host']
    ? validateTags(options.tags, 'tags')
    : { field: 'tags.host', message: 'The container source needs a "host" tag' };
  if (bad) throw new HubError('INVALID_CONFIG', bad.message, { where: bad.field });
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const procRoot = options.procRoot ?? '/proc';
  const logEveryMs = options.logEveryMs ?? 600_000;
  const limitsEveryMs = options.limitsEveryMs ?? 60_000;
  /** By cgroup path, for the containers of the last sample. */
  let limits = new Map<string, Limits>();
  let layoutPromise: Promise<CgroupLayout> | undefined;
  let counters = new Map<string, CounterReading>();
  /**
   * The containers of the last walk by cgroup path. A container's id, name and environment do not
   * change while it runs, so each is described (its pid found, its environ read) once; one that
   * had no process yet is described again on the next walk.
   */
  let described = new Map<string, ContainerInfo>();
  const lastLogged = new Map<string, number>();
  const hostNetns = readlink(join(procRoot, 'self/ns/net')).catch(() => undefined);

  const layout = () => {
    layoutPromise ??= detectCgroupLayout(options).catch((e: unknown) => {
      layoutPromise = undefined; // detect again next time
      throw e;
    });
    return layoutPromise;
  };

  const onError = (file: string, error: unknown) => {
    const now = clock.now();
    const last = lastLogged.get(file);
    if (last !== undefined && now - last < logEveryMs) return;
    if (lastLogged.size > 10_000) lastLogged.clear();
    lastLogged.set(file, now);
    logger.warn('Could not read a container file', { file, error });
  };

  return {
    layout,

    async list() {
      const l = await layout();
      const seen = new Map<string, ContainerInfo>();
      for (const c of findContainerCgroups(l, options)) {
        const before = described.get(c.cgroupPath);
        seen.set(
          c.cgroupPath,
          before?.id === c.id && before.pid !== undefined ? before : describeContainer(l, c, options),
        );
      }
      described = seen;
      const found = [...seen.values()];
      if (!options.identity) return found;
      const known = await options.identity.identities();
      return found.map((c) => {
        const identity = known.get(c.id);
        return identity ? { ...c, tags: { ...c.tags, ...identity.tags } } : c;
      });
    },

    async sample(containers: ContainerInfo[], ts: number) {
      const l = await layout();
      const netns = await hostNetns;
      const nextLimits = new Map<string, Limits>();
      const readings = containers.map((c) => {
        // The pid is looked up again: the one listed may have exited, and its number been reused.
        const pid = findPid(l, c.cgroupPath) ?? c.pid;
        const known = limits.get(c.cgroupPath);
        const fresh = known === undefined || ts - known.readAt >= limitsEveryMs || ts < known.readAt;
        const stats = readContainerStats(l, c.cgroupPath, pid, {
          procRoot,
          hostNetns: netns,
          onError,
          limits: fresh,
        });
        const kept: Limits = fresh
          ? { readAt: ts, cpuLimitCores: stats.cpuLimitCores, memLimit: stats.memLimit }
          : known;
        if (kept.cpuLimitCores !== undefined) stats.cpuLimitCores = kept.cpuLimitCores;
        if (kept.memLimit !== undefined) stats.memLimit = kept.memLimit;
        nextLimits.set(c.cgroupPath, kept);
        return stats;
      });
      limits = nextLimits;
      const entries: [string, number][] = [];
      containers.forEach((c, i) => {
        for (const [name, value] of counterValues(readings[i]!))
          entries.push([`${c.id}\u0000${name}`, value]);
      });
      const result = counterRates(counters, ts, entries);
      counters = result.state;
      return containers.flatMap((c, i) =>
        statsToPoints(
          readings[i]!,
          (name) => result.rates.get(`${c.id}\u0000${name}`),
          { ...options.tags, ...c.tags },
          ts,
        ),
      );
    },
  };
}
