import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../core/logger.ts';
import { type MetricPoint, validateMetricPoint } from '../../core/model.ts';
import {
  createHostSource,
  type HostStatsApi,
  isDataFilesystem,
  isHostInterface,
  toTagValue,
} from './host-source.ts';

const GiB = 1024 ** 3;
const T = Date.UTC(2026, 0, 1);

function fakeSi(net: { iface: string; rx_bytes: number; tx_bytes: number }[][]): HostStatsApi {
  let call = 0;
  return {
    currentLoad: async () => ({ currentLoad: 37.5, cpus: [{ load: 50 }, { load: 25 }] }),
    mem: async () => ({ total: 16 * GiB, available: 12 * GiB }),
    networkStats: async () => net[Math.min(call++, net.length - 1)]!,
    fsSize: async () => [
      { fs: '/dev/sda1', type: 'ext4', size: 100 * GiB, used: 40 * GiB, mount: '/' },
      {
        fs: 'overlay',
        type: 'overlay',
        size: 100 * GiB,
        used: 40 * GiB,
        mount: '/var/lib/docker/overlay2/x',
      },
    ],
  };
}

const byKey = (points: MetricPoint[]) =>
  Object.fromEntries(
    points.map((p) => [
      p.metric +
        Object.entries(p.tags)
          .filter(([k]) => k !== 'host' && k !== 'dc')
          .map(([k, v]) => `,${k}=${v}`)
          .join(''),
      p.value,
    ]),
  );

describe('createHostSource with a fake systeminformation', () => {
  it('emits cpu, load, memory and disk on the first sample, and no network rate yet', async () => {
    const source = createHostSource({
      tags: { host: 'h1', dc: 'par' },
      si: fakeSi([[{ iface: 'eth0', rx_bytes: 1000, tx_bytes: 10 }]]),
      loadavg: () => [1.5, 1, 0.5],
    });
    const points = await source.sample(T);
    expect(byKey(points)).toEqual({
      'host.cpu.usage': 37.5,
      'host.cpu.cores': 2,
      'host.load.1m': 1.5,
      'host.mem.used': 4 * GiB,
      'host.mem.total': 16 * GiB,
      'host.mem.available': 12 * GiB,
      'host.disk.used,mount=/': 40 * GiB,
      'host.disk.total,mount=/': 100 * GiB,
    });
    for (const p of points) {
      expect(p.ts).toBe(T);
      expect(p.tags).toMatchObject({ host: 'h1', dc: 'par' });
      expect(validateMetricPoint(p).ok).toBe(true);
    }
  });

  it('turns counters into bytes per second from the second sample, per interface', async () => {
    const source = createHostSource({
      tags: { host: 'h1' },
      si: fakeSi([
        [
          { iface: 'eth0', rx_bytes: 1000, tx_bytes: 10 },
          { iface: 'lo', rx_bytes: 5, tx_bytes: 5 },
        ],
        [
          { iface: 'eth0', rx_bytes: 21_000, tx_bytes: 2010 },
          { iface: 'lo', rx_bytes: 500, tx_bytes: 500 },
        ],
        [{ iface: 'eth0', rx_bytes: 10, tx_bytes: 4010 }],
      ]),
      disk: false,
    });
    await source.sample(T);
    const second = byKey(await source.sample(T + 2_000));
    expect(second['host.net.rx_bytes,iface=eth0']).toBe(10_000);
    expect(second['host.net.tx_bytes,iface=eth0']).toBe(1_000);
    expect(second['host.net.rx_bytes,iface=lo']).toBeUndefined();
    expect(second['host.disk.used,mount=/']).toBeUndefined();

    const third = byKey(await source.sample(T + 4_000));
    expect(third['host.net.rx_bytes,iface=eth0'], 'rx counter reset: nothing this interval').toBeUndefined();
    expect(third['host.net.tx_bytes,iface=eth0']).toBe(1_000);
  });

  it('emits per-core usage when asked', async () => {
    const source = createHostSource({ tags: { host: 'h1' }, si: fakeSi([[]]), perCore: true });
    const points = byKey(await source.sample(T));
    expect(points['host.cpu.core.usage,cpu=0']).toBe(50);
    expect(points['host.cpu.core.usage,cpu=1']).toBe(25);
  });

  it('logs a part that fails and still returns the others', async () => {
    const logger = createMemoryLogger();
    const si = { ...fakeSi([[]]), mem: () => Promise.reject(new Error('no /proc/meminfo')) };
    const source = createHostSource({ tags: { host: 'h1' }, si, logger });
    const keys = Object.keys(byKey(await source.sample(T)));
    expect(keys).toContain('host.cpu.usage');
    expect(keys).not.toContain('host.mem.used');
    expect(logger.lines).toMatchObject([
      { level: 'warn', what: 'memory', error: { message: 'no /proc/meminfo' } },
    ]);
  });
});

