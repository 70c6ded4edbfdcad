/**
 * `npm run bench:kafka`: points per second end to end through a real Kafka broker (the one
 * `scripts/engines/kafka.sh start` runs on 127.0.0.1:9092). The same points, encoded as the hub
 * encodes them (points-codec JSON, `--per-record` points a record), go through:
 *
 * 1. the kafkajs Bus adapter: concurrent `publish` calls (acks=-1, idempotent), consumed back by
 *    a subscription that decodes every record and commits after each batch;
 * 2. `@platformatic/kafka`: Producer (acks=-1, idempotent) and Consumer, same records, decoded;
 * 3. the broker's own Java `ProducerPerformance` with the same records as payloads (produce
 *    only, acks=all, idempotent): the ceiling of this broker on this machine.
 *
 * Each is run `--runs` times (default 3) in turn; the medians are printed, and the last line
 * gives the ratios. Options: --points N (500000), --per-record N (500), --partitions N (6),
 * --compression gzip|none (gzip), --window N (publishes in flight, 64), --broker, --lib DIR
 * (the broker jars, default .engines/kafka/lib).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { createLogger, silentLogger } from '../core/logger.ts';
import type { MetricPoint } from '../core/model.ts';
import { createKafkaBus } from '../pipeline/bus/kafka/kafka-bus.ts';
import { decodePoints, encodePoints } from '../pipeline/codec/points-codec.ts';

// @platformatic/kafka 2.x declares Node >= 22.22 and calls Promise.withResolvers (Node 22); the
// hub runs on Node 20, so the bench lends it one while @platformatic/kafka runs. Installed for
// the whole process it stalled kafkajs's consumer, hence only around that phase.
const promiseStatics = Promise as unknown as { withResolvers?: () => unknown };
const hadWithResolvers = typeof promiseStatics.withResolvers === 'function';
function lendWithResolvers(on: boolean): void {
  if (hadWithResolvers) return;
  if (!on) {
    delete promiseStatics.withResolvers;
    return;
  }
  promiseStatics.withResolvers = () => {
    let resolve: unknown;
    let reject: unknown;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const { values: opts } = parseArgs({
  options: {
    points: { type: 'string', default: '500000' },
    'per-record': { type: 'string', default: '500' },
    partitions: { type: 'string', default: '6' },
    compression: { type: 'string', default: 'gzip' },
    window: { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    broker: { type: 'string', default: '127.0.0.1:9092' },
    lib: { type: 'string' },
    progress: { type: 'boolean', default: false },
  },
});
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const POINTS = Number(opts.points);
const PER_RECORD = Number(opts['per-record']);
const PARTITIONS = Number(opts.partitions);
const COMPRESSION = opts.compression === 'none' ? 'none' : 'gzip';
const WINDOW = Number(opts.window);
const RUNS = Number(opts.runs);
const BROKER = opts.broker!;
const LIB = opts.lib ?? join(ROOT, '.engines/kafka/lib');
const run = promisify(execFile);

type Rec = { key: string; value: Buffer; points: number };

function makeRecords(): Rec[] {
  const points: MetricPoint[] = Array.from({ length: POINTS }, (_, i) => ({
    metric: `container.cpu.b${i % 40}`,
    tags: { dc: 'dc1', host: `node-${i % 97}`, project: 'shop', app: `app-${i % 13}`, task: `t${i % 301}` },
    ts: 1_764_000_000_000 + Math.floor(i / 1000) * 10_000,
    value: (i % 1000) / 7,
  }));
  const records: Rec[] = [];
  for (let i = 0; i < points.length; i += PER_RECORD) {
    const chunk = points.slice(i, i + PER_RECORD);
    records.push({
      key: `series-${records.length % 16}`,
      value: Buffer.from(encodePoints(chunk)),
      points: chunk.length,
    });
  }
  return records;
}

/** Runs `task` over `items` with at most `window` in flight, in order of start. */
async function windowed<T>(items: T[], window: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(window, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

function counter(total: number) {
  let seen = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  return {
    finished,
    seen: () => seen,
    add(value: Uint8Array) {
      seen += decodePoints(value).length;
      if (seen >= total) done();
    },
  };
}

/** With --progress, prints what `state` says every second, until the returned function is called. */
function progress(name: string, state: () => object): () => void {
  if (!opts.progress) return () => {};
  const timer = setInterval(() => console.error(name, JSON.stringify(state())), 1000);
  return () => clearInterval(timer);
}

const unique = (p: string) => `bench-${p}-${randomUUID().slice(0, 8)}`;
const warmup = () => ({
  key: 'warmup',
  value: Buffer.from(encodePoints([{ metric: 'w', tags: { a: 'b' }, ts: 1, value: 1 }])),
});

async function viaKafkajs(records: Rec[]): Promise<number> {
  const bus = await createKafkaBus({
    brokers: [BROKER],
    clientId: unique('kafkajs'),
    logger: opts.progress
      ? createLogger({
          level: 'debug',
          write: (l) => {
            if (/stop|disconnect|leave|waiting|Stopp|crash|rror/i.test(l)) console.error(l.slice(0, 400));
          },
        })
      : silentLogger,
    topics: { partitions: PARTITIONS },
    compression: COMPRESSION,
  });
  try {
    const topic = unique('kafkajs');
    const count = counter(POINTS + 1);
    const sub = await bus.subscribe({
      topic,
      group: unique('g'),
      onBatch: async (batch) => {
        for (const r of batch) count.add(r.value);
      },
    });
    await bus.publish(topic, [warmup()]);
    const started = performance.now();
    let sent = 0;
    const stopProgress = progress('kafkajs', () => ({ sent, seen: count.seen() }));
    await windowed(records, WINDOW, async (r) => {
      await bus.publish(topic, [{ key: r.key, value: r.value }]);
      sent++;
    });
    await count.finished;
    stopProgress();
    const seconds = (performance.now() - started) / 1000;
    await sub.close();
    return POINTS / seconds;
  } finally {
    await bus.close();
  }
}

async function viaPlatformatic(records: Rec[]): Promise<number> {
  lendWithResolvers(true);
  try {
    return await platformaticRun(records);
  } finally {
    lendWithResolvers(false);
  }
}

async function platformaticRun(records: Rec[]): Promise<number> {
  const topic = unique('plt');
  const base = { clientId: unique('plt'), bootstrapBrokers: [BROKER] };
  const admin = new Admin(base);
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  await admin.close();
  const producer = new Producer({ ...base, idempotent: true, acks: -1, compression: COMPRESSION });
  const consumer = new Consumer({ ...base, groupId: unique('g') });
  try {
    const count = counter(POINTS + 1);
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 1000 });
    stream.on('data', (m: { value: Buffer }) => count.add(m.value));
    const stopProgress = progress('platformatic', () => ({ sent, seen: count.seen() }));
    let sent = 0;
    const w = warmup();
    await producer.send({ messages: [{ topic, key: Buffer.from(w.key), value: w.value }] });
    const started = performance.now();
    await windowed(records, WINDOW, async (r) => {
      await producer.send({ messages: [{ topic, key: Buffer.from(r.key), value: r.value }] });
      sent++;
    });
    await count.finished;
    stopProgress();
    const seconds = (performance.now() - started) / 1000;
    await stream.close();
    return POINTS / seconds;
  } finally {
    await consumer.close(true);
    await producer.close();
  }
}

