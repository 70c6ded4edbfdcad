import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSmallFile } from '../small-file.ts';
import {
  busyPercent,
  createProcHostStats,
  parseMeminfo,
  parseProcMounts,
  parseProcStat,
} from './proc-stats.ts';

const STAT = (busy: number, idle: number) =>
  [
    `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0`,
    `cpu0 ${busy / 2} 0 0 ${idle / 2} 0 0 0 0 0 0`,
    `cpu1 ${busy / 2} 0 0 ${idle / 2} 0 0 0 0 0 0`,
    'intr 12345 0 0',
    'ctxt 999',
  ].join('\n');

describe('parsers of /proc', () => {
  it('reads the cpu lines of /proc/stat: all jiffies up to steal, idle + iowait as idle', () => {
    expect(parseProcStat('cpu  10 1 5 100 4 2 3 1 7 0\ncpu0 10 1 5 100 4 2 3 1 7 0\nintr 1\n')).toEqual([
      { total: 126, idle: 104 },
      { total: 126, idle: 104 },
    ]);
  });

  it.each([
    [{ total: 200, idle: 150 }, { total: 100, idle: 100 }, 50],
    [{ total: 100, idle: 25 }, undefined, 75],
    [{ total: 100, idle: 100 }, { total: 100, idle: 100 }, 0],
  ])('busy percent of %o after %o is %d', (now, before, want) => {
    expect(busyPercent(now, before)).toBe(want);
  });

  it('reads MemTotal and MemAvailable in bytes', () => {
    expect(parseMeminfo('MemTotal:       2048 kB\nMemFree:  1 kB\nMemAvailable:   1024 kB\n')).toEqual({
      total: 2048 * 1024,
      available: 1024 * 1024,
    });
  });

  it('reads /proc/self/mounts with escaped spaces', () => {
    expect(
      parseProcMounts(
        '/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk xfs rw 0 0\nproc /proc proc rw 0 0\n',
      ),
    ).toEqual([
      { fs: '/dev/sda1', mount: '/', type: 'ext4' },
      { fs: '/dev/sdb1', mount: '/mnt/my disk', type: 'xfs' },
      { fs: 'proc', mount: '/proc', type: 'proc' },
    ]);
  });
});

describe('createProcHostStats on a fixture /proc', () => {
  let root = '';
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('gives the CPU busy since the previous call, memory, interfaces and the disks statfs sees', async () => {
    root = mkdtempSync(join(tmpdir(), 'obs-proc-'));
    mkdirSync(join(root, 'net'));
    mkdirSync(join(root, 'self'));
    writeFileSync(join(root, 'stat'), STAT(100, 100));
    writeFileSync(join(root, 'meminfo'), 'MemTotal: 4096 kB\nMemAvailable: 1024 kB\n');
    writeFileSync(
      join(root, 'net/dev'),
      'Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n' +
        '  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n',
    );
    writeFileSync(join(root, 'self/mounts'), `tmpfs ${root} tmpfs rw 0 0\nnone /no/such/mount ext4 rw 0 0\n`);
    const stats = createProcHostStats(root);
    writeFileSync(join(root, 'stat'), STAT(250, 150));
    expect(await stats.currentLoad()).toEqual({ currentLoad: 75, cpus: [{ load: 75 }, { load: 75 }] });
    expect(await stats.mem()).toEqual({ total: 4096 * 1024, available: 1024 * 1024 });
    expect(await stats.networkStats('*')).toEqual([{ iface: 'eth0', rx_bytes: 1000, tx_bytes: 2000 }]);
    const disks = await stats.fsSize!();
    expect(disks).toHaveLength(1); // the mount that does not exist is left out
    expect(disks[0]).toMatchObject({ fs: 'tmpfs', mount: root, type: 'tmpfs' });
    expect(disks[0]!.size).toBeGreaterThan(0);
  });

  it('throws from the start without /proc/stat, so systeminformation is used instead', () => {
    root = mkdtempSync(join(tmpdir(), 'obs-proc-'));
    expect(() => createProcHostStats(root)).toThrow(/ENOENT/);
  });
});

describe('readSmallFile', () => {
  it('reads a kernel file of unknown size and a file larger than its buffer', () => {
    expect(readSmallFile('/proc/self/status')).toMatch(/^Name:/);
    const dir = mkdtempSync(join(tmpdir(), 'obs-small-'));
    try {
      const big = 'x'.repeat(200_000) + '\n';
      writeFileSync(join(dir, 'big'), big);
      expect(readSmallFile(join(dir, 'big'))).toBe(big);
      expect(() => readSmallFile(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
