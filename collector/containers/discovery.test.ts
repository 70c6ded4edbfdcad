import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import {
  defaultContainerName,
  detectCgroupLayout,
  discoverContainers,
  findContainerCgroups,
  findPid,
  recogniseContainerCgroup,
} from './discovery.ts';

const ID = 'a'.repeat(40) + '0123456789abcdef01234567';
const ID2 = 'b'.repeat(64);
const UUID = '3f1e5b2a-9c4d-4e8f-a1b2-c3d4e5f60718';

describe('recogniseContainerCgroup', () => {
  it.each([
    [`/docker/${ID}`, { id: ID, runtime: 'docker' }],
    [`/system.slice/docker-${ID}.scope`, { id: ID, runtime: 'docker' }],
    [`/machine.slice/libpod-${ID}.scope`, { id: ID, runtime: 'podman' }],
    [`/libpod_parent/libpod-${ID}`, { id: ID, runtime: 'podman' }],
    [`/mesos/${UUID}`, { id: UUID, runtime: 'mesos' }],
    [`/kubepods.slice/kubepods-burstable.slice/cri-containerd-${ID}.scope`, { id: ID, runtime: 'systemd' }],
    [`/system.slice/crio-${ID}.scope`, { id: ID, runtime: 'systemd' }],
    [`/machine.slice/libpod-conmon-${ID}.scope`, undefined],
    ['/docker', undefined],
    [`/docker/${ID.slice(1)}`, undefined],
    ['/system.slice/sshd.service', undefined],
    ['/user.slice/user-0.slice/session-3.scope', undefined],
    [`/mesos/${UUID}/extra`, undefined],
  ])('%s', (path, want) => {
    expect(recogniseContainerCgroup(path)).toEqual(want);
  });

  it('names containers by short id when the id is Docker-like', () => {
    expect(defaultContainerName(ID)).toBe(ID.slice(0, 12));
    expect(defaultContainerName(UUID)).toBe(UUID);
  });
});

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'obs-cgroup-fixture-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    if (!path.endsWith('/')) await writeFile(join(root, path), content);
  }
  return root;
}

