/**
 * For the scale-out tests: several real `obs hub` (and `obs agent`) processes on Kafka and
 * VictoriaMetrics (and OpenSearch), and the Kafka consumer groups they share. Engines come from
 * scripts/engines/*.sh on their fixed ports; points-stream.ts writes and counts the points.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { TEST_BROKER } from '../../pipeline/bus/kafka/test-broker.ts';
import { METRICS_TOPIC } from '../../pipeline/ingest.ts';
import { OPENSEARCH, VM_HTTP, VM_PUT } from '../engines.ts';
import { type ChildHub, exited, spawnHub, spawnObs, stopHub } from '../harness.ts';

export { type Engine, engineMissing, OPENSEARCH, skipWithout, VM_HTTP, VM_PUT } from '../engines.ts';
export { stopHub };

/** A name unique to this run, valid as a metric name, consumer group and index prefix. */
export function runId(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export type ScaleOutHubOptions = {
  dataDir: string;
  group: string;
  brokers?: string;
  /** Spans to OpenSearch under this index prefix (else the embedded span store). */
  spanIndexPrefix?: string;
};

/** `obs hub` as a separate process on Kafka and VictoriaMetrics, as an operator runs several. */
export async function spawnScaleOutHub(options: ScaleOutHubOptions): Promise<ChildHub> {
  const config = join(options.dataDir, 'obs.yaml');
  const tracing = options.spanIndexPrefix
    ? { tracing: { elastic: { indexPrefix: options.spanIndexPrefix } } }
    : {};
  // Reads go through VictoriaMetrics' Prometheus API: it serves no OpenTSDB /api/query.
  const store = { store: { opentsdb: { promReadUrl: VM_HTTP } } };
  await writeFile(config, stringify({ bus: { kafka: { group: options.group } }, ...store, ...tracing }));
  const spans = options.spanIndexPrefix ? ['--span-store', 'opensearch', '--elastic-url', OPENSEARCH] : [];
  return spawnHub(options.dataDir, [
    '--config',
    config,
    '--no-agent',
    '--bus',
    'kafka',
    '--kafka-brokers',
    options.brokers ?? TEST_BROKER,
    '--metric-store',
    'opentsdb',
    '--opentsdb-url',
    VM_PUT,
    ...spans,
  ]);
}

export type AgentProcess = { child: ChildProcess; output: () => string };

/** `obs agent` as a separate process shipping this host's metrics to `hub`, with extra `--tag`s. */
export async function spawnAgent(
  hub: string,
  dataDir: string,
  tags: Record<string, string>,
): Promise<AgentProcess> {
  const tagArgs = Object.entries(tags).flatMap(([k, v]) => ['--tag', `${k}=${v}`]);
  const { child, output } = await spawnObs(
    ['agent', '--hub', hub, '--interval', '250ms', '--data-dir', dataDir, '--log-level', 'info', ...tagArgs],
    /obs agent is shipping/,
  );
  return { child, output };
}

export type ShipperStats = {
  sentBatches: number;
  spooledBatches: number;
  droppedPoints: number;
  rejectedPoints: number;
};

/** Stops an agent (SIGTERM) and reads the shipper's figures it logs on the way out. */
export async function stopAgent(agent: AgentProcess): Promise<ShipperStats> {
  agent.child.kill('SIGTERM');
  await exited(agent.child);
  const line = agent
    .output()
    .split('\n')
    .find((l) => l.includes('"msg":"stopping"'));
  if (!line) throw new Error(`obs agent logged no figures when stopping: ${agent.output()}`);
  return JSON.parse(line) as ShipperStats;
}

/**
 * Starts hubs one after the other. Two hubs started at once on a broker without the topics yet
 * may fail: the loser of the topic creation race gets "This server does not host this
 * topic-partition" while kafkajs waits for leaders, and `obs hub` exits 1 (kafka-bus.ts
 * createTopic only forgives TOPIC_ALREADY_EXISTS).
 */
export async function spawnHubs(options: ScaleOutHubOptions[]): Promise<ChildHub[]> {
  const hubs: ChildHub[] = [];
  try {
    for (const o of options) hubs.push(await spawnScaleOutHub(o));
  } catch (e) {
    await Promise.all(hubs.map((h) => stopHub(h)));
    throw e;
  }
  return hubs;
}

/** Kills a hub at once (SIGKILL): no clean shutdown, its consumer does not leave the group. */
export async function killHub(hub: ChildHub): Promise<void> {
  hub.child.kill('SIGKILL');
  await exited(hub.child);
}

/** The consumer groups hubs of deployment group `group` store with, per topic (see bin/hub-engines.ts). */
export function streamGroups(group: string): [topic: string, group: string][] {
  return [
    [METRICS_TOPIC, group],
    ['spans', `${group}-spans`],
    ['logs', `${group}-logs`],
  ];
}

/**
 * Starts a deployment's new consumer groups at the current end of their topics, so that they store
 * only this run's records instead of replaying every earlier run's (a new group starts at the earliest).
 */
export async function startGroupAtEnd(group: string, brokers = TEST_BROKER): Promise<void> {
  const kafka = new Kafka({ clientId: `${group}-admin`, brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    for (const [topic, groupId] of streamGroups(group)) {
      if (!topics.includes(topic)) continue;
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId,
        topic,
        partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** Removes a consumer group once its hubs are gone, so runs leave no offsets behind; best effort. */
export async function deleteGroup(group: string, brokers = TEST_BROKER): Promise<void> {
  const kafka = new Kafka({ clientId: `${group}-admin`, brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups(streamGroups(group).map(([, g]) => g));
  } catch {
    // A group that cannot be removed now expires with the broker's offsets retention.
  } finally {
    await admin.disconnect();
  }
}

/** Waits until `members` hubs share the group's partitions (a rebalance has settled). */
export async function waitForGroup(
  group: string,
  members: number,
  brokers = TEST_BROKER,
  timeoutMs = 60_000,
) {
  const kafka = new Kafka({ clientId: `${group}-watch`, brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const started = Date.now();
    for (;;) {
      const [g] = (await admin.describeGroups([group])).groups;
      if (g?.state === 'Stable' && g.members.length === members) return;
      if (Date.now() - started > timeoutMs)
        throw new Error(`group ${group} has ${g?.members.length} members (${g?.state}), not ${members}`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}
