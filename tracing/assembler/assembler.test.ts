import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { MetricPoint } from '../../core/model.ts';
import type { TraceSpan } from '../model.ts';
import { assembleTrace, traceRows } from './assemble.ts';
import { createTraceAssembler } from './assembler.ts';
import { addCounts, type LinkCounts, toDependencyLinks } from './links.ts';

const BASE = 1_767_225_600_000_000;
const NOW = Date.UTC(2026, 0, 1);
const SERVICES = ['web', 'api', 'db', 'queue'];
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
const KINDS = ['client', 'server', 'producer', 'consumer', 'local'] as const;

const hexId = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** One trace's spans, with realistic shapes: parents within the trace (or missing), shared ids. */
const traceArb = (traceNo: number): fc.Arbitrary<TraceSpan[]> =>
  fc
    .array(
      fc.record({
        id: fc.integer({ min: 1, max: 12 }),
        parent: fc.option(fc.integer({ min: 1, max: 14 }), { nil: undefined }),
        kind: fc.constantFrom(...KINDS),
        service: fc.constantFrom(...SERVICES),
        remote: fc.option(fc.constantFrom(...SERVICES), { nil: undefined }),
        ip: fc.option(fc.constantFrom(...IPS), { nil: undefined }),
        start: fc.integer({ min: 0, max: 5000 }),
        duration: fc.integer({ min: 0, max: 3000 }),
        error: fc.boolean(),
        tag: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 12 },
    )
    .map((rows) =>
      rows.map((r): TraceSpan => {
        const s: TraceSpan = {
          traceId: hexId(traceNo + 1, 32),
          spanId: hexId(r.id, 16),
          name: `op-${r.id}`,
          kind: r.kind,
          service: r.service,
          start: r.start === 0 ? 0 : BASE + r.start,
          duration: r.duration,
          tags: r.tag ? { [r.tag]: String(r.id) } : {},
          annotations: r.tag ? [{ ts: BASE + r.start, value: r.tag }] : [],
          error: r.error,
        };
        if (r.parent !== undefined && r.parent !== r.id) s.parentId = hexId(r.parent, 16);
        if (r.remote) s.remoteService = r.remote;
        if (r.ip) s.localIp = r.ip;
        return s;
      }),
    );

/** Deliveries: every span at least once, some twice, in any order, with pauses between batches. */
const scenario = fc
  .array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 4 })
  .chain((seeds) => fc.tuple(...seeds.map((_, i) => traceArb(i))))
  .chain((traces) => {
    const all = traces.flat();
    return fc.record({
      traces: fc.constant(traces),
      order: fc.shuffledSubarray([...all, ...all], { minLength: all.length * 2, maxLength: all.length * 2 }),
      dupKeep: fc.array(fc.boolean(), { minLength: all.length * 2, maxLength: all.length * 2 }),
      batch: fc.integer({ min: 1, max: 5 }),
      pauses: fc.array(fc.integer({ min: 0, max: 45_000 }), { minLength: 1, maxLength: 40 }),
    });
  });

function view(spans: TraceSpan[]) {
  const a = assembleTrace(spans);
  return {
    spans: a.spans,
    rows: traceRows(a).map((r) => [
      r.spanId,
      r.kind,
      r.depth,
      r.adjustedStart,
      r.skew ?? 0,
      r.placeholder ?? false,
    ]),
    links: toDependencyLinks(a.links),
  };
}

