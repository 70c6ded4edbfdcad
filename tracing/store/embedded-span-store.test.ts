import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { tempDir } from '../../test/harness.ts';
import type { TraceSpan } from '../model.ts';
import { matchSpan, parseSearch, type SearchExpr, type SearchField } from '../query/search.ts';
import { runSpanStoreContract } from './contract.ts';
import {
  createEmbeddedSpanStore,
  type EmbeddedSpanStore,
  type EmbeddedSpanStoreOptions,
} from './embedded-span-store.ts';
import { fullSpan, span, T, US } from './span-fixtures.ts';

const NOW = Date.UTC(2026, 0, 1);

runSpanStoreContract('embedded DuckDB', async () => {
  const tmp = await tempDir('obs-spans-');
  const open = () => createEmbeddedSpanStore({ dataDir: tmp.dir, maintenanceIntervalMs: 0 });
  let store = await open();
  return {
    store,
    async reopen() {
      await store.close();
      store = await open();
      return store;
    },
    async cleanup() {
      await store.close();
      await tmp.cleanup();
    },
  };
});

// The same contract with a tiny cache and index, so reads go to DuckDB and full scans.
runSpanStoreContract('embedded DuckDB, no cache, index overflowing', async () => {
  const tmp = await tempDir('obs-spans-');
  const store = await createEmbeddedSpanStore({
    dataDir: tmp.dir,
    maintenanceIntervalMs: 0,
    cacheSpans: 0,
    maxIndexedTraces: 1,
  });
  return {
    store,
    async cleanup() {
      await store.close();
      await tmp.cleanup();
    },
  };
});

