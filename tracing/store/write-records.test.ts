/**
 * `writeRecords`: DuckDB parses the bus records itself. What it stores must be what the appender
 * stores from the span objects, field for field, and a record it cannot take falls back to them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/harness.ts';
import { decodeSpansLight, encodeSpanRecord, encodeSpans } from '../codec/spans-codec.ts';
import type { TraceSpan } from '../model.ts';
import { createEmbeddedSpanStore, type EmbeddedSpanStore } from './embedded-span-store.ts';
import { fullSpan, S, span, T, US } from './span-fixtures.ts';

const text = (spans: readonly TraceSpan[]) => Buffer.from(encodeSpans(spans)).toString('utf8');

/** Spans that exercise every column, escapes and the extremes of the numbers. */
const VARIED: TraceSpan[] = [
  fullSpan(1, 1, {
    tags: { 'sql.query': 'select "x" from \\t', ü: 'ü 😀 \u2028 \n' },
    annotations: [
      { ts: US + 5, value: 'ws' },
      { ts: US + 7, value: 'wr "quoted"' },
    ],
  }),
  span(1, 2, { kind: 'local', start: 0, duration: 0, name: '' }),
  span(1, 3, { kind: 'producer', start: Number.MAX_SAFE_INTEGER, name: 'send\u0000\u001f' }),
  span(2, 1, { kind: 'consumer', service: 'wörker', tags: { error: '' }, error: true }),
];