describe('detectCgroupLayout on fixture trees', () => {
  it('sees v2 by its cgroup.controllers', async () => {
    const root = await tree({ 'cgroup.controllers': 'cpu memory io pids\n' });
    expect(await detectCgroupLayout({ cgroupRoot: root, procRoot: root })).toEqual({ version: 2, root });
  });

  it('maps v1 controllers to hierarchies, co-mounted or not', async () => {
    const root = await tree({
      'cpu,cpuacct/tasks': '',
      'memory/tasks': '',
      'blkio/tasks': '',
      'systemd/tasks': '',
    });
    await symlink(join(root, 'cpu,cpuacct'), join(root, 'cpu'));
    const layout = await detectCgroupLayout({ cgroupRoot: root, procRoot: root });
    expect(layout).toEqual({
      version: 1,
      root,
      hierarchies: {
        cpu: join(root, 'cpu'),
        cpuacct: join(root, 'cpu,cpuacct'),
        memory: join(root, 'memory'),
        blkio: join(root, 'blkio'),
      },
    });
  });

  it('takes v1 hierarchies from mountinfo when it lists them under the root', async () => {
    const root = await tree({});
    await mkdir(join(root, 'proc/self'), { recursive: true });
    await writeFile(
      join(root, 'proc/self/mountinfo'),
      `32 31 0:29 / ${root}/cg/acct rw - cgroup cgroup rw,cpu,cpuacct\n35 31 0:32 / /elsewhere/memory rw - cgroup cgroup rw,memory\n`,
    );
    const layout = await detectCgroupLayout({ cgroupRoot: join(root, 'cg'), procRoot: join(root, 'proc') });
    expect(layout).toEqual({
      version: 1,
      root: join(root, 'cg'),
      hierarchies: { cpu: `${root}/cg/acct`, cpuacct: `${root}/cg/acct` },
    });
  });

  it('fails with UNAVAILABLE where there is no cgroup tree', async () => {
    const root = await tree({ 'nothing-here': '' });
    await expect(detectCgroupLayout({ cgroupRoot: root, procRoot: root })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    await expect(
      detectCgroupLayout({ cgroupRoot: join(root, 'missing'), procRoot: root }),
    ).rejects.toBeInstanceOf(HubError);
  });
});

describe('discovery on fixture trees', () => {
  it('finds Docker, podman and Mesos containers in v1, with pid and Marathon identity', async () => {
    const root = await tree({
      [`cpuacct/docker/${ID}/cgroup.procs`]: '4242\n4243\n',
      [`cpuacct/libpod_parent/libpod-${ID2}/cgroup.procs`]: '',
      [`cpuacct/libpod_parent/conmon/cgroup.procs`]: '77\n',
      [`cpuacct/mesos/${UUID}/cgroup.procs`]: '',
      [`cpuacct/user.slice/cgroup.procs`]: '1\n',
      [`pids/libpod_parent/libpod-${ID2}/cgroup.procs`]: '5151\n',
      'memory/tasks': '',
      'pids/tasks': '',
      'proc/4242/environ': 'PATH=/bin\0MARATHON_APP_ID=/shop/cart\0MESOS_TASK_ID=shop_cart.1234\0',
    });
    const layout = await detectCgroupLayout({ cgroupRoot: root, procRoot: join(root, 'proc') });
    const containers = await discoverContainers(layout, { procRoot: join(root, 'proc') });
    expect(containers).toEqual([
      {
        id: ID,
        cgroupPath: `/docker/${ID}`,
        pid: 4242,
        tags: { project: 'shop', app: 'cart', task: 'shop_cart.1234', container: ID.slice(0, 12) },
      },
      {
        id: ID2,
        cgroupPath: `/libpod_parent/libpod-${ID2}`,
        pid: 5151,
        tags: { container: ID2.slice(0, 12) },
      },
      { id: UUID, cgroupPath: `/mesos/${UUID}`, tags: { container: UUID } },
    ]);
  });

  it('does not descend into containers, and takes an explicit pattern', async () => {
    const root = await tree({
      'cgroup.controllers': 'cpu memory\n',
      [`system.slice/docker-${ID}.scope/inner/docker/${ID2}/cgroup.procs`]: '9\n',
      'obs-test-x/burner/cgroup.procs': '31\n',
      'obs-test-x/idle/cgroup.procs': '',
    });
    const layout = await detectCgroupLayout({ cgroupRoot: root, procRoot: root });
    const found = await findContainerCgroups(layout, { include: /^\/obs-test-x\/(?<id>[^/]+)$/ });
    expect(found).toEqual([
      { id: 'burner', runtime: 'pattern', cgroupPath: '/obs-test-x/burner' },
      { id: 'idle', runtime: 'pattern', cgroupPath: '/obs-test-x/idle' },
      { id: ID, runtime: 'docker', cgroupPath: `/system.slice/docker-${ID}.scope` },
    ]);
    expect(await findContainerCgroups(layout, { include: /^\/obs-test-x\/burner$/, builtin: false })).toEqual(
      [{ id: '/obs-test-x/burner', runtime: 'pattern', cgroupPath: '/obs-test-x/burner' }],
    );
  });

  it('finds a v2 pid in a leaf below the container cgroup', async () => {
    const root = await tree({
      'cgroup.controllers': '',
      [`machine.slice/libpod-${ID}.scope/cgroup.procs`]: '',
      [`machine.slice/libpod-${ID}.scope/container/cgroup.procs`]: '808\n',
    });
    const layout = await detectCgroupLayout({ cgroupRoot: root, procRoot: root });
    expect(await findPid(layout, `/machine.slice/libpod-${ID}.scope`)).toBe(808);
    expect(await findPid(layout, '/gone')).toBeUndefined();
  });
});
