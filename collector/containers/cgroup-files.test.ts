import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import {
  cpuLimitCores,
  parseBlkioServiceBytes,
  parseCpuMax,
  parseIoStat,
  parseKeyedFile,
  parseMemoryLimit,
  parseMountinfo,
  parseNetDev,
  parsePids,
  parseProcCgroup,
  parseSingleValue,
  sumNetDev,
} from './cgroup-files.ts';

type Case = { name: string; parse: (text: string, file: string) => unknown; text: string; want: unknown };

const V2_CPU_STAT = `usage_usec 8315096
user_usec 6210332
system_usec 2104764
core_sched.force_idle_usec 0
nr_periods 1284
nr_throttled 640
throttled_usec 31945210
nr_bursts 0
burst_usec 0
`;

const V1_CPU_STAT = 'nr_periods 44\nnr_throttled 42\nthrottled_time 1729477135\nnr_bursts 0\nburst_time 0\n';

const V2_MEMORY_STAT = `anon 209715200
file 4096000
kernel 1048576
shmem 0
file_mapped 0
inactive_anon 209715200
active_anon 0
inactive_file 4000000
active_file 96000
pgfault 51310
`;

const V1_MEMORY_STAT = `cache 4096
rss 57344
rss_huge 0
inactive_file 0
active_file 4096
hierarchical_memory_limit 104857600
hierarchical_memsw_limit 209715200
total_cache 4096
total_rss 57344
total_inactive_file 0
`;

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 2231833346   87825    0    0    0     0          0         0 2231833346   87825    0    0    0     0       0          0
  eth0: 458376418   12321    3    7    0     0          0         0   886080    7915    1    2    0     0       0          0
