/**
 * CPU per span of each stage of the span ingest path, in this process (no HTTP, no bus fsync):
 * `tsx bench/spans/stages.ts [--spans N]`. For finding what to make faster.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../../core/clock.ts';
import { createTraceAssembler } from '../../tracing/assembler/assembler.ts';
import { decodeSpansLight, encodeSpanRecord } from '../../tracing/codec/spans-codec.ts';
import { decodeZipkinSpans } from '../../tracing/codec/zipkin-json.ts';
import type { TraceSpan } from '../../tracing/model.ts';
import { createEmbeddedSpanStore, type EmbeddedSpanStore } from '../../tracing/store/embedded-span-store.ts';

const { values } = parseArgs({
  options: { spans: { type: 'string', default: '200000' }, 'batch-mib': { type: 'string', default: '8' } },
});
const N = Number(values.spans);
const MAX_BATCH_BYTES = Number(values['batch-mib']) * 1024 * 1024;
const BATCH = 1000;
const now = Date.now() * 1000;
const bodies: string[] = [];
for (let b = 0; b < N / BATCH; b++) {
  const spans = [];
  for (let t = 0; t < BATCH / 10; t++) {
    const traceId = (b + 1).toString(16).padStart(8, '0') + t.toString(16).padStart(24, '0');
    let prev: string | undefined;
    for (let s = 0; s < 10; s++) {
      const id = (b + 1).toString(16).padStart(8, '0') + (t * 16 + s).toString(16).padStart(8, '0');
      spans.push({
        traceId,
        id,
        ...(prev ? { parentId: prev } : {}),
        name: `get /api/v${s}/items`,
        kind: s % 2 ? 'CLIENT' : 'SERVER',
        timestamp: now + s * 100,
        duration: 10_000 - s * 500,
        localEndpoint: { serviceName: `svc-${(t + s) % 20}`, ipv4: `10.0.${s}.1`, port: 8080 },
        ...(s % 2 ? { remoteEndpoint: { serviceName: `svc-${(t + s + 1) % 20}`, port: 8080 } } : {}),
        tags: { 'http.method': 'GET', 'http.path': `/api/v${s}/items`, 'http.status_code': '200' },
      });
      prev = id;
    }
  }
  bodies.push(JSON.stringify(spans));
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const stage = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
  const c0 = cpu();
  const t0 = performance.now();
  const r = await fn();
  process.stdout.write(
    `${name.padEnd(28)} ${(((cpu() - c0) * 1000) / N).toFixed(2).padStart(7)} µs CPU/span  ${(((performance.now() - t0) * 1000) / N).toFixed(2).padStart(7)} µs wall/span\n`,
  );
  return r;
};

const parsed = await stage('JSON.parse of the body', () => bodies.map((b) => JSON.parse(b) as unknown));
const decoded = await stage('Zipkin decode + validate', () => parsed.map((p) => decodeZipkinSpans(p).spans));
const encoded = await stage('bus encode', () => decoded.map((d) => encodeSpanRecord(d, 'binary')));
const back = await stage('bus decode (summaries)', () => encoded.map((e) => decodeSpansLight(e)));
const asm = createTraceAssembler({ clock: systemClock, keepLinkDeltas: true });
const deltas = await stage('assembler add + links', () =>
  back.map((spans) => {
    asm.add(spans);
    return asm.takeLinkDeltas();
  }),
);
/** Trace-by-id from DuckDB (an empty cache), one at a time: wall p50 / p99 of 2,000 random traces. */
async function lookups(store: EmbeddedSpanStore, batches: readonly TraceSpan[][]): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const spans = batches[Math.floor(Math.random() * batches.length)]!;
    const traceId = spans[Math.floor(Math.random() * spans.length)]!.traceId;
    const t0 = performance.now();
    const got = await store.getTrace(traceId);
    times.push(performance.now() - t0);
    if (got.length !== 10) throw new Error(`trace ${traceId}: ${got.length} spans`);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.floor(q * (times.length - 1))]!.toFixed(2);
  process.stdout.write(`${'trace by id (DuckDB)'.padEnd(28)} p50 ${at(0.5)} ms  p99 ${at(0.99)} ms\n`);
}

// The consumer's write: DuckDB parses the bus records itself (`records`); the appender path
// (span objects converted in JavaScript) is the fallback, measured for comparison.
for (const [name, withRecords] of [
  ['store write (DuckDB, records)', true],
  ['store write (appender)', false],
] as const) {
  const dir = await mkdtemp(join(tmpdir(), 'stages-'));
  const store = await createEmbeddedSpanStore({
    dataDir: dir,
    maintenanceIntervalMs: 0,
    cacheSpans: 0,
    recentBytes: 0,
  });
  await stage(name, async () => {
    // Records per transaction as the consumer takes them from a backlog: up to 8 MiB.
    for (let i = 0; i < back.length; ) {
      const from = i;
      for (
        let bytes = 0;
        i < back.length && (i === from || bytes + encoded[i]!.length <= MAX_BATCH_BYTES);
        i++
      )
        bytes += encoded[i]!.length;
      const checkpoint = { stream: 'spans/0', offset: i - 1 };
      if (withRecords) {
        const batch = {
          spans: back.slice(from, i).flat(),
          links: deltas.slice(from, i).flat(),
          summaries: true,
        };
        await store.writeRecords(encoded.slice(from, i), Promise.resolve(batch), checkpoint);
      } else await store.write(decoded.slice(from, i).flat(), checkpoint, deltas.slice(from, i).flat());
    }
  });
  if (withRecords) await lookups(store, back);
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
