/**
 * A broker stopped and started again (scripts/engines/kafka.sh stop, start) while a hub
 * publishes and consumes: every acknowledged record is there afterwards, and a consumer that
 * ran across the restart receives them all. It runs a private broker on free ports, so the
 * shared one that other suites use is never interrupted.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../core/logger.ts';
import { createRecorder } from '../../pipeline/bus/contract.ts';
import { createKafkaBus, type KafkaBus } from '../../pipeline/bus/kafka/kafka-bus.ts';
import { unique } from '../../pipeline/bus/kafka/test-broker.ts';
import { missingPrerequisite } from '../containers/cgroup-harness.ts';
import { freePort, tempDir } from '../harness.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/engines/kafka.sh');
const SHARED_LIB = join(ROOT, '.engines/kafka/lib');

const javaMissing = spawnSync('java', ['-version']).status === 0 ? undefined : 'java is not installed';
const skip = missingPrerequisite('Kafka restart test', javaMissing);
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe.skipIf(skip)('kafka bus across a broker restart', () => {
  let env: NodeJS.ProcessEnv;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let broker: string;
  const buses: KafkaBus[] = [];

  const engine = (command: 'start' | 'stop') => run('bash', [SCRIPT, command], { env, timeout: 180_000 });

  beforeAll(async () => {
    dir = await tempDir('obs-kafka-restart-');
    const [port, controllerPort] = [await freePort(), await freePort()];
    broker = `127.0.0.1:${port}`;
    env = {
      ...process.env,
      OBS_ENGINES_DIR: dir.dir,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(controllerPort),
      ...(existsSync(SHARED_LIB) ? { KAFKA_LIB_DIR: SHARED_LIB } : {}),
    };
    await engine('start');
  }, 240_000);

  afterAll(async () => {
    for (const b of buses.splice(0)) await b.close().catch(() => undefined);
    if (env) await engine('stop');
    await dir?.cleanup();
  }, 120_000);

  it('loses no acknowledged record and keeps the running consumer going', { timeout: 300_000 }, async () => {
    const open = async () => {
      const bus = await createKafkaBus({
        brokers: [broker],
        clientId: unique('restart'),
        logger: silentLogger,
        topics: { partitions: 3 },
        retry: { initialMs: 50, maxMs: 1000, publishTimeoutMs: 10_000 },
      });
      buses.push(bus);
      return bus;
    };
    const bus = await open();
    const topic = unique('restart');
    const live = createRecorder();
    await bus.subscribe({ topic, group: unique('live'), onBatch: live.onBatch });

    const acked = new Set<string>();
    let failures = 0;
    let slowestMs = 0;
    let stopAt = -1;
    let startedAt = -1;
    let done = false;
    const publishing = (async () => {
      for (let i = 0; !done || i < stopAt + 50; i++) {
        const batch = Array.from({ length: 20 }, (_, j) => ({ key: `s${j}`, value: text(`b${i}-${j}`) }));
        // As the agent's spool does: a publish that was not acknowledged is sent again.
        for (;;) {
          const started = performance.now();
          try {
            await bus.publish(topic, batch);
            slowestMs = Math.max(slowestMs, performance.now() - started);
            break;
          } catch {
            failures++;
            await sleep(200);
          }
        }
        for (const m of batch) acked.add(str(m.value));
        await sleep(5);
      }
    })();

    await vi.waitFor(() => expect(acked.size).toBeGreaterThan(400), { timeout: 30_000, interval: 20 });
    stopAt = acked.size / 20;
    await engine('stop');
    await sleep(1500);
    await engine('start');
    startedAt = acked.size;
    done = true;
    await publishing;
    expect(acked.size).toBeGreaterThan(startedAt);

    const values = (records: { value: Uint8Array }[]) => new Set(records.map((r) => str(r.value)));
    const missing = (got: Set<string>) => [...acked].filter((v) => !got.has(v));
    await vi.waitFor(() => expect(missing(values(live.records))).toEqual([]), {
      timeout: 120_000,
      interval: 100,
    });

    const reader = await open();
    const fresh = createRecorder();
    await reader.subscribe({ topic, group: unique('after'), onBatch: fresh.onBatch });
    await vi.waitFor(() => expect(missing(values(fresh.records))).toEqual([]), {
      timeout: 60_000,
      interval: 100,
    });
    // The publisher did meet the outage: a publish failed, or waited for the broker to return.
    expect(failures > 0 || slowestMs > 1000).toBe(true);
  });
});