async function viaJava(records: Rec[], payloads: string): Promise<number> {
  const topic = unique('java');
  lendWithResolvers(true);
  try {
    const admin = new Admin({ clientId: unique('java'), bootstrapBrokers: [BROKER] });
    await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
    await admin.close();
  } finally {
    lendWithResolvers(false);
  }
  const { stdout } = await run(
    'java',
    [
      '-Xmx512m',
      '-cp',
      `${LIB}/*`,
      '-Dlog4j2.level=WARN',
      'org.apache.kafka.tools.ProducerPerformance',
      ...['--topic', topic, '--num-records', String(records.length), '--throughput', '-1'],
      ...['--payload-file', payloads, '--payload-delimiter', '\n'],
      '--producer-props',
      `bootstrap.servers=${BROKER}`,
      'acks=all',
      'enable.idempotence=true',
      `compression.type=${COMPRESSION}`,
    ],
    { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
  );
  const summary = stdout
    .trim()
    .split('\n')
    .findLast((l) => l.includes('records sent'));
  const perSecond = Number(/([\d.]+) records\/sec/.exec(summary ?? '')?.[1]);
  if (!Number.isFinite(perSecond)) throw new Error(`ProducerPerformance printed no summary:\n${stdout}`);
  return perSecond * PER_RECORD;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const records = makeRecords();
  const bytes = records.reduce((n, r) => n + r.value.byteLength, 0);
  console.log(
    `${POINTS} points in ${records.length} records of ${PER_RECORD} points (${Math.round(bytes / records.length)} B avg), ` +
      `${PARTITIONS} partitions, ${COMPRESSION}, window ${WINDOW}, broker ${BROKER}`,
  );
  const tmp = await mkdtemp(join(tmpdir(), 'obs-bench-kafka-'));
  const payloads = join(tmp, 'payloads.txt');
  await writeFile(payloads, records.map((r) => r.value.toString('utf8')).join('\n'));
  const java = existsSync(LIB);
  if (!java)
    console.log(
      `no broker jars at ${LIB}: skipping ProducerPerformance (run scripts/engines/kafka.sh start)`,
    );
  const results = { kafkajs: [] as number[], platformatic: [] as number[], java: [] as number[] };
  try {
    for (let i = 1; i <= RUNS; i++) {
      results.kafkajs.push(await viaKafkajs(records));
      results.platformatic.push(await viaPlatformatic(records));
      if (java) results.java.push(await viaJava(records, payloads));
      console.log(
        `run ${i}: kafkajs bus ${fmt(results.kafkajs.at(-1)!)} points/s, @platformatic/kafka ${fmt(results.platformatic.at(-1)!)} points/s` +
          (java ? `, ProducerPerformance ${fmt(results.java.at(-1)!)} points/s (produce only)` : ''),
      );
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const k = median(results.kafkajs);
  const p = median(results.platformatic);
  const j = java ? median(results.java) : Number.NaN;
  console.log(
    `median of ${RUNS}: kafkajs bus ${fmt(k)}, @platformatic/kafka ${fmt(p)}, ProducerPerformance ${java ? fmt(j) : 'n/a'} points/s`,
  );
  console.log(
    `ratios: kafkajs/platformatic ${(k / p).toFixed(2)}, kafkajs/ProducerPerformance ${(k / j).toFixed(2)}, platformatic/ProducerPerformance ${(p / j).toFixed(2)}`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