`;

const MOUNTINFO = `23 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
42 23 0:39 /docker/abc /mnt/my\\040cgroup rw - cgroup cgroup rw,pids
`;

const cases: Case[] = [
  { name: 'memory.current', parse: parseSingleValue, text: '209719296\n', want: 209719296 },
  { name: 'cpu.cfs_quota_us without quota', parse: parseSingleValue, text: '-1\n', want: -1 },
  { name: 'cpuacct.usage', parse: parseSingleValue, text: '123456789012\n', want: 123456789012 },
  {
    name: 'v2 cpu.stat',
    parse: parseKeyedFile,
    text: V2_CPU_STAT,
    want: expect.objectContaining({ usage_usec: 8315096, nr_periods: 1284, nr_throttled: 640 }),
  },
  {
    name: 'v1 cpu.stat',
    parse: parseKeyedFile,
    text: V1_CPU_STAT,
    want: { nr_periods: 44, nr_throttled: 42, throttled_time: 1729477135, nr_bursts: 0, burst_time: 0 },
  },
  {
    name: 'v2 memory.stat',
    parse: parseKeyedFile,
    text: V2_MEMORY_STAT,
    want: expect.objectContaining({ anon: 209715200, file: 4096000, inactive_file: 4000000 }),
  },
  {
    name: 'v1 memory.stat',
    parse: parseKeyedFile,
    text: V1_MEMORY_STAT,
    want: expect.objectContaining({ total_rss: 57344, total_cache: 4096, total_inactive_file: 0 }),
  },
  {
    name: 'memory.events',
    parse: parseKeyedFile,
    text: 'low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n',
    want: { low: 0, high: 0, max: 12, oom: 2, oom_kill: 1, oom_group_kill: 0 },
  },
  {
    name: 'v1 memory.oom_control',
    parse: parseKeyedFile,
    text: 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n',
    want: { oom_kill_disable: 0, under_oom: 0, oom_kill: 3 },
  },
  { name: 'memory.max unlimited', parse: parseMemoryLimit, text: 'max\n', want: undefined },
  { name: 'memory.max', parse: parseMemoryLimit, text: '536870912\n', want: 536870912 },
  {
    name: 'memory.limit_in_bytes unlimited',
    parse: parseMemoryLimit,
    text: '9223372036854771712\n',
    want: undefined,
  },
  { name: 'memory.limit_in_bytes', parse: parseMemoryLimit, text: '104857600\n', want: 104857600 },
  {
    name: 'cpu.max unlimited',
    parse: parseCpuMax,
    text: 'max 100000\n',
    want: { quotaUs: undefined, periodUs: 100000 },
  },
  {
    name: 'cpu.max half a core',
    parse: parseCpuMax,
    text: '50000 100000\n',
    want: { quotaUs: 50000, periodUs: 100000 },
  },
  {
    name: 'io.stat, two devices and extra keys',
    parse: parseIoStat,
    text: '8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=10 wbytes=20 rios=1 wios=1 dbytes=0 dios=0 cost.usage=12\n',
    want: { readBytes: 1010, writeBytes: 2020 },
  },
  { name: 'io.stat empty', parse: parseIoStat, text: '', want: { readBytes: 0, writeBytes: 0 } },
  {
    name: 'blkio.throttle.io_service_bytes',
    parse: parseBlkioServiceBytes,
    text: '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 8192\n8:0 Async 4096\n8:0 Discard 0\n8:0 Total 12288\n8:16 Read 1\n8:16 Write 2\nTotal 12291\n',
    want: { readBytes: 4097, writeBytes: 8194 },
  },
  {
    name: 'blkio empty',
    parse: parseBlkioServiceBytes,
    text: 'Total 0\n',
    want: { readBytes: 0, writeBytes: 0 },
  },
  {
    name: '/proc/<pid>/net/dev',
    parse: parseNetDev,
    text: NET_DEV,
    want: [
      expect.objectContaining({ iface: 'lo', rxBytes: 2231833346, txPackets: 87825 }),
      {
        iface: 'eth0',
        rxBytes: 458376418,
        rxPackets: 12321,
        rxErrors: 3,
        rxDropped: 7,
        txBytes: 886080,
        txPackets: 7915,
        txErrors: 1,
        txDropped: 2,
      },
    ],
  },
  {
    name: 'net/dev with a counter glued to the name',
    parse: parseNetDev,
    text: 'h1|\nh2|\neth0:4294967296 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n',
    want: [expect.objectContaining({ iface: 'eth0', rxBytes: 4294967296, txBytes: 5 })],
  },
  {
    name: '/proc/self/mountinfo',
    parse: parseMountinfo,
    text: MOUNTINFO,
    want: [
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', version: 1, controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/memory', root: '/', version: 1, controllers: ['memory'] },
      { mountPoint: '/sys/fs/cgroup/systemd', root: '/', version: 1, controllers: ['name=systemd'] },
      { mountPoint: '/sys/fs/cgroup/unified', root: '/', version: 2, controllers: [] },
      { mountPoint: '/mnt/my cgroup', root: '/docker/abc', version: 1, controllers: ['pids'] },
    ],
  },
  {
    name: '/proc/<pid>/cgroup, hybrid',
    parse: parseProcCgroup,
    text: '9:name=systemd:/\n2:cpu,cpuacct:/docker/ab\n0::/user.slice/a:b.scope\n',
    want: [
      { hierarchyId: 9, controllers: ['name=systemd'], path: '/' },
      { hierarchyId: 2, controllers: ['cpu', 'cpuacct'], path: '/docker/ab' },
      { hierarchyId: 0, controllers: [], path: '/user.slice/a:b.scope' },
    ],
  },
  { name: 'cgroup.procs', parse: parsePids, text: '12\n345\n', want: [12, 345] },
  { name: 'cgroup.procs empty', parse: parsePids, text: '', want: [] },
];

describe('cgroup and proc file parsers', () => {
  it.each(cases)('$name', ({ parse, text, want }) => {
    expect(parse(text, 'the-file')).toEqual(want);
  });
});

type Bad = { name: string; parse: (text: string, file: string) => unknown; text: string; where: string };

const bad: Bad[] = [
  { name: 'a word for a number', parse: parseSingleValue, text: 'lots\n', where: 'f:1' },
  { name: 'two values', parse: parseSingleValue, text: '1\n2\n', where: 'f:2' },
  { name: 'empty single value', parse: parseSingleValue, text: '\n', where: 'f:1' },
  { name: 'keyed line without value', parse: parseKeyedFile, text: 'a 1\nb\n', where: 'f:2' },
  { name: 'keyed non-integer', parse: parseKeyedFile, text: 'a 1\n\nb 2.5\n', where: 'f:3' },
  { name: 'cpu.max three fields', parse: parseCpuMax, text: '1 2 3\n', where: 'f:1' },
  { name: 'cpu.max zero period', parse: parseCpuMax, text: '1000 0\n', where: 'f:1' },
  { name: 'io.stat bad device', parse: parseIoStat, text: 'sda rbytes=1\n', where: 'f:1' },
  { name: 'io.stat bad rbytes', parse: parseIoStat, text: '8:0 rbytes=x\n', where: 'f:1' },
  { name: 'blkio unknown op', parse: parseBlkioServiceBytes, text: '8:0 Read 1\n8:0 Frob 1\n', where: 'f:2' },
  { name: 'net/dev too few counters', parse: parseNetDev, text: 'h|\nh|\neth0: 1 2 3\n', where: 'f:3' },
  { name: 'net/dev no colon', parse: parseNetDev, text: 'h|\nh|\neth0 1 2\n', where: 'f:3' },
  {
    name: 'mountinfo without separator',
    parse: parseMountinfo,
    text: '1 2 3:4 / /x rw a b c\n',
    where: 'f:1',
  },
  { name: 'proc cgroup relative path', parse: parseProcCgroup, text: '1:cpu:docker\n', where: 'f:1' },
  { name: 'cgroup.procs non-numeric', parse: parsePids, text: '1\nabc\n', where: 'f:2' },
];

describe('parse errors name the file and line', () => {
  it.each(bad)('$name', ({ parse, text, where }) => {
    let error: unknown;
    try {
      parse(text, 'f');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).where).toBe(where);
    expect((error as HubError).message.startsWith(`${where}: `)).toBe(true);
  });
});

describe('derived figures', () => {
  it.each([
    [{ quotaUs: 50_000, periodUs: 100_000 }, 0.5],
    [{ quotaUs: 250_000, periodUs: 100_000 }, 2.5],
    [{ quotaUs: -1, periodUs: 100_000 }, undefined],
    [{ quotaUs: undefined, periodUs: 100_000 }, undefined],
  ])('cpuLimitCores(%o) = %s', (quota, cores) => {
    expect(cpuLimitCores(quota)).toBe(cores);
  });

  it('sums interfaces but loopback, and has nothing without one', () => {
    const ifaces = parseNetDev(NET_DEV, 'net/dev');
    expect(sumNetDev(ifaces)).toMatchObject({ rxBytes: 458376418, txBytes: 886080 });
    expect(sumNetDev(ifaces.filter((i) => i.iface === 'lo'))).toBeUndefined();
  });
});