describe('trace assembler', () => {
  it('gives the same traces and links for any order, duplication and lateness of the same spans', () => {
    fc.assert(
      fc.property(scenario, ({ traces, order, dupKeep, batch, pauses }) => {
        const clock = new FakeClock(NOW);
        const asm = createTraceAssembler({ clock, idleMs: 30_000, retainMs: 3_600_000, sweepMs: 1000 });
        asm.start();
        // Every span once (its first occurrence in `order`), duplicates where dupKeep says so.
        const seen = new Set<TraceSpan>();
        const feed = order.filter((s, i) => {
          if (!seen.has(s)) {
            seen.add(s);
            return true;
          }
          return dupKeep[i]!;
        });
        for (let i = 0, p = 0; i < feed.length; i += batch, p++) {
          asm.add(feed.slice(i, i + batch));
          clock.advance(pauses[p % pauses.length]!);
        }
        const total: LinkCounts = new Map();
        for (const t of traces) {
          const got = asm.get(t[0]!.traceId)!;
          const want = view(t);
          expect({
            spans: got.spans,
            rows: traceRows(got).map((r) => [
              r.spanId,
              r.kind,
              r.depth,
              r.adjustedStart,
              r.skew ?? 0,
              r.placeholder ?? false,
            ]),
            links: toDependencyLinks(got.links),
          }).toEqual(want);
          addCounts(total, assembleTrace(t).links, 1);
        }
        expect(asm.dependencies(0, Number.MAX_SAFE_INTEGER)).toEqual(toDependencyLinks(total));
      }),
      { seed: 424242, numRuns: 150 },
    );
  });

  it('marks a trace complete after the idle timeout and still merges late spans', () => {
    const clock = new FakeClock(NOW);
    const completed: string[] = [];
    const asm = createTraceAssembler({
      clock,
      idleMs: 10_000,
      retainMs: 60_000,
      onComplete: (t) => completed.push(t.traceId),
    });
    asm.start();
    const T = 'c'.repeat(32);
    const s = (n: number, over: Partial<TraceSpan> = {}): TraceSpan => ({
      traceId: T,
      spanId: hexId(n, 16),
      name: 'x',
      kind: 'server',
      service: 'api',
      start: BASE + n,
      duration: 5,
      tags: {},
      annotations: [],
      error: false,
      ...over,
    });
    asm.add([s(1)]);
    clock.advance(9_000);
    expect(asm.status(T)?.complete).toBe(false);
    clock.advance(2_000);
    expect(asm.status(T)?.complete).toBe(true);
    expect(completed).toEqual([T]);
    asm.add([s(2, { parentId: hexId(1, 16) }), s(1)]);
    expect(asm.get(T)).toMatchObject({ complete: true, lateSpans: 1 });
    expect(asm.get(T)!.spans).toHaveLength(2);
    clock.advance(80_000);
    expect(asm.status(T)).toBeUndefined();
    expect(completed).toEqual([T]);
  });

  it('bounds memory: the least recently active traces go first', () => {
    const clock = new FakeClock(NOW);
    const asm = createTraceAssembler({ clock, maxSpans: 10 });
    for (let t = 1; t <= 5; t++)
      asm.add(
        [1, 2, 3].map((n) => ({
          traceId: hexId(t, 32),
          spanId: hexId(n, 16),
          name: 'x',
          kind: 'local' as const,
          service: 's',
          start: BASE,
          duration: 1,
          tags: {},
          annotations: [],
          error: false,
        })),
      );
    expect(asm.stats().spans).toBeLessThanOrEqual(10);
    expect(asm.status(hexId(1, 32))).toBeUndefined();
    expect(asm.status(hexId(5, 32))).toBeDefined();
  });

  it('flushes RED metrics per service and operation each interval, counting a span once', async () => {
    const clock = new FakeClock(NOW);
    const batches: MetricPoint[][] = [];
    const asm = createTraceAssembler({
      clock,
      redIntervalMs: 10_000,
      projectOfService: (s) => (s === 'api' ? 'shop' : undefined),
      onMetrics: (p) => {
        batches.push(p);
      },
    });
    asm.start();
    const span = (n: number, over: Partial<TraceSpan>): TraceSpan => ({
      traceId: 'd'.repeat(32),
      spanId: hexId(n, 16),
      name: 'GET /items',
      kind: 'server',
      service: 'api',
      start: BASE,
      duration: n * 1000,
      tags: {},
      annotations: [],
      error: false,
      ...over,
    });
    const spans = [1, 2, 3, 4].map((n) => span(n, { error: n === 4 }));
    asm.add([
      ...spans,
      spans[0]!,
      span(9, { kind: 'client' }),
      span(8, { kind: 'local', parentId: hexId(1, 16) }),
    ]);
    clock.advance(10_000);
    await Promise.resolve();
    expect(batches).toHaveLength(1);
    const byMetric = Object.fromEntries(batches[0]!.map((p) => [p.metric, p]));
    expect(byMetric['trace.requests']).toMatchObject({
      value: 4,
      ts: NOW + 10_000,
      tags: { service: 'api', operation: 'GET_/items', project: 'shop' },
    });
    expect(byMetric['trace.errors']!.value).toBe(1);
    expect(byMetric['trace.duration.p50']!.value).toBeCloseTo(2, 1);
    // DDSketch takes the value at rank q·(n−1): of 1, 2, 3, 4 ms that is 3 ms for p99.
    expect(byMetric['trace.duration.p99']!.value).toBeCloseTo(3, 1);
    clock.advance(10_000);
    expect(batches).toHaveLength(1);
    await asm.stop();
  });

  it('hands out link changes once, and takes back the ones whose write failed', () => {
    const clock = new FakeClock(NOW);
    const asm = createTraceAssembler({ clock, keepLinkDeltas: true });
    const mk = (kind: 'client' | 'server', service: string): TraceSpan => ({
      traceId: 'e'.repeat(32),
      spanId: hexId(kind === 'client' ? 1 : 2, 16),
      ...(kind === 'server' ? { parentId: hexId(1, 16) } : {}),
      name: 'x',
      kind,
      service,
      start: BASE,
      duration: 5,
      tags: {},
      annotations: [],
      error: false,
    });
    asm.add([mk('server', 'api')]);
    expect(asm.takeLinkDeltas()).toEqual([]);
    asm.add([mk('client', 'web')]);
    const deltas = asm.takeLinkDeltas();
    expect(deltas).toEqual([
      { bucket: Math.floor(BASE / 1000 / 60_000) * 60_000, parent: 'web', child: 'api', calls: 1, errors: 0 },
    ]);
    expect(asm.takeLinkDeltas()).toEqual([]);
    asm.returnLinkDeltas(deltas);
    expect(asm.takeLinkDeltas()).toEqual(deltas);
  });
});
