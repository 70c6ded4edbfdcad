/**
 * The OpenSearch SpanStore and LogStore against a real OpenSearch 2.19 node on 127.0.0.1:9200
 * (`scripts/engines/opensearch.sh start`). Every run uses its own index prefix, so runs can
 * share one node; the indices and templates of the run are deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from '../../core/clock.ts';
import { silentLogger } from '../../core/logger.ts';
import type { LogRecord, Span } from '../../core/model.ts';
import { runSpanStoreContract } from '../../tracing/store/contract.ts';
import { dailyIndex } from '../../tracing/store/elastic/elastic-dsl.ts';
import type { RejectedItem } from '../../tracing/store/elastic/elastic-stores.ts';
import { createElasticsearchSpanStore } from '../../tracing/store/elastic/elasticsearch-store.ts';
import {
  createOpenSearchLogStore,
  createOpenSearchSpanStore,
  type OpenSearchStoreOptions,
} from '../../tracing/store/elastic/opensearch-store.ts';
import { engineSkip, OPENSEARCH } from '../engines.ts';

const NODE = OPENSEARCH;
const PREFIX = `obs-it-${randomBytes(4).toString('hex')}`;
const DAY_MS = 86_400_000;

const reason = await engineSkip('the OpenSearch store tests', ['opensearch']);
const skip = reason !== undefined;

async function rest(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${NODE}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok && res.status !== 404) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

const indicesOf = async (pattern: string) =>
  (
    (await rest('GET', `/_cat/indices/${pattern}?format=json&h=index&expand_wildcards=all`)) as {
      index: string;
    }[]
  )
    .map((r) => r.index)
    .sort();

function options(over: Partial<OpenSearchStoreOptions> = {}): OpenSearchStoreOptions {
  return {
    node: NODE,
    indexPrefix: PREFIX,
    refresh: 'wait_for',
    replicas: 0,
    logger: silentLogger,
    clock: systemClock,
    ...over,
  };
}

afterAll(async () => {
  if (skip) return;
  await rest('DELETE', `/${PREFIX}-*?expand_wildcards=all`);
  for (const p of [PREFIX, `${PREFIX}-r`, `${PREFIX}-es`]) {
    await rest('DELETE', `/_index_template/${p}-spans`);
    await rest('DELETE', `/_index_template/${p}-logs`);
  }
});

if (skip) {
  describe.skip(`OpenSearch stores (${reason})`, () => {
    it('needs a node', () => {});
  });
} else {
  // A prefix per case: the contract's unfiltered searches expect to see only the case's spans.
  let cases = 0;
  runSpanStoreContract(`OpenSearch 2.19 at ${NODE}`, async () => {
    const prefix = `${PREFIX}-c${++cases}`;
    let store = createOpenSearchSpanStore(options({ indexPrefix: prefix }));
    return {
      store,
      async reopen() {
        await store.close();
        store = createOpenSearchSpanStore(options({ indexPrefix: prefix }));
        return store;
      },
      async cleanup() {
        await store.close();
        await rest('DELETE', `/${prefix}-*?expand_wildcards=all`);
        await rest('DELETE', `/_index_template/${prefix}-spans`);
      },
    };
  });
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const US = Date.UTC(2026, 0, 1) * 1000;

function span(traceId: string, n: number, over: Partial<Span> = {}): Span {
  return {
    traceId,
    spanId: n.toString(16).padStart(16, '0'),
    name: 'get',
    kind: 'server',
    service: 'os-api',
    start: US + n,
    duration: 100,
    tags: { 'http.method': 'GET', http: 'yes' },
    annotations: [{ ts: US + n, value: 'sr' }],
    error: false,
    ...over,
  };
}

describe.skipIf(skip)('OpenSearch span store', () => {
  it('keeps the later version when a span is written again', async () => {
    const store = createOpenSearchSpanStore(options());
    const t = hex(16);
    await store.write([span(t, 1, { tags: { v: '1' } })]);
    await store.write([span(t, 1, { tags: { v: '2' } }), span(t, 2)]);
    const spans = await store.getTrace(t);
    expect(spans.map((s) => [s.spanId.slice(-1), s.tags])).toEqual([
      ['1', { v: '2' }],
      ['2', { 'http.method': 'GET', http: 'yes' }],
    ]);
    await store.close();
  });

  it('stores the good spans of a bulk and reports the one OpenSearch refuses, with its reason', async () => {
    const rejected: { item: RejectedItem; reason: string }[] = [];
    const store = createOpenSearchSpanStore(
      options({ onRejected: (item, why) => rejected.push({ item, reason: why }) }),
    );
    const t = hex(16);
    const bad = span(t, 2, { duration: 'slow' as unknown as number });
    await store.write([span(t, 1), bad, span(t, 3)]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.item).toEqual({ kind: 'span', item: bad });
    expect(rejected[0]!.reason).toMatch(/^400 mapper_parsing_exception: failed to parse field \[duration\]/);
    expect((await store.getTrace(t)).map((s) => s.spanId.slice(-1)).sort()).toEqual(['1', '3']);
    await store.close();
  });

  it('deletes daily indices past retention and keeps today', async () => {
    const prefix = `${PREFIX}-r`;
    const now = Date.now();
    const clock = new FakeClock(now);
    const store = createOpenSearchSpanStore(options({ indexPrefix: prefix, retentionDays: 30, clock }));
    const old = dailyIndex(prefix, 'spans', now - 40 * DAY_MS);
    const today = dailyIndex(prefix, 'spans', now);
    await store.write([span(hex(16), 1, { start: (now - 40 * DAY_MS) * 1000 })]);
    await store.write([span(hex(16), 1, { start: now * 1000 })]);
    await rest('PUT', `/${prefix}-spans-notadate`);
    expect(await indicesOf(`${prefix}-spans-*`)).toEqual([old, today, `${prefix}-spans-notadate`].sort());
    expect(await store.enforceRetention()).toEqual([old]);
    expect(await indicesOf(`${prefix}-spans-*`)).toEqual([today, `${prefix}-spans-notadate`].sort());
    await store.close();
  });
});

describe.skipIf(skip)('the Elasticsearch client on OpenSearch', () => {
  it('is refused by the client, which is why OpenSearch has its own adapter', async () => {
    const store = createElasticsearchSpanStore(options({ indexPrefix: `${PREFIX}-es` }));
    const err = await store.write([span(hex(16), 1)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UPSTREAM_FAILED' });
    // OpenSearch refuses the client's `compatible-with=9` body (406); bodiless answers lack the
    // `X-Elastic-Product` header the client insists on.
    expect((err as Error).message).toMatch(/compatible-with=9\] is not supported|not Elasticsearch/);
    await store.close();
  });
});

describe.skipIf(skip)('OpenSearch log store', () => {
  const MS = Date.UTC(2026, 0, 2);
  const source = `nginx-${hex(4)}`;
  const records: LogRecord[] = [
    { ts: MS + 1000, source, fields: { status: 200, path: '/login' } },
    { ts: MS + 2000, source, fields: { status: 502, path: '/api/orders' } },
    { ts: MS + 3000, source, fields: {}, raw: 'garbled upstream timed out line' },
    { ts: MS + 4000, source: `${source}-other`, fields: { path: '/api/orders' } },
  ];

  it('finds records by source, words and time, newest first', async () => {
    const store = createOpenSearchLogStore(options());
    await store.write(records);
    const range = { start: MS, end: MS + 10_000, limit: 10 };
    expect(await store.search({ ...range, source })).toEqual([records[2], records[1], records[0]]);
    expect(await store.search({ ...range, source, limit: 1 })).toEqual([records[2]]);
    expect(await store.search({ ...range, text: '/api/orders' })).toEqual([records[3], records[1]]);
    expect(await store.search({ ...range, source, text: 'timed out' })).toEqual([records[2]]);
    expect(await store.search({ ...range, source, text: 'timed login' })).toEqual([]);
    expect(await store.search({ ...range, source, start: MS + 1500, end: MS + 2500 })).toEqual([records[1]]);
    await store.close();
  });

  it('reports a log record OpenSearch refuses and stores the rest', async () => {
    const rejected: string[] = [];
    const store = createOpenSearchLogStore(options({ onRejected: (_item, why) => rejected.push(why) }));
    const src = `bad-${hex(4)}`;
    await store.write([
      { ts: MS, source: src, fields: { a: 1 } },
      { ts: MS + 1, source: { nested: true } as unknown as string, fields: {} },
    ]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatch(/^400 /);
    expect(await store.search({ start: MS, end: MS + 10, limit: 10, source: src })).toHaveLength(1);
    await store.close();
  });
});
