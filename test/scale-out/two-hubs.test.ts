/**
 * Two `obs hub` processes in one Kafka consumer group, storing into one VictoriaMetrics: writers
 * send to both hubs' `/api/put`, and VictoriaMetrics' own export must hold every acknowledged
 * point exactly once with its value — with both hubs storing, with a malformed record in the
 * stream (it goes to the dead-letter topic), and with one hub killed mid-stream.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_BROKER } from '../../pipeline/bus/kafka/test-broker.ts';
import { METRICS_TOPIC } from '../../pipeline/ingest.ts';
import { missingPrerequisite } from '../containers/cgroup-harness.ts';
import { type ChildHub, eventually, tempDir } from '../harness.ts';
import {
  checkStored,
  chunk,
  exportPoints,
  hubCounter,
  makePoints,
  newWriterStats,
  pointKey,
  writeStream,
} from './points-stream.ts';
import {
  deleteGroup,
  engineMissing,
  killHub,
  OPENSEARCH,
  runId,
  skipWithout,
  spawnAgent,
  spawnHubs,
  startGroupAtEnd,
  stopAgent,
  stopHub,
  waitForGroup,
} from './scale-out-harness.ts';

const run = promisify(execFile);
const skip = await skipWithout('the two-hub scale-out tests', ['kafka', 'victoria-metrics']);
const RUN = runId('so');
const GROUP = `${RUN}-hubs`;
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const STORED = 'obs_points_stored_total';
const skipSpans = skip || missingPrerequisite('the two-hub spans test', await engineMissing('opensearch'));
/** Spans of this run go to their own OpenSearch indices, removed afterwards. */
const SPAN_PREFIX = `obs-${RUN}`;

/** A Zipkin v2 trace: a server span and `children` client spans under it, each of its own service. */
function zipkinTrace(t: number, children: number): Record<string, unknown>[] {
  const traceId = `${RUN.slice(-6).padStart(8, '0')}${t.toString(16).padStart(24, '0')}`;
  const start = (Date.now() - 60_000) * 1000 + t;
  const root = {
    traceId,
    id: `${(t + 1).toString(16).padStart(8, '0')}00000000`,
    name: 'get /cart',
    kind: 'SERVER',
    timestamp: start,
    duration: 9_000,
    localEndpoint: { serviceName: `${RUN}-front` },
    tags: { 'http.path': '/cart' },
  };
  const spans: Record<string, unknown>[] = [root];
  for (let c = 1; c <= children; c++)
    spans.push({
      traceId,
      id: `${(t + 1).toString(16).padStart(8, '0')}${c.toString(16).padStart(8, '0')}`,
      parentId: root.id,
      name: `call ${c}`,
      kind: 'CLIENT',
      timestamp: start + c * 1000,
      duration: 800,
      localEndpoint: { serviceName: `${RUN}-front` },
      remoteEndpoint: { serviceName: `${RUN}-back${c}` },
    });
  return spans;
}

