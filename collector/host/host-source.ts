/**
 * The host metrics source of the agent: CPU, load, memory, network and disk of the machine it
 * runs on, read from `/proc` on Linux (`createProcHostStats`), else through systeminformation (or
 * anything shaped like it).
 */
import { loadavg as osLoadavg } from 'node:os';
import { HubError } from '../../core/errors.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import { type MetricPoint, type Tags, validateTags } from '../../core/model.ts';
import { type CounterReading, counterRates } from './counter-rates.ts';
import { createProcHostStats } from './proc-stats.ts';

/** The systeminformation functions this source calls, declared structurally so tests can fake them. */
export type HostStatsApi = {
  currentLoad(): Promise<{ currentLoad: number; cpus: { load: number }[] }>;
  mem(): Promise<{ total: number; available: number }>;
  /** Called with `'*'`: every interface. */
  networkStats(ifaces: string): Promise<{ iface: string; rx_bytes: number; tx_bytes: number }[]>;
  fsSize?(): Promise<{ fs: string; type: string; size: number; used: number; mount: string }[]>;
};

export type HostSourceOptions = {
  /** Tags on every point; at least `host`. */
  tags: Tags;
  /** Defaults to `/proc` on Linux, else the real systeminformation. */
  si?: HostStatsApi;
  /** Defaults to `os.loadavg`. */
  loadavg?: () => number[];
  /** Which interfaces to report; defaults to `isHostInterface`. */
  iface?: (name: string) => boolean;
  /** Which file systems to report; defaults to `isDataFilesystem`. Set `disk: false` to skip disks. */
  filesystem?: (fs: { type: string; mount: string; size: number }) => boolean;
  disk?: boolean;
  /** Also emit `host.cpu.core.usage` with tag `cpu` (one series per core). */
  perCore?: boolean;
  logger?: Logger;
};

export type HostSource = {
  /**
   * One sample of every host metric, stamped `ts` (epoch ms). A part that cannot be read is
   * logged and left out; the rest is still returned. Network rates need two samples, so the first
   * sample has none.
   */
  sample(ts: number): Promise<MetricPoint[]>;
};

const VIRTUAL_IFACE = /^(lo|veth|docker|cali|flannel|cni|vxlan|tunl|virbr|kube-ipvs|ifb)/;

/** Interfaces whose traffic is the host's own: not loopback, not container or overlay plumbing. */
export function isHostInterface(name: string): boolean {
  return !VIRTUAL_IFACE.test(name);
}

const PSEUDO_FS = new Set(['tmpfs', 'devtmpfs', 'overlay', 'squashfs', 'proc', 'sysfs', 'cgroup', 'cgroup2']);
const PSEUDO_MOUNT =
  /^\/(proc|sys|dev|run|snap|var\/lib\/docker|var\/lib\/kubelet|var\/lib\/containers)(\/|$)/;

/** File systems that hold data: not pseudo, not container layers, not snaps. */
export function isDataFilesystem(fs: { type: string; mount: string; size: number }): boolean {
  return fs.size > 0 && !PSEUDO_FS.has(fs.type) && !PSEUDO_MOUNT.test(fs.mount);
}

/** Makes any name a valid tag value (OpenTSDB allows letters, digits and `-_./`). */
export function toTagValue(name: string): string {
  const clean = name.replace(/[^\p{L}0-9\-_./]/gu, '_');
  return clean === '' ? '_' : clean;
}

/**
 * `/proc` where it can be read; else systeminformation, loaded on first use (it is 10 MB the agent
 * does not need on Linux). Its shape is checked by the compiler against `HostStatsApi`.
 */
function defaultHostStats(): HostStatsApi {
  try {
    return createProcHostStats();
  } catch {
    let loaded: Promise<HostStatsApi> | undefined;
    const si = () => (loaded ??= import('systeminformation').then((m): HostStatsApi => m));
    return {
      currentLoad: async () => (await si()).currentLoad(),
      mem: async () => (await si()).mem(),
      networkStats: async (ifaces) => (await si()).networkStats(ifaces),
      fsSize: async () => (await si()).fsSize!(),
    };
  }
}

/** @throws HubError `INVALID_CONFIG` when `tags` has no `host` or a bad tag. */
export function createHostSource(options: HostSourceOptions): HostSource {
  const bad = options.tags['host']
    ? validateTags(options.tags, 'tags')
    : { field: 'tags.host', message: 'The host source needs a "host" tag' };
  if (bad) throw new HubError('INVALID_CONFIG', bad.message, { where: bad.field });
  const si = options.si ?? defaultHostStats();
  const loadavg = options.loadavg ?? osLoadavg;
  const ifaceFilter = options.iface ?? isHostInterface;
  const fsFilter = options.filesystem ?? isDataFilesystem;
  const logger = options.logger ?? silentLogger;
  const baseTags = options.tags;
  let counters = new Map<string, CounterReading>();

  const read = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (error) {
      logger.warn('Could not read host metrics', { what, error });
      return undefined;
    }
  };

  return {
    async sample(ts) {
      const points: MetricPoint[] = [];
      const add = (metric: string, value: number, extra?: Tags) => {
        if (Number.isFinite(value)) points.push({ metric, tags: { ...baseTags, ...extra }, ts, value });
      };
      const [load, mem, net, fs] = await Promise.all([
        read('cpu', () => si.currentLoad()),
        read('memory', () => si.mem()),
        read('network', () => si.networkStats('*')),
        options.disk === false || !si.fsSize ? undefined : read('disk', () => si.fsSize!()),
      ]);
      if (load) {
        add('host.cpu.usage', clampPercent(load.currentLoad));
        add('host.cpu.cores', load.cpus.length);
        if (options.perCore)
          for (const [i, c] of load.cpus.entries())
            add('host.cpu.core.usage', clampPercent(c.load), { cpu: String(i) });
      }
      const avg = loadavg()[0];
      if (avg !== undefined) add('host.load.1m', avg);
      if (mem) {
        // "used" as free(1) means it: what is not available, so page cache does not count.
        add('host.mem.used', Math.max(0, mem.total - mem.available));
        add('host.mem.total', mem.total);
        add('host.mem.available', mem.available);
      }
      if (net) {
        const ifaces = net.filter((n) => ifaceFilter(n.iface));
        const result = counterRates(
          counters,
          ts,
          ifaces.flatMap((n) => [
            [`rx\u0000${n.iface}`, n.rx_bytes],
            [`tx\u0000${n.iface}`, n.tx_bytes],
          ]),
        );
        counters = result.state;
        for (const [key, rate] of result.rates) {
          const [dir, iface] = key.split('\u0000') as [string, string];
          add(`host.net.${dir}_bytes`, rate, { iface: toTagValue(iface) });
        }
      }
      for (const f of fs?.filter(fsFilter) ?? []) {
        const tags = { mount: toTagValue(f.mount) };
        add('host.disk.used', f.used, tags);
        add('host.disk.total', f.size, tags);
      }
      return points;
    },
  };
}

function clampPercent(v: number): number {
  return Math.min(100, Math.max(0, v));
}
