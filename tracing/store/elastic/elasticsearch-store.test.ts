import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import { silentLogger } from '../../../core/logger.ts';
import type { LogRecord, Span } from '../../../core/model.ts';
import { eventually } from '../../../test/harness.ts';
import { runSpanStoreContract } from '../contract.ts';
import { dailyIndex } from './elastic-dsl.ts';
import type { RejectedItem } from './elastic-stores.ts';
import {
  type ElasticsearchContractServer,
  startElasticsearchContractServer,
} from './elasticsearch-contract-server.ts';
import {
  createElasticsearchLogStore,
  createElasticsearchSpanStore,
  type ElasticsearchStoreOptions,
} from './elasticsearch-store.ts';

const options = (node: string, over: Partial<ElasticsearchStoreOptions> = {}): ElasticsearchStoreOptions => ({
  node,
  indexPrefix: 'obs',
  refresh: 'wait_for',
  logger: silentLogger,
  clock: systemClock,
  retryBaseMs: 1,
  ...over,
});

runSpanStoreContract('Elasticsearch client against elasticsearch-contract-server', async () => {
  const server = await startElasticsearchContractServer();
  let store = createElasticsearchSpanStore(options(server.url));
  return {
    store,
    async reopen() {
      await store.close();
      store = createElasticsearchSpanStore(options(server.url));
      return store;
    },
    async cleanup() {
      await store.close();
      await server.close();
    },
  };
});

const US = Date.UTC(2026, 0, 1) * 1000;
const hex = (n: number) => randomBytes(n).toString('hex');

function span(traceId: string, n: number, over: Partial<Span> = {}): Span {
  return {
    traceId,
    spanId: n.toString(16).padStart(16, '0'),
    name: 'get',
    kind: 'server',
    service: 'es-api',
    start: US + n,
    duration: 100,
    tags: { 'http.method': 'GET' },
    annotations: [],
    error: false,
    ...over,
  };
}

