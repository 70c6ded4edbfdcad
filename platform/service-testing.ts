/**
 * For tests and demos of the platform loop: a real embedded metric store filled with container
 * points as the agent writes them, a Marathon contract server (not Marathon: see its module) behind
 * the real Marathon adapter, and the platform over both, driven by a fake clock.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, systemClock } from '../core/clock.ts';
import { silentLogger } from '../core/logger.ts';
import type { MetricPoint } from '../core/model.ts';
import {
  createEmbeddedMetricStore,
  type EmbeddedMetricStore,
} from '../pipeline/store/embedded/embedded-metric-store.ts';
import {
  type MarathonContractServer,
  startMarathonContractServer,
} from './orchestrators/marathon/marathon-contract-server.ts';
import {
  createMarathonOrchestrator,
  type MarathonOrchestrator,
} from './orchestrators/marathon/marathon-orchestrator.ts';
import { createPlatform, type Platform, type PlatformOptions } from './service.ts';

const MIB = 1024 * 1024;

/** What one container used, per sample. */
export type ContainerLoad = { cpu: number; cpuLimit: number; workingSetMiB: number; memLimitMiB: number };

/**
 * The agent's `container.*` points of one container over `[end - spanMs, end]`, every 10 s, with
 * the identity tags of `/project/app` and its task.
 */
export function containerPoints(
  appId: string,
  task: string | undefined,
  container: string,
  load: ContainerLoad,
  end: number,
  spanMs = 60_000,
): MetricPoint[] {
  const [project, ...rest] = appId.split('/').filter(Boolean);
  const tags = {
    project: project!,
    app: rest.join('/'),
    container,
    host: 'node-1',
    ...(task ? { task } : {}),
  };
  const out: MetricPoint[] = [];
  for (let ts = end - spanMs + 10_000; ts <= end; ts += 10_000) {
    out.push(
      { metric: 'container.cpu.usage', tags, ts, value: load.cpu },
      { metric: 'container.cpu.limit', tags, ts, value: load.cpuLimit },
      { metric: 'container.mem.working_set', tags, ts, value: load.workingSetMiB * MIB },
      { metric: 'container.mem.limit', tags, ts, value: load.memLimitMiB * MIB },
    );
  }
  return out;
}

export type PlatformFixture = {
  dir: string;
  clock: FakeClock;
  store: EmbeddedMetricStore;
  platform: Platform;
  /** `platform.health` points the platform published. */
  published: MetricPoint[];
  /** With `marathon: true`. */
  server?: MarathonContractServer;
  marathon?: MarathonOrchestrator;
  /** Closes the platform (reopen with `reopen`), keeping the data dir. */
  reopen(): Promise<Platform>;
  close(): Promise<void>;
};

export async function startPlatformFixture(
  options: {
    marathon?: boolean;
    start?: number;
    deploymentMs?: number;
    platform?: Partial<PlatformOptions>;
  } = {},
): Promise<PlatformFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'obs-platform-'));
  const clock = new FakeClock(options.start ?? Date.UTC(2026, 10, 26, 12, 0, 0));
  const store = await createEmbeddedMetricStore({
    dataDir: join(dir, 'store'),
    clock,
    logger: silentLogger,
    maintenanceIntervalMs: 0,
  });
  const server = options.marathon
    ? await startMarathonContractServer({ deploymentMs: options.deploymentMs ?? 50 })
    : undefined;
  const published: MetricPoint[] = [];
  const orchestrators = () => {
    if (!server) return [];
    // The adapter's own timers (event-stream reconnects) run on real time, like the contract server.
    const marathon = createMarathonOrchestrator({
      url: server.url,
      clock: systemClock,
      logger: silentLogger,
    });
    fixture.marathon = marathon;
    return [marathon];
  };
  const open = () =>
    createPlatform({
      store,
      orchestrators: orchestrators(),
      clock,
      logger: silentLogger,
      dataDir: dir,
      publish: (points) => published.push(...points),
      // Tests run rounds with `evaluate()`: a timer round in the middle of writing points would race.
      intervalMs: 3_600_000,
      ...options.platform,
    });
  const fixture: PlatformFixture = {
    dir,
    clock,
    store,
    published,
    platform: undefined as unknown as Platform,
    ...(server ? { server } : {}),
    async reopen() {
      await fixture.platform.close();
      fixture.platform = await open();
      return fixture.platform;
    },
    async close() {
      await fixture.platform.close();
      await server?.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  fixture.platform = await open();
  return fixture;
}
