/**
 * The Kafka broker stopped and started again (scripts/engines/kafka.sh stop, start) while
 * writers stream points to two hubs: while it is down the hubs hold each `/api/put` until the
 * publish gives up (~30 s) and then answer 500, the writers send again as the agent does, and
 * afterwards VictoriaMetrics holds every point exactly once. The suite runs its own broker on free ports through the same script, so
 * the shared broker other suites use on 127.0.0.1:9092 is never interrupted.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite } from '../containers/cgroup-harness.ts';
import { type ChildHub, eventually, freePort, tempDir } from '../harness.ts';
import { checkStored, chunk, makePoints, newWriterStats, pointKey, writeStream } from './points-stream.ts';
import { runId, skipWithout, spawnHubs, stopHub, waitForGroup } from './scale-out-harness.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/engines/kafka.sh');
const SHARED_LIB = join(ROOT, '.engines/kafka/lib');
const RUN = runId('sr');
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

const javaMissing = spawnSync('java', ['-version']).status === 0 ? undefined : 'java is not installed';
const skip =
  missingPrerequisite('the broker-restart scale-out test', javaMissing) ||
  (await skipWithout('the broker-restart scale-out test', ['victoria-metrics']));

describe.skipIf(skip)('two hubs across a Kafka broker restart', () => {
  let env: NodeJS.ProcessEnv;
  let engines: Awaited<ReturnType<typeof tempDir>> | undefined;
  const dirs: Awaited<ReturnType<typeof tempDir>>[] = [];
  let hubs: ChildHub[] = [];
  let broker = '';

  const engine = (command: 'start' | 'stop') => run('bash', [SCRIPT, command], { env, timeout: 180_000 });
  /** What `kafka.sh status` says: it exits 1 with "not running" on stdout when the broker is down. */
  const status = () =>
    run('bash', [SCRIPT, 'status'], { env, timeout: 30_000 }).then(
      (r) => r.stdout,
      (e: { stdout?: string }) => e.stdout ?? '',
    );

  beforeAll(async () => {
    engines = await tempDir('obs-so-broker-');
    const [port, controllerPort] = [await freePort(), await freePort()];
    broker = `127.0.0.1:${port}`;
    env = {
      ...process.env,
      OBS_ENGINES_DIR: engines.dir,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(controllerPort),
      ...(existsSync(SHARED_LIB) ? { KAFKA_LIB_DIR: SHARED_LIB } : {}),
    };
    await engine('start');
    for (const prefix of ['obs-so-r1-', 'obs-so-r2-']) dirs.push(await tempDir(prefix));
    // One after the other: the first creates the topics (two at once on a fresh broker can fail,
    // see spawnHubs).
    hubs = await spawnHubs(dirs.map((d) => ({ dataDir: d.dir, group: RUN, brokers: broker })));
    await waitForGroup(RUN, 2, broker, 120_000);
  }, 300_000);

  afterAll(async () => {
    await Promise.all(hubs.map((h) => stopHub(h)));
    if (env) await engine('stop').catch(() => undefined);
    for (const d of dirs) await d.cleanup();
    await engines?.cleanup();
  }, 120_000);

  it('stores every acknowledged point exactly once after the broker comes back', {
    timeout: 300_000,
  }, async () => {
    const metric = `${RUN}.restart`;
    const steps = chunk(makePoints(metric, 200, 60, T0), 200);
    const sent = new Map(steps.flat().map((p) => [pointKey(p), p.value]));
    const stats = newWriterStats();
    // Like the agent: a batch not acknowledged is sent again, to the same hub, until it is.
    const writing = Promise.all(
      [0, 1].map((h) =>
        writeStream(
          steps.map((b) => b.slice(h * 100, h * 100 + 100)),
          { target: () => hubs[h]!.url, stats, pauseMs: 50, retryMs: 500, timeoutMs: 90_000 },
        ),
      ),
    );
    await eventually(async () => expect(stats.acked.size).toBeGreaterThan(3_000), 60_000);
    const stoppedAt = performance.now();
    await engine('stop');
    expect(await status()).toMatch(/not running/);
    const ackedWhileDown = stats.acked.size;
    // Down until the hubs answer errors: a publish waits ~30 s for the broker before it fails.
    const serverErrors = () => [...stats.statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    await eventually(async () => expect(serverErrors()).toBeGreaterThan(0), 90_000);
    await engine('start');
    expect(await status()).toMatch(/running on/);
    const restartedAt = performance.now();
    await writing;
    const endedAt = performance.now();
    expect(stats.unacked).toBe(0);
    expect(stats.acked.size).toBe(sent.size);

    await eventually(async () => {
      const check = await checkStored(metric, stats.acked, sent);
      expect(check).toEqual({ stored: sent.size, missing: [], wrong: [], doubled: [], foreign: [] });
    }, 180_000);
    const errors = [...stats.statuses].filter(([s]) => s < 200 || s >= 300);
    console.info(
      `broker restart: ${sent.size} points in and out; outage ${Math.round(restartedAt - stoppedAt)} ms ` +
        `(${ackedWhileDown} acknowledged before it); error answers ${JSON.stringify(errors)}; ` +
        `slowest put ${Math.round(stats.slowestMs)} ms; stream ended ${Math.round(endedAt - restartedAt)} ms ` +
        `after the restart, drained ${Math.round(performance.now() - endedAt)} ms later`,
    );
    // Nothing but 2xx and 5xx: the hubs never refused the points themselves.
    expect(errors.every(([s]) => s >= 500)).toBe(true);
  });
});
