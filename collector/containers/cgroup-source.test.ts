import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { createMemoryLogger } from '../../core/logger.ts';
import { type MetricPoint, validateMetricPoint } from '../../core/model.ts';
import type { ContainerStats } from './cgroup-reader.ts';
import { type CounterName, createCgroupSource, statsToPoints } from './cgroup-source.ts';

const T = Date.UTC(2026, 0, 1);
const ID = 'c'.repeat(64);
const MiB = 1024 * 1024;

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function fixture(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'obs-cgroup-source-'));
  dirs.push(root);
  await write(root, files);
  return root;
}

async function write(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

const byMetric = (points: MetricPoint[]) => Object.fromEntries(points.map((p) => [p.metric, p.value]));

const netDev = (rx: number, tx: number) =>
  `h|\nh|\n    lo: 99 1 0 0 0 0 0 0 99 1 0 0 0 0 0 0\n  eth0: ${rx} ${rx / 100} 0 1 0 0 0 0 ${tx} ${tx / 100} 0 0 0 0 0 0\n`;

function v2Files(usageUsec: number, periods: number, throttled: number, rx: number, readBytes: number) {
  const d = `cg/system.slice/docker-${ID}.scope`;
  return {
    [`${d}/cpu.stat`]: `usage_usec ${usageUsec}\nuser_usec 0\nsystem_usec 0\nnr_periods ${periods}\nnr_throttled ${throttled}\nthrottled_usec ${throttled * 1000}\n`,
    [`${d}/cpu.max`]: '50000 100000\n',
    [`${d}/memory.current`]: `${300 * MiB}\n`,
    [`${d}/memory.stat`]: `anon ${200 * MiB}\nfile ${100 * MiB}\ninactive_file ${60 * MiB}\n`,
    [`${d}/memory.max`]: 'max\n',
    [`${d}/memory.events`]: 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n',
    [`${d}/io.stat`]: `8:0 rbytes=${readBytes} wbytes=0 rios=1 wios=0\n`,
    [`${d}/pids.current`]: '7\n',
    [`${d}/cgroup.procs`]: '4242\n',
    'proc/4242/net/dev': netDev(rx, 0),
    'proc/4242/environ': 'MARATHON_APP_ID=/shop/cart\0MESOS_TASK_ID=shop_cart.1\0',
  };
}

describe('createCgroupSource on a v2 fixture tree', () => {
  it('names a container once it has a process, and forgets the ones gone', async () => {
    const files = v2Files(0, 0, 0, 0, 0);
    const procs = `cg/system.slice/docker-${ID}.scope/cgroup.procs`;
    const root = await fixture({ 'cg/cgroup.controllers': 'cpu memory io pids\n', ...files, [procs]: '' });
    const source = createCgroupSource({
      tags: { host: 'h1' },
      cgroupRoot: join(root, 'cg'),
      procRoot: join(root, 'proc'),
    });
    expect((await source.list()).map((c) => [c.pid, c.tags])).toEqual([
      [undefined, { container: ID.slice(0, 12) }],
    ]);
    await write(root, { [procs]: '4242\n' });
    const named = { project: 'shop', app: 'cart', task: 'shop_cart.1', container: ID.slice(0, 12) };
    expect((await source.list()).map((c) => [c.pid, c.tags])).toEqual([[4242, named]]);
    expect((await source.list()).map((c) => c.tags)).toEqual([named]);
    await rm(join(root, `cg/system.slice/docker-${ID}.scope`), { recursive: true });
    expect(await source.list()).toEqual([]);
  });

  it('lists the container and turns counters into rates from the second sample on', async () => {
    const root = await fixture({
      'cg/cgroup.controllers': 'cpu memory io pids\n',
      ...v2Files(0, 0, 0, 0, 0),
    });
    const source = createCgroupSource({
      tags: { host: 'h1', dc: 'par' },
      cgroupRoot: join(root, 'cg'),
      procRoot: join(root, 'proc'),
    });
    const containers = await source.list();
    expect(containers).toEqual([
      {
        id: ID,
        cgroupPath: `/system.slice/docker-${ID}.scope`,
        pid: 4242,
        tags: { project: 'shop', app: 'cart', task: 'shop_cart.1', container: ID.slice(0, 12) },
      },
    ]);

    const first = await source.sample(containers, T);
    expect(byMetric(first)).toEqual({
      'container.cpu.limit': 0.5,
      'container.mem.usage': 300 * MiB,
      'container.mem.working_set': 240 * MiB,
      'container.mem.rss': 200 * MiB,
      'container.mem.cache': 100 * MiB,
      'container.pids': 7,
    });
    for (const p of first) {
      expect(validateMetricPoint(p).ok).toBe(true);
      expect(p.tags).toEqual({ host: 'h1', dc: 'par', ...containers[0]!.tags });
      expect(p.ts).toBe(T);
    }

    // 10 s later: 5 s of CPU, 100 periods of which 40 throttled, 10 MB received, 1 MB read.
    await write(root, v2Files(5_000_000, 100, 40, 10_000_000, 1_000_000));
    const second = byMetric(await source.sample(containers, T + 10_000));
    expect(second).toMatchObject({
      'container.cpu.usage': 0.5,
      'container.cpu.throttled': 0.4,
      'container.cpu.throttled_time': 0.004,
      'container.net.rx_bytes': 1_000_000,
      'container.net.rx_packets': 10_000,
      'container.net.tx_bytes': 0,
      'container.net.rx_dropped': 0,
      'container.blkio.read_bytes': 100_000,
      'container.blkio.write_bytes': 0,
      'container.mem.failcnt': 0,
      'container.mem.oom_kills': 0,
    });
    expect(second['container.mem.limit']).toBeUndefined();

    // A counter that went down (the container restarted in the same cgroup) has no rate this time.
    await write(root, v2Files(1000, 100, 40, 10_000_000, 1_000_000));
    const third = byMetric(await source.sample(containers, T + 20_000));
    expect(third['container.cpu.usage']).toBeUndefined();
    expect(third['container.net.rx_bytes']).toBe(0);
  });

  it('leaves out the network of a pid that shares the agent namespace', async () => {
    const root = await fixture({ 'cg/cgroup.controllers': '', ...v2Files(0, 0, 0, 0, 0) });
    await mkdir(join(root, 'proc/self/ns'), { recursive: true });
    await mkdir(join(root, 'proc/4242/ns'), { recursive: true });
    await symlink('net:[4026531840]', join(root, 'proc/self/ns/net'));
    await symlink('net:[4026531840]', join(root, 'proc/4242/ns/net'));
    const source = createCgroupSource({
      tags: { host: 'h1' },
      cgroupRoot: join(root, 'cg'),
      procRoot: join(root, 'proc'),
    });
    const containers = await source.list();
    await source.sample(containers, T);
    await write(root, v2Files(1000, 0, 0, 5000, 0));
    const points = byMetric(await source.sample(containers, T + 1000));
    expect(points['container.cpu.usage']).toBeCloseTo(0.001, 9);
    expect(Object.keys(points).filter((m) => m.startsWith('container.net.'))).toEqual([]);
  });
});

describe('createCgroupSource on a v1 fixture tree', () => {
  const path = `/docker/${ID}`;
  const v1 = (usageNs: number, quota: number, limit: string, failcnt: number) => ({
    [`cg/cpuacct${path}/cpuacct.usage`]: `${usageNs}\n`,
    [`cg/cpuacct${path}/cgroup.procs`]: '',
    [`cg/cpu${path}/cpu.cfs_quota_us`]: `${quota}\n`,
    [`cg/cpu${path}/cpu.cfs_period_us`]: '100000\n',
    [`cg/cpu${path}/cpu.stat`]: 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n',
    [`cg/memory${path}/memory.usage_in_bytes`]: `${110 * MiB}\n`,
    [`cg/memory${path}/memory.stat`]: `cache ${MiB}\nrss ${MiB}\ninactive_file 0\ntotal_cache ${10 * MiB}\ntotal_rss ${100 * MiB}\ntotal_inactive_file ${8 * MiB}\n`,
    [`cg/memory${path}/memory.limit_in_bytes`]: `${limit}\n`,
    [`cg/memory${path}/memory.failcnt`]: `${failcnt}\n`,
    [`cg/memory${path}/memory.oom_control`]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
    [`cg/blkio${path}/blkio.throttle.io_service_bytes`]: '8:0 Read 0\n8:0 Write 4096\nTotal 4096\n',
    [`cg/pids${path}/pids.current`]: '3\n',
  });

  it('reads the v1 files, omits limits that are not set, and logs a bad file once', async () => {
    const root = await fixture(v1(0, -1, '9223372036854771712', 0));
    const clock = new FakeClock(T);
    const logger = createMemoryLogger();
    const source = createCgroupSource({
      tags: { host: 'h1' },
      cgroupRoot: join(root, 'cg'),
      clock,
      logger,
      limitsEveryMs: 2000,
    });
    const containers = await source.list();
    expect(containers.map((c) => c.cgroupPath)).toEqual([path]);
    expect(byMetric(await source.sample(containers, T))).toEqual({
      'container.mem.usage': 110 * MiB,
      'container.mem.working_set': 102 * MiB,
      'container.mem.rss': 100 * MiB,
      'container.mem.cache': 10 * MiB,
      'container.pids': 3,
    });
    await write(root, {
      ...v1(2_000_000_000, 150_000, `${512 * MiB}`, 6),
      [`cg/pids${path}/pids.current`]: 'many\n',
    });
    const second = byMetric(await source.sample(containers, T + 2000));
    expect(second).toMatchObject({
      'container.cpu.usage': 1,
      'container.cpu.limit': 1.5,
      'container.cpu.throttled': 0,
      'container.mem.limit': 512 * MiB,
      'container.mem.failcnt': 3,
      'container.blkio.write_bytes': 0,
    });
    expect(second['container.pids']).toBeUndefined();
    await source.sample(containers, T + 4000);
    expect(logger.lines.filter((l) => l['msg'] === 'Could not read a container file')).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({ file: join(root, `cg/pids${path}/pids.current`) });
    clock.advance(600_000);
    await source.sample(containers, T + 6000);
    expect(logger.lines.filter((l) => l['msg'] === 'Could not read a container file')).toHaveLength(2);
  });

  it('reads limits again once a minute, and reports the known ones at every sample', async () => {
    const root = await fixture(v1(0, 150_000, `${512 * MiB}`, 0));
    const source = createCgroupSource({ tags: { host: 'h1' }, cgroupRoot: join(root, 'cg') });
    const containers = await source.list();
    const limits = async (ts: number) => {
      const m = byMetric(await source.sample(containers, ts));
      return [m['container.cpu.limit'], m['container.mem.limit']];
    };
    expect(await limits(T)).toEqual([1.5, 512 * MiB]);
    // `docker update --cpus 0.5 --memory 256m`
    await write(root, v1(0, 50_000, `${256 * MiB}`, 0));
    expect(await limits(T + 10_000)).toEqual([1.5, 512 * MiB]);
    expect(await limits(T + 60_000)).toEqual([0.5, 256 * MiB]);
  });

  it('merges the identity resolver tags over the cgroup ones', async () => {
    const root = await fixture(v1(0, -1, '1', 0));
    const source = createCgroupSource({
      tags: { host: 'h1' },
      cgroupRoot: join(root, 'cg'),
      identity: {
        identities: async () =>
          new Map([[ID, { tags: { project: 'shop', app: 'cart', container: 'cart-1' } }]]),
      },
    });
    const [c] = await source.list();
    expect(c!.tags).toEqual({ project: 'shop', app: 'cart', container: 'cart-1' });
  });

  it('needs a host tag', () => {
    expect(() => createCgroupSource({ tags: { dc: 'par' } })).toThrow(/host/);
  });
});

describe('statsToPoints', () => {
  const tags = { host: 'h' };
  const rates: Partial<Record<CounterName, number>> = {
    cpu_ns: 250_000_000,
    cpu_periods: 10,
    cpu_throttled_periods: 25,
    net_tx_bytes: 42,
  };
  it.each<[string, ContainerStats, Record<string, number>]>([
    ['empty', {}, {}],
    [
      'only gauges',
      { memUsage: 5, memLimit: 9, pids: 1 },
      { 'container.mem.usage': 5, 'container.mem.limit': 9, 'container.pids': 1 },
    ],
  ])('without rates: %s', (_, stats, want) => {
    expect(byMetric(statsToPoints(stats, () => undefined, tags, T))).toEqual(want);
  });

  it('scales CPU to cores and caps the throttled ratio at 1', () => {
    expect(byMetric(statsToPoints({}, (c) => rates[c], tags, T))).toEqual({
      'container.cpu.usage': 0.25,
      'container.cpu.throttled': 1,
      'container.net.tx_bytes': 42,
    });
  });

  it('reports no throttling when no period ran', () => {
    const p = statsToPoints(
      {},
      (c) => (c === 'cpu_periods' || c === 'cpu_throttled_periods' ? 0 : undefined),
      tags,
      T,
    );
    expect(byMetric(p)).toEqual({ 'container.cpu.throttled': 0 });
  });
});