describe('Elasticsearch span and log stores', () => {
  let server: ElasticsearchContractServer;
  const closers: (() => Promise<void>)[] = [];
  const open = async () => {
    server = await startElasticsearchContractServer();
    closers.push(() => server.close());
  };
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('puts its index template and writes idempotent NDJSON bulks to daily indices', async () => {
    await open();
    const store = createElasticsearchSpanStore(options(server.url));
    const t = hex(16);
    await store.write([span(t, 1)]);
    await store.write([span(t, 1, { duration: 200 })]);
    expect(await store.getTrace(t)).toEqual([span(t, 1, { duration: 200 })]);
    await store.close();

    const template = server.requests.find((r) => r.path.startsWith('/_index_template/'))!;
    expect(template.method).toBe('PUT');
    expect(template.path).toBe('/_index_template/obs-spans');
    expect(JSON.parse(template.body)).toMatchObject({ index_patterns: ['obs-spans-*'] });
    const bulk = server.requests.find((r) => r.path.startsWith('/_bulk'))!;
    expect(bulk.path).toBe('/_bulk?refresh=wait_for');
    expect(bulk.contentType).toBe('application/vnd.elasticsearch+x-ndjson; compatible-with=9');
    const [action, doc] = bulk.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(action).toEqual({
      index: { _index: 'obs-spans-2026.01.01', _id: `${t}-0000000000000001-server` },
    });
    expect(doc).toMatchObject({ traceId: t, tagPairs: ['http.method=GET'], timestamp: Date.UTC(2026, 0, 1) });
  });

  it('reports the document Elasticsearch refuses with its reason and keeps the others', async () => {
    await open();
    const rejected: { item: RejectedItem; reason: string }[] = [];
    const store = createElasticsearchSpanStore(
      options(server.url, { onRejected: (item, reason) => rejected.push({ item, reason }) }),
    );
    const t = hex(16);
    const bad = span(t, 2, { duration: 'slow' as unknown as number });
    await store.write([span(t, 1), bad, span(t, 3)]);
    expect(rejected).toEqual([
      {
        item: { kind: 'span', item: bad },
        reason: expect.stringMatching(
          /^400 document_parsing_exception: .*failed to parse field \[duration\] of type \[long\]/,
        ),
      },
    ]);
    expect((await store.getTrace(t)).map((s) => s.spanId.slice(-1))).toEqual(['1', '3']);
    await store.close();
  });

  it('sends again only the items answered 429, until they are stored', async () => {
    await open();
    const store = createElasticsearchSpanStore(options(server.url));
    const t = hex(16);
    server.rejectNextItems(2);
    await store.write([span(t, 1), span(t, 2), span(t, 3)]);
    const bulks = server.requests.filter((r) => r.path.startsWith('/_bulk'));
    expect(bulks.map((b) => b.body.trimEnd().split('\n').length / 2)).toEqual([3, 2]);
    expect(await store.getTrace(t)).toHaveLength(3);
    await store.close();
  });

  it('fails with a retryable error when items stay rejected, after storing the rest', async () => {
    await open();
    const store = createElasticsearchSpanStore(options(server.url, { maxRetries: 2 }));
    const t = hex(16);
    // Both items are refused on the first two tries, the first also on the third (last) one.
    server.rejectNextItems(5);
    const err = await store.write([span(t, 1), span(t, 2)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', canRetry: true });
    expect((err as Error).message).toMatch(/1 documents not stored after 2 retries/);
    expect((await store.getTrace(t)).map((s) => s.spanId.slice(-1))).toEqual(['2']);
    await store.close();
  });

  it('deletes the daily indices past retention and keeps the others', async () => {
    await open();
    const now = Date.UTC(2026, 5, 15, 12);
    const store = createElasticsearchSpanStore(
      options(server.url, { retentionDays: 30, clock: new FakeClock(now) }),
    );
    await store.write([span(hex(16), 1, { start: now * 1000 })]);
    const old = dailyIndex('obs', 'spans', now - 40 * 86_400_000);
    const edge = dailyIndex('obs', 'spans', now - 30 * 86_400_000);
    for (const name of [old, edge, 'obs-logs-2020.01.01'])
      await fetch(`${server.url}/${name}`, { method: 'PUT' });
    expect(await store.enforceRetention()).toEqual([old]);
    expect([...server.indices.keys()].sort()).toEqual(
      ['obs-logs-2020.01.01', edge, 'obs-spans-2026.06.15'].sort(),
    );
    await store.close();
  });

  it('drops old daily log indices every hour by itself', async () => {
    await open();
    const now = Date.UTC(2026, 5, 15, 12);
    const clock = new FakeClock(now);
    const store = createElasticsearchLogStore(options(server.url, { retentionDays: 7, clock }));
    await store.write([{ ts: now, source: 'a', fields: {} }]);
    await fetch(`${server.url}/obs-logs-2026.06.01`, { method: 'PUT' });
    clock.advance(3_600_000);
    await eventually(async () => expect([...server.indices.keys()]).toEqual(['obs-logs-2026.06.15']));
    await store.close();
  });

  it('finds log records by source, words and time, newest first', async () => {
    await open();
    const store = createElasticsearchLogStore(options(server.url));
    const MS = Date.UTC(2026, 0, 2);
    const records: LogRecord[] = [
      { ts: MS + 1, source: 'nginx', fields: { status: 200, path: '/login' } },
      { ts: MS + 2, source: 'nginx', fields: {}, raw: 'upstream timed out' },
      { ts: MS + 3, source: 'app', fields: { msg: 'login failed' } },
    ];
    await store.write(records);
    const range = { start: MS, end: MS + 10, limit: 10 };
    expect(await store.search({ ...range, source: 'nginx' })).toEqual([records[1], records[0]]);
    expect(await store.search({ ...range, text: 'login' })).toEqual([records[2], records[0]]);
    expect(await store.search({ ...range, text: 'timed out', end: MS + 1 })).toEqual([]);
    expect(server.indices.has('obs-logs-2026.01.02')).toBe(true);
    await store.close();
  });

  it('refuses a server that does not say it is Elasticsearch (as OpenSearch does not)', async () => {
    const plain = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"acknowledged":true,"errors":false,"items":[]}');
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => plain.close(() => r())));
    const store = createElasticsearchSpanStore(
      options(`http://127.0.0.1:${(plain.address() as AddressInfo).port}`),
    );
    const err = await store.write([span(hex(16), 1)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UPSTREAM_FAILED' });
    expect((err as Error).message).toMatch(/not Elasticsearch|unknown product/i);
    await store.close();
  });
});
