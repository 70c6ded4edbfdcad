/**
 * Autoscaling end to end on real containers: apps deployed as podman containers through the Docker
 * orchestrator, measured from their cgroups by the real agent sampler and shipped to a real hub,
 * judged and scaled by the platform loop through the Docker API.
 *
 * Load is a busy loop started inside the hot app's containers. Time: a FakeClock for everything the
 * platform decides on (health window, scale-down stabilisation), moved by the real seconds that pass
 * while the agent samples (so CPU rates are real) and jumped over the windows.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { createMemoryLogger } from '../../core/logger.ts';
import { createDockerOrchestrator } from '../../platform/orchestrators/docker/docker-orchestrator.ts';
import { createPlatform, type Platform } from '../../platform/service.ts';
import type { AppSpec, ScalingRecord } from '../../platform/types.ts';
import { missingPrerequisite } from '../containers/cgroup-harness.ts';
import { startTestHub, type TestHub, tempDir } from '../harness.ts';
import { createE2eAgent, type E2eAgent } from './e2e-agent.ts';
import { IMAGE, type PodmanApi, podmanUnavailable, startPodmanApi } from './podman-harness.ts';

const skip = missingPrerequisite('The autoscaling end-to-end test (podman)', podmanUnavailable());

/** The platform's usage window is 60 s: jumping past it leaves only the next phase's points in it. */
const PAST_WINDOW_MS = 61_000;
const STABILISATION_S = 300;

