/**
 * The wire format of the Kafka bus, read by a tool that is not ours: kcat (librdkafka) consumes
 * a topic the adapter wrote, and the records decode with the schema in pipeline/bus/kafka/README.md.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { silentLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import type { KafkaBus } from '../../pipeline/bus/kafka/kafka-bus.ts';
import { brokerUnavailable, TEST_BROKER, testBus, unique } from '../../pipeline/bus/kafka/test-broker.ts';
import { decodePoints, encodePoints } from '../../pipeline/codec/points-codec.ts';
import { createTraceAssembler } from '../../tracing/assembler/assembler.ts';
import { decodeSpans } from '../../tracing/codec/spans-codec.ts';
import { fullSpan, span } from '../../tracing/store/span-fixtures.ts';
import { createTracingIngest } from '../../tracing/tracing-ingest.ts';
import { missingPrerequisite } from '../containers/cgroup-harness.ts';

const run = promisify(execFile);
const kcatMissing =
  spawnSync('kcat', ['-V']).status === 0 ? undefined : 'kcat is not installed (apt-get install -y kcat)';
const broker = await brokerUnavailable();
const skip = missingPrerequisite(
  'Kafka wire format (kcat)',
  kcatMissing ?? (broker && `${broker}; start it with scripts/engines/kafka.sh start`),
);

type KcatRecord = {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  headers?: string[];
  key: string | null;
  payload: string;
};

describe.skipIf(skip)('kafka bus wire format read by kcat', () => {
  const buses: KafkaBus[] = [];
  afterAll(async () => {
    for (const b of buses) await b.close();
  });

  it.each(['gzip', 'none'] as const)(
    'writes points kcat reads back (%s compression)',
    async (compression) => {
      const bus = await testBus({ compression, topics: { partitions: 3 } });
      buses.push(bus);
      const topic = unique('metrics');
      const batches: MetricPoint[][] = Array.from({ length: 6 }, (_, b) =>
        Array.from({ length: 50 }, (_, i) => ({
          metric: `sys.cpu.b${b}`,
          tags: { host: `h${i % 5}`, dc: 'dc1' },
          ts: 1_764_000_000_000 + i * 1000,
          value: i / 3,
        })),
      );
      const before = Date.now();
      await bus.publish(
        topic,
        batches.map((points, b) => ({
          key: `series-${b}`,
          value: encodePoints(points),
          headers: { 'content-type': 'application/vnd.obs.points+json' },
        })),
      );

      const { stdout } = await run(
        'kcat',
        ['-b', TEST_BROKER, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J'],
        { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
      );
      const records = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as KcatRecord);
      expect(records).toHaveLength(6);
      for (const r of records) {
        const b = Number(r.key!.slice('series-'.length));
        expect(r.key).toBe(`series-${b}`);
        expect(decodePoints(Buffer.from(r.payload, 'utf8'))).toEqual(batches[b]);
        expect(r.headers).toEqual(['content-type', 'application/vnd.obs.points+json']);
        expect(r.tstype).toBe('logappend');
        expect(r.ts).toBeGreaterThanOrEqual(before - 5000);
      }
      expect(new Set(records.map((r) => r.key)).size).toBe(6);
    },
  );

  it('writes spans as the version-1 JSON rows of the README, which kcat reads as they are', async () => {
    const bus = await testBus({ topics: { partitions: 1 } });
    buses.push(bus);
    const topic = unique('spans');
    // What a hub on Kafka does: `openEngines` picks `json` records there.
    const ingest = createTracingIngest({
      bus,
      topic,
      store: { write: async () => undefined, checkpoint: async () => -1 },
      assembler: createTraceAssembler({ clock: new FakeClock() }),
      logger: silentLogger,
      recordEncoding: 'json',
    });
    const spans = [
      fullSpan(1, 1, {
        tags: { 'http.path': '/push' },
        annotations: [{ ts: 1_764_000_000_000_100, value: 'wr' }],
      }),
      span(1, 2),
    ];
    await ingest.publish(spans);
    const { stdout } = await run(
      'kcat',
      ['-b', TEST_BROKER, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J'],
      {
        timeout: 30_000,
      },
    );
    const records = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as KcatRecord);
    expect(records).toHaveLength(1);
    expect(records[0]!.key).toBe(spans[0]!.traceId);
    const rows = JSON.parse(records[0]!.payload) as unknown[][];
    const s = spans[0]!;
    expect(rows[0]).toEqual([
      s.traceId,
      s.spanId,
      s.parentId,
      s.name,
      0, // client
      s.service,
      s.start,
      s.duration,
      s.localIp,
      s.peerIp,
      s.peerPort,
      s.tags,
      [1_764_000_000_000_100, 'wr'],
      7, // error, shared, debug
      s.remoteService,
      s.localPort,
    ]);
    expect(rows[1]).toHaveLength(16);
    expect(decodeSpans(records[0]!.payload)).toEqual(spans);
  });
});