describe.skipIf(skip)('two hubs on Kafka and VictoriaMetrics', () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>[] = [];
  let hubs: ChildHub[] = [];

  beforeAll(async () => {
    await startGroupAtEnd(GROUP);
    dirs = [await tempDir('obs-so-a-'), await tempDir('obs-so-b-')];
    const spans = skipSpans ? {} : { spanIndexPrefix: SPAN_PREFIX };
    hubs = await spawnHubs(dirs.map((d) => ({ dataDir: d.dir, group: GROUP, ...spans })));
    await waitForGroup(GROUP, 2);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(hubs.map((h) => stopHub(h)));
    await deleteGroup(GROUP);
    for (const d of dirs) await d.cleanup();
    if (!skipSpans)
      await fetch(`${OPENSEARCH}/${SPAN_PREFIX}-*`, { method: 'DELETE' }).catch(() => undefined);
  }, 60_000);

  it('stores 20 000 points sent to both hubs exactly once, both hubs storing', {
    timeout: 120_000,
  }, async () => {
    const metric = `${RUN}.share`;
    const points = makePoints(metric, 500, 40, T0);
    const sent = new Map(points.map((p) => [pointKey(p), p.value]));
    const streams = [0, 1, 2, 3].map((s) => chunk(points, 250).filter((_, i) => i % 4 === s));
    const stats = newWriterStats();
    const started = performance.now();
    // Four writers, two per hub, at once.
    await Promise.all(streams.map((b, s) => writeStream(b, { target: () => hubs[s % 2]!.url, stats })));
    const ackedAt = performance.now();
    expect(stats.acked.size).toBe(points.length);

    await eventually(async () => {
      const check = await checkStored(metric, stats.acked, sent);
      expect(check).toEqual({ stored: 20_000, missing: [], wrong: [], doubled: [], foreign: [] });
    }, 60_000);
    const stored = await Promise.all(hubs.map((h) => hubCounter(h.url, STORED)));
    console.info(
      `two hubs: 20000 points in, ${(await checkStored(metric, stats.acked, sent)).stored} out; ` +
        `acked in ${Math.round(ackedAt - started)} ms, drained ${Math.round(performance.now() - ackedAt)} ms later; ` +
        `stored per hub ${stored.join(' / ')}`,
    );
    for (const n of stored) expect(n).toBeGreaterThan(0);
    expect(stored[0]! + stored[1]!).toBeGreaterThanOrEqual(20_000);
    // Either hub reads everything back through its OpenTSDB API, whichever hub stored it (zimsum: no interpolation).
    const expectedSum = points.reduce((n, p) => n + p.value, 0);
    for (const hub of hubs) {
      const res = await fetch(`${hub.url}api/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          start: T0 - 1000,
          end: T0 + 3_600_000,
          msResolution: true,
          queries: [{ metric, aggregator: 'zimsum' }],
        }),
      });
      expect(res.status).toBe(200);
      const [series] = (await res.json()) as { dps: Record<string, number> }[];
      const total = Object.values(series!.dps).reduce((n, v) => n + v, 0);
      expect(total).toBeCloseTo(expectedSum, 3);
    }
  });

  it('sends a malformed record to the dead-letter topic and stores the rest of the stream', {
    timeout: 120_000,
  }, async () => {
    const metric = `${RUN}.dlq`;
    const garbage = `not a points batch ${RUN}`;
    const points = makePoints(metric, 100, 30, T0);
    const sent = new Map(points.map((p) => [pointKey(p), p.value]));
    const batches = chunk(points, 100);
    const skippedBefore = await Promise.all(
      hubs.map((h) => hubCounter(h.url, 'obs_bus_records_skipped_total')),
    );
    const since = Date.now() - 5_000;
    const stats = newWriterStats();
    const writing = Promise.all(
      [0, 1].map((s) =>
        writeStream(
          batches.filter((_, i) => i % 2 === s),
          { target: () => hubs[s]!.url, stats, pauseMs: 20 },
        ),
      ),
    );
    // A foreign producer (librdkafka's kcat) puts bytes that are no points batch into the topic.
    const producer = run('kcat', ['-b', TEST_BROKER, '-P', '-t', METRICS_TOPIC, '-k', 'garbage'], {
      timeout: 30_000,
    });
    producer.child.stdin!.end(`${garbage}\n`);
    await producer;
    await writing;
    expect(stats.acked.size).toBe(points.length);

    await eventually(async () => {
      const check = await checkStored(metric, stats.acked, sent);
      expect(check).toEqual({ stored: points.length, missing: [], wrong: [], doubled: [], foreign: [] });
    }, 60_000);
    const dead = await eventually(async () => {
      const { stdout } = await run(
        'kcat',
        ['-b', TEST_BROKER, '-C', '-t', 'obs.dead-letter', '-o', `s@${since}`, '-e', '-J', '-q'],
        { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
      );
      const records = stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { payload: string; key: string; headers?: string[] })
        .filter((r) => r.payload === garbage);
      expect(records.length).toBeGreaterThan(0);
      return records;
    }, 30_000);
    const headers = Object.fromEntries(chunk(dead[0]!.headers ?? [], 2).map(([k, v]) => [k!, v!] as const));
    expect(dead[0]!.key).toBe('garbage');
    expect(headers['obs-dlq-reason']).toMatch(/undecodable/);
    expect(headers['obs-dlq-topic']).toBe(METRICS_TOPIC);
    const skippedAfter = await Promise.all(
      hubs.map((h) => hubCounter(h.url, 'obs_bus_records_skipped_total')),
    );
    // At least once: a batch tried again after a failed store write would dead-letter it again.
    expect(
      skippedAfter[0]! + skippedAfter[1]! - skippedBefore[0]! - skippedBefore[1]!,
    ).toBeGreaterThanOrEqual(1);
    console.info(
      `dead letter: reason "${headers['obs-dlq-reason']}", ${points.length} points stored around it`,
    );
  });

  it.skipIf(skipSpans)(
    'gives back every span posted to either hub once, through either hub',
    { timeout: 120_000 },
    async () => {
      const traces = Array.from({ length: 40 }, (_, t) => zipkinTrace(t, 4));
      // Each trace's spans are split over the two hubs, as the services of one trace would be.
      for (const h of [0, 1]) {
        const part = traces.flatMap((spans) => spans.filter((_, i) => i % 2 === h));
        for (const batch of chunk(part, 25)) {
          const res = await fetch(`${hubs[h]!.url}api/v2/spans`, {
            method: 'POST',
            body: JSON.stringify(batch),
            headers: { 'content-type': 'application/json' },
          });
          expect(res.status).toBe(202);
        }
      }
      const started = performance.now();
      for (const [t, spans] of traces.entries()) {
        const traceId = spans[0]!['traceId'] as string;
        await eventually(async () => {
          const res = await fetch(`${hubs[t % 2]!.url}api/v2/trace/${traceId}`);
          expect(res.status).toBe(200);
          const got = ((await res.json()) as { id: string }[]).map((s) => s.id).sort();
          expect(got).toEqual(spans.map((s) => s['id'] as string).sort());
        }, 60_000);
      }
      // They live in OpenSearch, under this run's indices, each span once.
      await fetch(`${OPENSEARCH}/${SPAN_PREFIX}-spans-*/_refresh`, { method: 'POST' });
      const count = await fetch(`${OPENSEARCH}/${SPAN_PREFIX}-spans-*/_count`);
      expect(((await count.json()) as { count: number }).count).toBe(traces.length * 5);
      console.info(
        `spans: ${traces.length * 5} spans in over two hubs, every trace whole through either hub ` +
          `${Math.round(performance.now() - started)} ms after the last post`,
      );
    },
  );

  it('stores every batch two obs agent processes shipped, one agent per hub', {
    timeout: 120_000,
  }, async () => {
    const tmp = await tempDir('obs-so-agents-');
    try {
      const agents = await Promise.all(
        ['a', 'b'].map((name, h) =>
          spawnAgent(hubs[h]!.url, `${tmp.dir}/${name}`, { dc: RUN, host: `agent-${name}` }),
        ),
      );
      // One batch per sampling tick, all its points at the tick's time: a batch is a timestamp.
      const ticks = async (name: string) =>
        new Set((await exportPoints('host[.].+', { dc: RUN, host: `agent-${name}` })).map((p) => p.ts)).size;
      await eventually(async () => {
        for (const name of ['a', 'b']) expect(await ticks(name)).toBeGreaterThanOrEqual(3);
      }, 60_000);
      const figures = await Promise.all(agents.map(stopAgent));
      for (const [i, f] of figures.entries()) {
        expect({ dropped: f.droppedPoints, rejected: f.rejectedPoints }).toEqual({ dropped: 0, rejected: 0 });
        await eventually(async () => {
          const held = await ticks('ab'[i]!);
          // A send in flight when the agent stopped is not counted by it, yet may be stored.
          expect(held).toBeGreaterThanOrEqual(f.sentBatches);
          expect(held).toBeLessThanOrEqual(f.sentBatches + f.spooledBatches + 1);
        }, 60_000);
      }
      console.info(`agents: batches shipped and stored ${figures.map((f) => f.sentBatches).join(' / ')}`);
    } finally {
      await tmp.cleanup();
    }
  });

  it('stores every acknowledged point once when a hub is killed mid-stream', {
    timeout: 180_000,
  }, async () => {
    const metric = `${RUN}.kill`;
    const steps = chunk(makePoints(metric, 200, 60, T0), 200);
    const sent = new Map(steps.flat().map((p) => [pointKey(p), p.value]));
    const [victim, survivor] = hubs as [ChildHub, ChildHub];
    let killed = false;
    const stats = newWriterStats();
    // Each step goes half to each hub; the victim's writer gives up on it once it is dead.
    const writing = Promise.all([
      writeStream(
        steps.map((b) => b.slice(0, 100)),
        { target: () => (killed ? undefined : victim.url), stats, pauseMs: 50, timeoutMs: 10_000 },
      ),
      writeStream(
        steps.map((b) => b.slice(100)),
        { target: () => survivor.url, stats, pauseMs: 50 },
      ),
    ]);
    await eventually(async () => expect(stats.acked.size).toBeGreaterThan(3_000), 60_000);
    const survivorBefore = await hubCounter(survivor.url, STORED);
    killed = true;
    await killHub(victim);
    const killedAt = performance.now();
    const [fromVictim] = await writing;
    const endedAt = performance.now();
    expect(fromVictim.unacked).toBeGreaterThan(0);

    await eventually(async () => {
      const check = await checkStored(metric, stats.acked, sent);
      expect({ ...check, stored: undefined }).toEqual({
        stored: undefined,
        missing: [],
        wrong: [],
        doubled: [],
        foreign: [],
      });
    }, 120_000);
    const check = await checkStored(metric, stats.acked, sent);
    console.info(
      `kill: ${sent.size} points sent, ${stats.acked.size} acknowledged, ${check.stored} stored ` +
        `(${check.stored - stats.acked.size} unacknowledged ones made it); stream ended ` +
        `${Math.round(endedAt - killedAt)} ms after the kill, drained ${Math.round(performance.now() - endedAt)} ms later`,
    );
    expect(check.stored).toBeGreaterThanOrEqual(stats.acked.size);
    expect(await hubCounter(survivor.url, STORED)).toBeGreaterThan(survivorBefore);
  });
});