describe('embedded span store', () => {
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });

  async function open(
    over: Partial<EmbeddedSpanStoreOptions> = {},
  ): Promise<{ store: EmbeddedSpanStore; dir: string }> {
    const tmp = await tempDir('obs-spans-');
    const store = await createEmbeddedSpanStore({ dataDir: tmp.dir, maintenanceIntervalMs: 0, ...over });
    cleanups.push(async () => {
      await store.close().catch(() => undefined);
      await tmp.cleanup();
    });
    return { store, dir: tmp.dir };
  }

  it('keeps every Zipkin field through a write and a read from disk', async () => {
    const { store } = await open({ cacheSpans: 0 });
    const full: TraceSpan = fullSpan(1, 1, {
      tags: { 'sql.query': 'select "x"' },
      annotations: [{ ts: US + 5, value: 'ws' }],
    });
    await store.write([full]);
    expect(await store.getTrace(T(1))).toEqual([full]);
    expect(await store.spanNames('api')).toEqual(['get']);
    expect(await store.remoteServices('api')).toEqual(['db']);
  });

  it('merges the pieces of a span reported in parts', async () => {
    const { store } = await open();
    await store.write([span(1, 1, { duration: 0, tags: { a: '1' } })]);
    await store.write([span(1, 1, { tags: { b: '2' }, annotations: [{ ts: US, value: 'x' }] })]);
    expect(await store.getTrace(T(1))).toEqual([
      span(1, 1, { tags: { a: '1', b: '2' }, annotations: [{ ts: US, value: 'x' }] }),
    ]);
  });

  it('searches with the query language, limited to the given services', async () => {
    const { store } = await open();
    await store.write([
      span(1, 1, { service: 'push-gw', tags: { 'http.status_code': '500' } }),
      span(2, 2, { service: 'push-gw', tags: { 'http.status_code': '500' }, error: true }),
      span(3, 3, { service: 'mail', tags: { 'http.status_code': '500' } }),
      span(4, 4, { service: 'push-gw', duration: 500_000, annotations: [{ ts: US, value: 'retried' }] }),
    ]);
    const q = (text: string, services?: string[]) =>
      store.findTraces({
        expr: parseSearch(text),
        start: US,
        end: US + 1e9,
        limit: 10,
        ...(services ? { services } : {}),
      });
    expect(await q('http.status_code=500 AND service=push* AND NOT error')).toEqual([T(1)]);
    expect(await q('http.status_code=5* OR duration>=500ms')).toEqual([T(4), T(3), T(2), T(1)]);
    expect(await q('retried')).toEqual([T(4)]);
    expect(await q('error')).toEqual([T(2)]);
    expect(await q('http.status_code=500', ['mail'])).toEqual([T(3)]);
    expect(await q('http.status_code=500', [])).toEqual([]);
  });

  it('stores dependency-link deltas with the spans and sums them per time range', async () => {
    const { store } = await open();
    await store.write([span(1, 1)], { stream: 'spans/0', offset: 3 }, [
      { bucket: 60_000, parent: 'web', child: 'api', calls: 2, errors: 1 },
      { bucket: 120_000, parent: 'web', child: 'api', calls: 1, errors: 0 },
    ]);
    await store.write([], undefined, [
      { bucket: 120_000, parent: 'web', child: 'api', calls: -1, errors: 0 },
    ]);
    expect(await store.links(0, 200_000)).toEqual([
      { parent: 'web', child: 'api', callCount: 2, errorCount: 1 },
    ]);
    expect(await store.links(100_000, 200_000)).toEqual([]);
    expect(await store.checkpoint('spans/0')).toBe(3);
  });

  it('reads a trace whole when its spans are far apart in the file, before and after a restart', async () => {
    const tmp = await tempDir('obs-spans-');
    cleanups.push(() => tmp.cleanup());
    const options = { dataDir: tmp.dir, maintenanceIntervalMs: 0, cacheSpans: 0 };
    let store = await createEmbeddedSpanStore(options);
    // More rows between a trace's spans than `RANGE_GAP`: they are read as two ranges.
    const between = Array.from({ length: 300_000 }, (_, i) => span(100 + Math.floor(i / 10), i));
    const early = [span(1, 1), span(1, 2)];
    const late = [span(1, 3, { start: US + 60_000_000 })];
    await store.write(early);
    await store.write(between);
    await store.write(late);
    const whole = [...early, ...late];
    expect(await store.getTrace(T(1))).toEqual(whole);
    await store.close();
    store = await createEmbeddedSpanStore(options);
    cleanups.push(() => store.close());
    expect(await store.getTrace(T(1))).toEqual(whole);
    expect(await store.getTrace(T(100 + 29_999))).toHaveLength(10);
  });

  it('deletes spans past retention', async () => {
    const clock = new FakeClock(NOW);
    const { store } = await open({ clock, retentionMs: 3_600_000 });
    await store.write([span(1, 1, { start: US - 7_200_000_000 }), span(2, 1)]);
    await store.maintain();
    expect(await store.getTrace(T(1))).toEqual([]);
    expect(await store.getTrace(T(2))).toHaveLength(1);
  });

  it('filters in SQL exactly as matchSpan does in memory', async () => {
    const { store } = await open();
    const services = ['push-gw', 'push', 'mail', 'a%b', 'x_y'];
    const values = ['500', '200', 'eu/west', 'a~b', "it's", ''];
    const spans: TraceSpan[] = [];
    for (let i = 0; i < 40; i++)
      spans.push(
        span(i + 1, i + 1, {
          service: services[i % services.length]!,
          name: i % 3 === 0 ? 'GET /x' : 'put',
          kind: i % 4 === 0 ? 'client' : 'server',
          duration: i * 10_000,
          error: i % 5 === 0,
          ...(i % 6 === 0 ? { remoteService: 'db' } : {}),
          tags:
            i % 2 === 0
              ? { code: values[i % values.length]!, 'a/b': 'v' }
              : { 'x~y': values[(i + 1) % values.length]! },
          annotations: i % 7 === 0 ? [{ ts: US, value: 'retried' }] : [],
        }),
      );
    await store.write(spans);
    const field: fc.Arbitrary<SearchField> = fc.constantFrom<SearchField>(
      'service',
      'name',
      'kind',
      'remoteService',
      { tag: 'code' },
      { tag: 'a/b' },
      { tag: 'x~y' },
    );
    const pattern = fc.constantFrom(
      ...services,
      ...values,
      'push*',
      '*w*',
      'GET /x',
      'server',
      'db',
      '*',
      'v',
      "it'*",
    );
    const leaf: fc.Arbitrary<SearchExpr> = fc.oneof(
      fc.constant<SearchExpr>({ op: 'error' }),
      fc.record({ op: fc.constant('match' as const), field, negate: fc.boolean(), value: pattern }),
      fc.record({ op: fc.constant('has' as const), word: fc.constantFrom('code', 'retried', 'a/b', 'nope') }),
      fc.record({
        op: fc.constant('duration' as const),
        cmp: fc.constantFrom('>', '>=', '<', '<=', '=', '!=' as const),
        us: fc.integer({ min: 0, max: 400_000 }).map((n) => n - (n % 10_000)),
      }),
    );
    const { expr } = fc.letrec<{ expr: SearchExpr }>((tie) => ({
      expr: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.record({
          op: fc.constantFrom('and' as const, 'or' as const),
          items: fc.array(tie('expr'), { minLength: 1, maxLength: 3 }),
        }),
        fc.record({ op: fc.constant('not' as const), expr: tie('expr') }),
      ),
    }));
    await fc.assert(
      fc.asyncProperty(expr, async (e) => {
        const sql = await store.findTraces({ expr: e, start: 0, end: US * 2, limit: 1000 });
        const js = spans.filter((s) => matchSpan(e, s)).map((s) => s.traceId);
        expect([...sql].sort()).toEqual(js.sort());
      }),
      { seed: 99, numRuns: 150 },
    );
  });
});