describe('embedded span store, writes from bus records', () => {
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });

  async function open(recentBytes = 0, cacheSpans = 0): Promise<EmbeddedSpanStore> {
    const tmp = await tempDir('obs-spans-');
    // No caches (by default): reads come back from DuckDB.
    const store = await createEmbeddedSpanStore({
      dataDir: tmp.dir,
      maintenanceIntervalMs: 0,
      cacheSpans,
      recentBytes,
    });
    cleanups.push(async () => {
      await store.close().catch(() => undefined);
      await tmp.cleanup();
    });
    return store;
  }

  async function readBack(store: EmbeddedSpanStore): Promise<TraceSpan[]> {
    return [...(await store.getTrace(T(1))), ...(await store.getTrace(T(2)))];
  }

  it('stores every field as the appender does, with the links and checkpoint of the batch', async () => {
    const fromRecords = await open();
    const fromObjects = await open();
    const links = [{ bucket: 60_000, parent: 'web', child: 'api', calls: 2, errors: 1 }];
    // Two records, and the batch still being worked out when the write starts.
    let finish: (() => void) | undefined;
    const batch = new Promise<{ spans: TraceSpan[]; links: typeof links }>((resolve) => {
      finish = () => resolve({ spans: VARIED, links });
    });
    const writing = fromRecords.writeRecords([text(VARIED.slice(0, 2)), text(VARIED.slice(2))], batch, {
      stream: 'spans/0',
      offset: 7,
    });
    finish!();
    expect((await writing).spans).toBe(VARIED);
    await fromObjects.write(VARIED, { stream: 'spans/0', offset: 7 }, links);

    expect(await readBack(fromRecords)).toEqual(await readBack(fromObjects));
    expect(await fromRecords.getTrace(T(1))).toEqual(
      [...VARIED.slice(0, 3)].sort((a, b) => (a.spanId < b.spanId ? -1 : 1)),
    );
    expect(await fromRecords.checkpoint('spans/0')).toBe(7);
    expect(await fromRecords.links(0, 120_000)).toEqual([
      { parent: 'web', child: 'api', callCount: 2, errorCount: 1 },
    ]);
    expect(await fromRecords.findTraces({ start: 0, end: Number.MAX_SAFE_INTEGER, limit: 10 })).toHaveLength(
      2,
    );
  });

  it('stores the rows DuckDB read from the records, not the span objects', async () => {
    const store = await open();
    // Objects that differ from the records in their names only show which of the two was stored.
    const renamed = VARIED.map((s) => ({ ...s, name: `${s.name}-object` }));
    await store.writeRecords([text(VARIED)], Promise.resolve({ spans: renamed }), {
      stream: 'spans/0',
      offset: 1,
    });
    expect((await readBack(store)).map((s) => s.name).sort()).toEqual(VARIED.map((s) => s.name).sort());
  });

  it('takes writes of any size one after another, from the records', async () => {
    const store = await open();
    const many = Array.from({ length: 3000 }, (_, i) =>
      span(3 + (i % 5), i + 1, { name: `op ü ${'x'.repeat(i % 200)}` }),
    );
    let offset = 0;
    // Small, large (past the bytes joined so far), small again; two records a write.
    for (const spans of [VARIED.slice(0, 2), many, VARIED.slice(2)]) {
      const half = Math.ceil(spans.length / 2);
      const records = [spans.slice(0, half), spans.slice(half)].map((p) => encodeSpanRecord(p, 'binary'));
      // Objects named otherwise: a fall back to them would show in the names read back.
      const objects = spans.map((s) => ({ ...s, name: `${s.name}-object` }));
      await store.writeRecords(records, Promise.resolve({ spans: objects }), {
        stream: 's/0',
        offset: ++offset,
      });
    }
    expect(await readBack(store)).toEqual(await readBack(await withObjects()));
    const trace3 = await store.getTrace(T(3));
    expect(trace3).toHaveLength(600);
    expect(trace3.map((s) => s.name).sort()).toEqual(
      many
        .filter((s) => s.traceId === T(3))
        .map((s) => s.name)
        .sort(),
    );
  });

  it('falls back to the span objects when the records do not hold them', async () => {
    const store = await open();
    // A record that is not JSON, and one that holds other spans than the batch.
    await store.writeRecords(['not json'], Promise.resolve({ spans: [VARIED[0]!] }), {
      stream: 'spans/0',
      offset: 1,
    });
    await store.writeRecords([text([span(9, 9)])], Promise.resolve({ spans: VARIED.slice(1) }), {
      stream: 'spans/0',
      offset: 2,
    });
    expect(await readBack(store)).toEqual(await readBack(await withObjects()));
    expect(await store.getTrace(T(9))).toEqual([]);
    expect(await store.checkpoint('spans/0')).toBe(2);
  });

  it('reads recent traces from the records it kept, as DuckDB returns them', async () => {
    const fromDisk = await open();
    const recent = await open(1024 * 1024);
    const late = span(1, 4, { parentId: S(1), name: 'late' });
    for (const store of [fromDisk, recent]) {
      await store.writeRecords(
        [text(VARIED.slice(0, 2)), text(VARIED.slice(2))],
        Promise.resolve({ spans: VARIED }),
        {
          stream: 'spans/0',
          offset: 1,
        },
      );
      // A late span of trace 1 in a later batch joins it.
      await store.writeRecords([text([late])], Promise.resolve({ spans: [late] }), {
        stream: 'spans/0',
        offset: 2,
      });
    }
    expect(recent.cacheStats()).toMatchObject({ recentTraces: 2, cachedSpans: 0 });
    expect(fromDisk.cacheStats()).toMatchObject({ recentTraces: 0, recentBytes: 0 });
    expect(await recent.getTrace(T(1))).toHaveLength(4);
    expect(await readBack(recent)).toEqual(await readBack(fromDisk));
    expect(await recent.getTrace(T(3))).toEqual([]);
  });

  it('reads a trace from DuckDB once the records holding part of it made room for newer ones', async () => {
    // Room for about one record: the second write pushes out the first.
    const record = text(VARIED.slice(0, 3));
    const store = await open(Buffer.byteLength(record) + 10);
    await store.writeRecords([record], Promise.resolve({ spans: VARIED.slice(0, 3) }), {
      stream: 's/0',
      offset: 1,
    });
    const others = [span(5, 1), span(5, 2)];
    await store.writeRecords([text(others)], Promise.resolve({ spans: others }), {
      stream: 's/0',
      offset: 2,
    });
    // Trace 1 now comes from DuckDB, whole; a span of it arriving late is not cached on its own.
    const late = span(1, 4, { parentId: S(1) });
    await store.writeRecords([text([late])], Promise.resolve({ spans: [late] }), {
      stream: 's/0',
      offset: 3,
    });
    expect((await store.getTrace(T(1))).map((s) => s.spanId).sort()).toEqual([S(1), S(2), S(3), S(4)].sort());
    expect(await store.getTrace(T(5))).toHaveLength(2);
  });

  it('stores every field of version-2 records written with a batch of summaries only', async () => {
    const fromDisk = await open();
    const recent = await open(1024 * 1024);
    const objects = await open(0, 1000);
    const late = fullSpan(1, 4, { tags: { late: 'yes' }, annotations: [{ ts: US, value: 'ws' }] });
    const v2 = (spans: readonly TraceSpan[]) => encodeSpanRecord(spans, 'binary');
    const summaries = (records: readonly Uint8Array[]) =>
      Promise.resolve({ spans: records.flatMap((r) => decodeSpansLight(r)), summaries: true });
    for (const store of [fromDisk, recent, objects]) {
      const records = [v2(VARIED.slice(0, 2)), v2(VARIED.slice(2))];
      await store.writeRecords(records, summaries(records), { stream: 'spans/0', offset: 1 });
      // Trace 1 is read once (the object cache keeps it), then a late span of it comes as a summary.
      await store.getTrace(T(1));
      await store.writeRecords([v2([late])], summaries([v2([late])]), { stream: 'spans/0', offset: 2 });
    }
    const whole = await readBack(await withObjects([...VARIED, late]));
    expect(whole.find((s) => s.spanId === S(4))?.tags).toEqual({ late: 'yes' });
    expect(recent.cacheStats().recentTraces).toBe(2);
    for (const store of [fromDisk, recent, objects]) expect(await readBack(store)).toEqual(whole);
  });

  async function withObjects(spans = VARIED): Promise<EmbeddedSpanStore> {
    const store = await open();
    await store.write(spans);
    return store;
  }
});