describe.skipIf(skip)('autoscaling real containers through the Docker API (podman)', () => {
  const project = `e2e${randomBytes(3).toString('hex')}`;
  const hot: AppSpec = {
    id: `/${project}/hot`,
    type: 'Worker',
    image: IMAGE,
    cmd: 'exec sleep 3600',
    // A small allotment: a busy loop reaches it even on a machine whose cores other work shares.
    cpus: 0.05,
    mem: 48,
    instances: 2,
    labels: {
      'obs.autoscale.mode': 'auto',
      'obs.autoscale.min': '2',
      'obs.autoscale.max': '3',
      'obs.autoscale.target_cpu': '0.6',
      'obs.autoscale.stabilisation': String(STABILISATION_S),
    },
  };
  const calm: AppSpec = {
    ...hot,
    id: `/${project}/calm`,
    instances: 1,
    labels: { 'obs.autoscale.mode': 'advise' },
  };
  const logger = createMemoryLogger();
  let clock: FakeClock;
  let podman: PodmanApi;
  let hub: TestHub;
  let platform: Platform;
  let agent: E2eAgent;
  let platformDir: Awaited<ReturnType<typeof tempDir>>;

  const runningOf = async (appId: string) =>
    (await podman.docker.listContainers({ filters: { label: [`obs.app=${appId}`, 'obs.role=task'] } }))
      .filter((c) => c.State === 'running')
      .map((c) => c.Id)
      .sort();
  const view = (appId: string) => platform.app(appId)!;
  const lastDecision = (appId: string): ScalingRecord => platform.decisions({ appId })[0]!;
  /** Two rounds of the platform loop: health takes a new state only when two rounds in a row see it. */
  const evaluateTwice = async () => {
    await platform.evaluate();
    await platform.evaluate();
  };
  const cpuOf = (appId: string) =>
    view(appId).containers.map((c) => Number((c.usage.cpu ?? Number.NaN).toFixed(3)));

  /** Runs `sh -c script` inside a container, detached when asked, else waits for it. */
  const exec = async (id: string, script: string, detach: boolean) => {
    const e = await podman.docker.getContainer(id).exec({ Cmd: ['sh', '-c', script], AttachStdout: !detach });
    const stream = await e.start({ Detach: detach });
    if (!detach) await new Promise((resolve) => stream.on('end', resolve).resume());
  };

  beforeAll(async () => {
    podman = await startPodmanApi();
    clock = new FakeClock(Date.now());
    hub = await startTestHub({ clock });
    platformDir = await tempDir('obs-test-platform-');
    const docker = createDockerOrchestrator({
      docker: podman.docker,
      clock,
      logger,
      network: 'none',
      stopTimeoutSeconds: 1,
    });
    platform = await createPlatform({
      store: hub.store,
      orchestrators: [docker],
      clock,
      logger,
      dataDir: platformDir.dir,
    });
    agent = createE2eAgent({
      docker: podman.docker,
      clock,
      logger,
      hubUrl: hub.url,
      store: hub.store,
      project,
    });
  });

  afterAll(async () => {
    await platform?.close();
    await hub?.stop();
    await podman?.stop();
    await platformDir?.cleanup();
  });

  it('scales a busy app out through Docker, and back in once the stabilisation window has passed', async () => {
    await platform.deploy(hot);
    await platform.deploy(calm);
    const original = await runningOf(hot.id);
    expect(original).toHaveLength(2);

    // Starting a container spends CPU in its cgroup, which against a 0.05-core allotment can read
    // as busy (seen once in CI on the calm app, deployed last): a first phase lets it pass, and the
    // window is jumped over so that only the next phase's readings count.
    await agent.phase(1);
    clock.advance(PAST_WINDOW_MS);

    // Idle: both apps are seen idle; the hot one stays at its minimum of 2.
    await agent.phase(2);
    await platform.evaluate();
    expect(view(hot.id).health.state).toBe('idle');
    expect(view(calm.id).health.state).toBe('idle');
    expect(lastDecision(hot.id)).toMatchObject({ action: 'none', current: 2, desired: 2 });
    const idleCpu = cpuOf(hot.id);

    // Load in every container of the hot app: the agent sees it from the cgroups, the hub calls the
    // app busy, and the autoscaler asks Docker for a third instance (max 3).
    for (const id of original) await exec(id, 'echo $$ > /tmp/load.pid; while :; do :; done', true);
    clock.advance(PAST_WINDOW_MS);
    await agent.phase(3);
    await evaluateTwice();
    const busy = view(hot.id);
    const busyCpu = cpuOf(hot.id);
    expect(busy.health.state).toBe('busy');
    expect(busy.health.reasons.length).toBeGreaterThan(0);
    for (const r of busy.health.reasons) expect(['cpu_near_limit', 'cpu_throttled']).toContain(r.code);
    expect(busy.containers.map((c) => c.verdict.state)).toEqual(['busy', 'busy']);
    const out = platform.decisions({ appId: hot.id }).find((d) => d.action === 'scaled')!;
    expect(out).toMatchObject({ action: 'scaled', mode: 'auto', metric: 'cpu', current: 2, desired: 3 });
    expect(out.observed).toBeGreaterThan(0.9);
    expect(out.error).toBeUndefined();
    const scaledOut = await runningOf(hot.id);
    expect(scaledOut).toHaveLength(3);
    expect(scaledOut).toEqual(expect.arrayContaining(original));
    expect(await runningOf(calm.id)).toHaveLength(1);
    expect(view(calm.id).health.state).toBe('idle');

    // Load stopped: idle again, but the scale-in waits for the stabilisation window.
    for (const id of original) await exec(id, 'kill $(cat /tmp/load.pid)', false);
    clock.advance(PAST_WINDOW_MS);
    await agent.phase(2);
    await evaluateTwice();
    const cooled = view(hot.id);
    const cooledCpu = cpuOf(hot.id);
    expect(cooled.health.state).toBe('idle');
    expect(cooled.instances).toBe(3);
    // The decision log keeps only changes; the view has this round's decision.
    const held = cooled.lastDecision!;
    expect(held).toMatchObject({ action: 'none', current: 3, desired: 3 });
    expect(held.reason).toContain('scale-down held');
    expect(await runningOf(hot.id)).toEqual(scaledOut);

    // Past the window: back to the minimum, keeping the two oldest containers.
    clock.advance(STABILISATION_S * 1000);
    await agent.phase(2);
    await platform.evaluate();
    expect(lastDecision(hot.id)).toMatchObject({ action: 'scaled', current: 3, desired: 2 });
    expect(await runningOf(hot.id)).toEqual(original);
    expect(view(hot.id).instances).toBe(3); // the view is of the listing before the scale
    await platform.evaluate();
    expect(view(hot.id).instances).toBe(2);

    console.log(
      `e2e: hot app CPU per container idle ${idleCpu.join(', ')}, loaded ${busyCpu.join(', ')}, ` +
        `after load ${cooledCpu.join(', ')} cores (limit ${hot.cpus}); decisions: ` +
        platform
          .decisions({ appId: hot.id })
          .reverse()
          .map((d) => `${d.action} ${d.current}→${d.desired} (${d.reason})`)
          .join(' | '),
    );
    expect(logger.lines.filter((l) => l['level'] === 'error')).toEqual([]);
  }, 180_000);
});
