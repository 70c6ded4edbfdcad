/**
 * The push example as real services in this process, traced into a running hub:
 *
 *   load loop ─HTTP─▶ pushapi ─(embedded Bus, B3 headers)─▶ worker ─(Thrift)─▶ pushd-1..3
 *
 * The Bus is the hub's own embedded bus (`pipeline/bus/embedded`) in a temp dir, so the context
 * crosses a real durable log exactly as `bus-propagation.ts` puts it on messages. Every span goes
 * to the hub's `/api/v2/spans` through one Zipkin HTTP exporter.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, systemClock } from '../../core/clock.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import { createEmbeddedBus, type EmbeddedBus } from '../../pipeline/bus/embedded/embedded-bus.ts';
import { createTracer, type Tracer } from '../tracer/tracer.ts';
import { createZipkinHttpExporter, type ZipkinHttpExporterStats } from '../tracer/zipkin-http-exporter.ts';
import { checkHub, type HubPages, hubBase, hubPages, withBroker } from './hub-link.ts';
import { createLoadLoop, type LoadStats } from './load.ts';
import { type PushApiServer, startPushApi } from './pushapi.ts';
import { type Pause, type PushdServer, startPushd } from './pushd.ts';
import { type CallMix, deviceToken } from './scenario.ts';
import { type DemoWorker, startWorker, type WorkerStats } from './worker.ts';

export type DemoOptions = {
  /** The hub, e.g. `http://127.0.0.1:7070/`. */
  hub: string;
  /** A hub token with the ingest scope, when the hub asks for one. */
  token?: string;
  /** Calls per second of the load loop. Default 20; 0 starts the services without load. */
  rate?: number;
  mix?: CallMix;
  /** Push daemons. Default 3. */
  pushdCount?: number;
  normalMs?: Pause;
  slowMs?: Pause;
  clock?: Clock;
  logger?: Logger;
  /** Longest wait, on stop, for the worker to drain the Bus. Default 15 s. */
  drainMs?: number;
};

export const DEMO_TOPIC = 'push.notifications';
export const BROKER = 'obs-bus';

export type DemoStats = {
  load: LoadStats;
  pushapi: ReturnType<PushApiServer['stats']>;
  worker: WorkerStats;
  pushd: { instance: string; port: number; sent: number; offline: number }[];
  spans: ZipkinHttpExporterStats;
};

export type Demo = {
  readonly pushApiUrl: string;
  readonly pages: HubPages;
  readonly pushd: readonly { instance: string; port: number }[];
  stats(): DemoStats;
  /** Stops the load, lets the worker drain the Bus, closes every service and flushes the spans. */
  stop(): Promise<DemoStats>;
};

type Parts = {
  bus?: EmbeddedBus;
  daemons: PushdServer[];
  worker?: DemoWorker;
  api?: PushApiServer;
  tracers: Tracer[];
};

async function closeParts(parts: Parts, shutdownExporter: () => Promise<void>): Promise<void> {
  await parts.worker?.close();
  await parts.api?.close();
  await Promise.all(parts.daemons.map((d) => d.close()));
  await Promise.all(parts.tracers.map((t) => t.flush()));
  await shutdownExporter();
  await parts.bus?.close();
}

/** Waits until the worker's group has consumed everything on the topic, or `ms` passed. */
async function drain(bus: EmbeddedBus, clock: Clock, ms: number): Promise<void> {
  const until = clock.now() + ms;
  while (clock.now() < until) {
    const stats = await bus.stats();
    const lag = stats
      .filter((t) => t.topic === DEMO_TOPIC)
      .flatMap((t) => t.groups)
      .reduce((n, g) => n + g.lag, 0);
    if (lag === 0) return;
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 50));
  }
}

function pushCall(url: string) {
  return async (kind: Parameters<typeof deviceToken>[0], n: number): Promise<void> => {
    const res = await fetch(new URL('push', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        app: '/push/demo',
        deviceToken: deviceToken(kind, n),
        platform: 1,
        body: `hello ${n}`,
      }),
    });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`POST /push answered ${res.status}`);
  };
}

