/**
 * The cgroup source against the real kernel: real cgroups under the host's cgroup root, a CPU burner
 * without limit, a burner with a quota of half a core, and a process that allocates 200 MiB.
 *
 * How CPU is judged: the suite runs in parallel with others on a 2-core machine, so a burner is not
 * sure to get a whole core. Each burner's own CPU time, from `/proc/<pid>/stat` over the same window,
 * is what it really got; the cgroup figure must be within 10% of it. The quota case must also stay
 * at or under 0.5 core + 10%. The absolute "≈ 1.0 core" is asserted only when the burner did get
 * most of a core (otherwise the figures are printed).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProcCgroup } from '../../collector/containers/cgroup-files.ts';
import { type CgroupSource, createCgroupSource } from '../../collector/containers/cgroup-source.ts';
import { createDockerIdentity } from '../../collector/containers/docker-identity.ts';
import { createMemoryLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import type { ContainerInfo } from '../../core/ports.ts';
import {
  allocatorArgv,
  burnerArgv,
  cgroupsUnavailable,
  cpuTolerance,
  hybridUnifiedRoot,
  missingPrerequisite,
  processCpuSeconds,
  TestCgroups,
  waitForLine,
} from './cgroup-harness.ts';

const MiB = 1024 * 1024;
const ALLOCATED = 200 * MiB;
const WINDOW_MS = 4000;

const skip = missingPrerequisite('The real cgroup test', cgroupsUnavailable());

const value = (points: MetricPoint[], container: string, metric: string) =>
  points.find((p) => p.tags['container'] === container && p.metric === metric)?.value;

describe.skipIf(skip)('cgroup source on real cgroups', () => {
  let cgroups: TestCgroups;
  let unified: TestCgroups | undefined;
  let source: CgroupSource;
  let unifiedSource: CgroupSource | undefined;
  let containers: ContainerInfo[];
  const pids: Record<string, number> = {};
  let allocator: ChildProcess;

  beforeAll(async () => {
    cgroups = new TestCgroups();
    const hybrid = cgroups.version === 1 ? hybridUnifiedRoot() : undefined;
    // On a hybrid host the v2 tree is there too (without controllers, but with cpu.stat): the same
    // burners go into it as well, so the v2 reader is checked against the kernel here too.
    if (hybrid) unified = new TestCgroups(hybrid);
    await cgroups.leaf('burner');
    await cgroups.leaf('half', { cpu: { quotaUs: 50_000, periodUs: 100_000 } });
    await cgroups.leaf('alloc', { memoryBytes: 512 * MiB });
    for (const leaf of ['burner', 'half']) await unified?.leaf(leaf);
    const files = (leaf: string) => [...cgroups.procsFiles(leaf), ...(unified?.procsFiles(leaf) ?? [])];
    const env = (app: string) => ({
      MARATHON_APP_ID: `/obs-test/${app}`,
      MESOS_TASK_ID: `obs-test_${app}.1`,
    });
    pids['burner'] = cgroups.spawn(files('burner'), burnerArgv(), env('burner')).pid!;
    pids['half'] = cgroups.spawn(files('half'), burnerArgv(), env('half')).pid!;
    allocator = cgroups.spawn(cgroups.procsFiles('alloc'), allocatorArgv(ALLOCATED), env('alloc'));
    pids['alloc'] = allocator.pid!;
    source = createCgroupSource({ tags: { host: 'test-host' }, include: cgroups.include });
    if (unified)
      unifiedSource = createCgroupSource({
        tags: { host: 'test-host' },
        cgroupRoot: unified.root,
        include: unified.include,
      });
    await sleep(300); // let the shells write their pids and exec node
  });

  afterAll(async () => {
    await cgroups?.cleanup();
    await unified?.cleanup();
  });

  it('discovers the test cgroups with their pids and Marathon identity, cgroup-only', async () => {
    containers = (await source.list()).filter((c) => c.cgroupPath.startsWith(`/${cgroups.name}/`));
    expect(containers.map((c) => c.id).sort()).toEqual(['alloc', 'burner', 'half']);
    for (const c of containers) {
      expect(c.pid).toBe(pids[c.id]);
      expect(c.tags).toEqual({ project: 'obs-test', app: c.id, task: `obs-test_${c.id}.1`, container: c.id });
      const inKernel = parseProcCgroup(readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'), 'cgroup');
      expect(inKernel.some((e) => e.path === c.cgroupPath)).toBe(true);
    }
  });

  it('keeps working cgroup-only when Docker does not answer, with one warning', async () => {
    const logger = createMemoryLogger();
    const identity = createDockerIdentity({ url: `unix:///nonexistent/${cgroups.name}.sock`, logger });
    const withDocker = createCgroupSource({
      tags: { host: 'test-host' },
      include: cgroups.include,
      identity,
      logger,
    });
    for (let i = 0; i < 3; i++) {
      const listed = (await withDocker.list()).filter((c) => c.cgroupPath.startsWith(`/${cgroups.name}/`));
      expect(listed).toEqual(containers);
    }
    expect(logger.lines.filter((l) => l['level'] === 'warn').map((l) => l['msg'])).toEqual([
      'Docker does not answer; container metrics carry cgroup ids only until it does',
    ]);
  });

  it('measures CPU in cores against the burners own CPU time, and holds the quota to half a core', async () => {
    const t0 = Date.now();
    const own0 = { burner: processCpuSeconds(pids['burner']!), half: processCpuSeconds(pids['half']!) };
    const first = await source.sample(containers, t0);
    const firstUnified = await unifiedSource?.sample(await unifiedSource.list(), t0);
    // The first reading of a counter has no rate.
    expect(first.filter((p) => p.metric === 'container.cpu.usage')).toEqual([]);
    expect(value(first, 'half', 'container.cpu.limit')).toBe(0.5);
    expect(value(first, 'burner', 'container.cpu.limit')).toBeUndefined();
    expect(firstUnified?.filter((p) => p.metric === 'container.cpu.usage')).toEqual(unified ? [] : undefined);

    await sleep(WINDOW_MS);
    const t1 = Date.now();
    const own1 = { burner: processCpuSeconds(pids['burner']!), half: processCpuSeconds(pids['half']!) };
    const second = await source.sample(containers, t1);
    const secondUnified = await unifiedSource?.sample(await unifiedSource.list(), t1);
    const seconds = (t1 - t0) / 1000;
    const own = { burner: (own1.burner - own0.burner) / seconds, half: (own1.half - own0.half) / seconds };
    const measured = {
      burner: value(second, 'burner', 'container.cpu.usage')!,
      half: value(second, 'half', 'container.cpu.usage')!,
    };
    const v2 = {
      burner: secondUnified && value(secondUnified, 'burner', 'container.cpu.usage'),
      half: secondUnified && value(secondUnified, 'half', 'container.cpu.usage'),
    };
    console.log(
      `cgroup v${cgroups.version} CPU over ${seconds.toFixed(2)} s: burner ${measured.burner.toFixed(3)} cores ` +
        `(own ${own.burner.toFixed(3)}), half ${measured.half.toFixed(3)} (own ${own.half.toFixed(3)}), ` +
        `throttled ${value(second, 'half', 'container.cpu.throttled')?.toFixed(3)}` +
        (unified ? `; v2 tree: burner ${v2.burner?.toFixed(3)}, half ${v2.half?.toFixed(3)}` : ''),
    );
    expect(Math.abs(measured.burner - own.burner)).toBeLessThanOrEqual(cpuTolerance(own.burner, seconds));
    expect(Math.abs(measured.half - own.half)).toBeLessThanOrEqual(cpuTolerance(own.half, seconds));
    expect(measured.half).toBeLessThanOrEqual(0.55);
    if (own.burner >= 0.9) expect(Math.abs(measured.burner - 1)).toBeLessThan(0.1);
    if (own.half >= 0.45) expect(Math.abs(measured.half - 0.5)).toBeLessThan(0.05);
    // A burner that cannot get its half core (busy machine) is throttled less often, or not at all.
    if (own.half >= 0.4) {
      expect(value(second, 'half', 'container.cpu.throttled')).toBeGreaterThan(0);
      expect(value(second, 'half', 'container.cpu.throttled_time')).toBeGreaterThan(0);
    } else expect(value(second, 'half', 'container.cpu.throttled')).toBeGreaterThanOrEqual(0);
    expect(value(second, 'burner', 'container.cpu.throttled')).toBe(0);
    if (unified) {
      expect(Math.abs(v2.burner! - own.burner)).toBeLessThanOrEqual(cpuTolerance(own.burner, seconds));
      expect(Math.abs(v2.half! - own.half)).toBeLessThanOrEqual(cpuTolerance(own.half, seconds));
    }
  });

  it('measures the working set of a 200 MiB allocation within 10%', async () => {
    const alloc = containers.filter((c) => c.id === 'alloc');
    const before = await source.sample(alloc, Date.now());
    const baseline = value(before, 'alloc', 'container.mem.working_set')!;
    allocator.stdin!.write('go\n');
    await waitForLine(allocator, /^ready$/);
    const after = await source.sample(alloc, Date.now());
    const ws = value(after, 'alloc', 'container.mem.working_set')!;
    const rss = value(after, 'alloc', 'container.mem.rss')!;
    console.log(
      `memory: working set ${(baseline / MiB).toFixed(1)} MiB before, ${(ws / MiB).toFixed(1)} MiB after ` +
        `allocating ${ALLOCATED / MiB} MiB (rss ${(rss / MiB).toFixed(1)} MiB, ` +
        `usage ${(value(after, 'alloc', 'container.mem.usage')! / MiB).toFixed(1)} MiB)`,
    );
    // The node process itself is charged to the cgroup too (~40 MiB); what the allocation added is the
    // difference, and the absolute figure must hold at least the allocation.
    expect(Math.abs(ws - baseline - ALLOCATED) / ALLOCATED).toBeLessThan(0.1);
    expect(ws).toBeGreaterThanOrEqual(ALLOCATED);
    expect(rss).toBeGreaterThanOrEqual(ALLOCATED * 0.9);
    expect(value(after, 'alloc', 'container.mem.limit')).toBe(512 * MiB);
    expect(value(after, 'alloc', 'container.pids')).toBeGreaterThanOrEqual(1);
  });
});