describe('createHostSource options', () => {
  it.each([
    [{}, 'tags.host'],
    [{ dc: 'par' }, 'tags.host'],
    [{ host: 'h 1' }, 'tags.host'],
  ])('refuses tags %o', (tags, where) => {
    expect(() => createHostSource({ tags, si: fakeSi([[]]) })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', where }),
    );
  });
});

describe('interface and file system filters', () => {
  it.each([
    ['eth0', true],
    ['ens3', true],
    ['wlp2s0', true],
    ['bond0', true],
    ['lo', false],
    ['veth1a2b3c', false],
    ['docker0', false],
    ['cali12345', false],
    ['flannel.1', false],
  ])('interface %s is reported: %s', (name, expected) => {
    expect(isHostInterface(name)).toBe(expected);
  });

  it.each([
    [{ type: 'ext4', mount: '/', size: 1 }, true],
    [{ type: 'xfs', mount: '/data', size: 1 }, true],
    [{ type: 'ext4', mount: '/boot', size: 0 }, false],
    [{ type: 'tmpfs', mount: '/tmp', size: 1 }, false],
    [{ type: 'overlay', mount: '/', size: 1 }, false],
    [{ type: 'ext4', mount: '/var/lib/docker/volumes/x', size: 1 }, false],
    [{ type: 'ext4', mount: '/run/media/usb', size: 1 }, false],
    [{ type: 'squashfs', mount: '/snap/core/1', size: 1 }, false],
  ])('file system %o is reported: %s', (fs, expected) => {
    expect(isDataFilesystem(fs)).toBe(expected);
  });

  it.each([
    ['eth0', 'eth0'],
    ['/mnt/my disk', '/mnt/my_disk'],
    ['br-1@if3', 'br-1_if3'],
    ['', '_'],
  ])('tag value of %j is %j', (name, expected) => {
    expect(toTagValue(name)).toBe(expected);
  });
});

describe('createHostSource with the real systeminformation', () => {
  it('reads sane values from this machine', async () => {
    const source = createHostSource({ tags: { host: 'test-host' } });
    const ts = Date.now();
    const first = await source.sample(ts - 1_000);
    const second = await source.sample(ts);

    for (const p of [...first, ...second]) expect(validateMetricPoint(p)).toMatchObject({ ok: true });
    const one = (points: MetricPoint[], metric: string) => points.filter((p) => p.metric === metric);
    const value = (metric: string) => one(second, metric)[0]?.value;

    expect(value('host.cpu.usage')).toBeGreaterThanOrEqual(0);
    expect(value('host.cpu.usage')).toBeLessThanOrEqual(100);
    expect(value('host.cpu.cores')).toBeGreaterThanOrEqual(1);
    expect(value('host.load.1m')).toBeGreaterThanOrEqual(0);
    expect(value('host.mem.total')).toBeGreaterThan(0);
    expect(value('host.mem.used')).toBeGreaterThan(0);
    expect(value('host.mem.used')).toBeLessThanOrEqual(value('host.mem.total')!);
    expect(value('host.mem.available')).toBeLessThanOrEqual(value('host.mem.total')!);

    expect(one(first, 'host.net.rx_bytes'), 'no rate on the first sample').toEqual([]);
    const rx = one(second, 'host.net.rx_bytes');
    expect(rx.length, 'a rate per non-loopback interface on the second sample').toBeGreaterThan(0);
    for (const p of [...rx, ...one(second, 'host.net.tx_bytes')]) {
      expect(p.value).toBeGreaterThanOrEqual(0);
      expect(p.tags['iface']).toBeTruthy();
      expect(p.ts).toBe(ts);
    }
  });
});