/** Starts the bus, the push daemons, the worker and the push API, recording each in `parts`. */
async function startServices(
  options: DemoOptions,
  parts: Parts,
  ctx: { dir: string; clock: Clock; logger: Logger; tracer: (service: string) => Tracer },
): Promise<void> {
  const { clock, logger, tracer } = ctx;
  parts.bus = await createEmbeddedBus({
    dir: ctx.dir,
    clock,
    logger: logger.child({ component: 'bus' }),
    pollMs: 20,
  });
  for (let i = 1; i <= (options.pushdCount ?? 3); i++) {
    const t = tracer('pushd');
    parts.tracers.push(t);
    parts.daemons.push(
      await startPushd({
        instance: `pushd-${i}`,
        tracer: t,
        clock,
        ...(options.normalMs ? { normalMs: options.normalMs } : {}),
        ...(options.slowMs ? { slowMs: options.slowMs } : {}),
      }),
    );
  }
  const workerTracer = tracer('worker');
  const apiTracer = tracer('pushapi');
  parts.tracers.push(workerTracer, apiTracer);
  parts.worker = await startWorker({
    bus: parts.bus,
    topic: DEMO_TOPIC,
    tracer: workerTracer,
    pushd: parts.daemons.map((d) => ({ port: d.port })),
    logger: logger.child({ service: 'worker' }),
  });
  parts.api = await startPushApi({ bus: parts.bus, topic: DEMO_TOPIC, tracer: apiTracer });
}

/** Checks the hub, starts the services and the load loop. Throws a `HubError` when no hub takes spans. */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const hub = hubBase(options.hub);
  await checkHub(hub, options.token);

  const exporter = createZipkinHttpExporter({
    url: hub,
    maxBatchSize: 500,
    maxQueueSize: 50_000,
    flushIntervalMs: 500,
    ...(options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {}),
    logger: logger.child({ component: 'span-exporter' }),
  });
  const shared = withBroker(exporter, BROKER);
  const tracer = (service: string) =>
    createTracer({ service, localIp: '127.0.0.1', exporter: shared, logger: logger.child({ service }) });

  const dir = await mkdtemp(join(tmpdir(), 'obs-demo-'));
  const parts: Parts = { daemons: [], tracers: [] };
  const shutdownExporter = async () => {
    await exporter.shutdown();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await startServices(options, parts, { dir, clock, logger, tracer });
  } catch (e) {
    await closeParts(parts, shutdownExporter);
    throw e;
  }
  return assemble(options, { clock, exporter, parts, shutdownExporter, hub });
}

function assemble(
  options: DemoOptions,
  ctx: {
    clock: Clock;
    exporter: ReturnType<typeof createZipkinHttpExporter>;
    parts: Parts;
    shutdownExporter: () => Promise<void>;
    hub: string;
  },
): Demo {
  const { clock, exporter, parts } = ctx;
  const api = parts.api!;
  const load = createLoadLoop({
    rate: options.rate ?? 20,
    clock,
    send: pushCall(api.url),
    ...(options.mix ? { mix: options.mix } : {}),
  });
  if ((options.rate ?? 20) > 0) load.start();
  const stats = (): DemoStats => ({
    load: load.stats(),
    pushapi: api.stats(),
    worker: parts.worker!.stats(),
    pushd: parts.daemons.map((d) => ({ instance: d.instance, port: d.port, ...d.stats() })),
    spans: exporter.stats(),
  });
  let stopping: Promise<DemoStats> | undefined;
  return {
    pushApiUrl: api.url,
    pages: hubPages(ctx.hub),
    pushd: parts.daemons.map((d) => ({ instance: d.instance, port: d.port })),
    stats,
    stop() {
      stopping ??= (async () => {
        await load.stop();
        await drain(parts.bus!, clock, options.drainMs ?? 15_000);
        await closeParts(parts, ctx.shutdownExporter);
        return stats();
      })();
      return stopping;
    },
  };
}
