import { describe, expect, it } from 'vitest';
import type { TraceSpan } from '../../model.ts';
import {
  backoffMs,
  bucketKeys,
  bulkBody,
  bulkOutcome,
  dailyIndex,
  docToLog,
  docToSpan,
  expiredIndices,
  indexDay,
  logBulkItems,
  logMessage,
  logSearchBody,
  searchIndices,
  spanBulkItems,
  spanSearchBody,
  spanToDoc,
} from './elastic-dsl.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 31, 23, 59, 59, 999);

const SPAN: TraceSpan = {
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
  name: 'get /',
  kind: 'client',
  service: 'web',
  start: T0 * 1000 + 999,
  duration: 5,
  tags: { 'http.method': 'GET', http: 'x=y' },
  annotations: [{ ts: 1, value: 'cs' }],
  error: false,
  remoteService: 'db',
};

describe('daily indices', () => {
  it.each([
    ['spans', T0, 'obs-spans-2026.01.31'],
    ['logs', T0 + 1, 'obs-logs-2026.02.01'],
    ['spans', Date.UTC(1999, 11, 5), 'obs-spans-1999.12.05'],
  ] as const)('%s at %d is %s', (kind, ms, name) => {
    expect(dailyIndex('obs', kind, ms)).toBe(name);
    expect(indexDay('obs', name)).toBe(Math.floor(ms / DAY) * DAY);
  });

  it.each([
    ['obs-spans-2026.1.31'],
    ['obs-spans-2026.02.30'],
    ['obs-traces-2026.01.01'],
    ['other-spans-2026.01.01'],
    ['obs-spans-2026.01.01-restored'],
  ])('%s is not one of ours', (name) => {
    expect(indexDay('obs', name)).toBeUndefined();
  });

  it('expires whole days past retention only, and only our indices', () => {
    const now = Date.UTC(2026, 5, 15, 12);
    const names = [
      'obs-spans-2026.05.15', // ends 05-16 00:00, cutoff 05-16 12:00: expired
      'obs-logs-2026.05.16', // ends 05-17 00:00, after the cutoff: kept
      'obs-spans-2026.06.15',
      'obs-spans-2020.01.01',
      'obs-spans-junk',
      'someone-else-2020.01.01',
    ];
    expect(expiredIndices('obs', names, 30, now)).toEqual(['obs-spans-2020.01.01', 'obs-spans-2026.05.15']);
    expect(expiredIndices('obs', names, 0, now)).toEqual([
      'obs-logs-2026.05.16',
      'obs-spans-2020.01.01',
      'obs-spans-2026.05.15',
    ]);
  });
});

describe('indices of a search', () => {
  const D = Date.UTC(2026, 0, 30);
  it.each([
    ['one day', D + 5, D + 6, 'obs-spans-2026.01.30'],
    [
      'across midnight and a month',
      D,
      D + 2 * DAY,
      'obs-spans-2026.01.30,obs-spans-2026.01.31,obs-spans-2026.02.01',
    ],
    [
      'fourteen days',
      D,
      D + 13 * DAY,
      expect.stringMatching(/^(obs-spans-[\d.]+,){13}obs-spans-2026\.02\.12$/),
    ],
    ['fifteen days', D, D + 14 * DAY, 'obs-spans-*'],
    ['an open end', D, Number.POSITIVE_INFINITY, 'obs-spans-*'],
    ['an empty range', D + DAY, D, 'obs-spans-*'],
  ])('%s', (_name, start, end, indices) => {
    expect(searchIndices('obs', 'spans', start, end)).toEqual(indices);
  });
});

describe('documents', () => {
  it('adds the search fields to a span and takes them off again', () => {
    const doc = spanToDoc(SPAN);
    expect(doc.tagPairs).toEqual(['http.method=GET', 'http=x=y']);
    expect(doc.timestamp).toBe(T0);
    expect(docToSpan(JSON.parse(JSON.stringify(doc)))).toEqual(SPAN);
  });

  it('gives the client and server halves of a shared span different ids, a rewrite the same', () => {
    const [a, b, c] = spanBulkItems('obs', [SPAN, { ...SPAN, kind: 'server' }, { ...SPAN, duration: 9 }]);
    expect(a!.id).toBe(`${'a'.repeat(32)}-${'b'.repeat(16)}-client`);
    expect(b!.id).not.toBe(a!.id);
    expect(c!.id).toBe(a!.id);
    expect(a!.index).toBe('obs-spans-2026.01.31');
  });

  it.each([
    [{ ts: 1, source: 's', fields: { a: 'GET', n: 5, ok: true, o: { x: 1 } } }, 'GET 5 true'],
    [{ ts: 1, source: 's', fields: { a: 'x' }, raw: 'the line' }, 'the line'],
    [{ ts: 1, source: 's', fields: {}, raw: '' }, ''],
  ])('a log record matches its text %#', (record, message) => {
    expect(logMessage(record)).toBe(message);
    const [item] = logBulkItems('obs', [record]);
    expect(item!.id).toBeUndefined();
    expect(docToLog(item!.doc as never)).toEqual(record);
  });

  it('writes an action line before each document', () => {
    const items = [...spanBulkItems('p', [SPAN]), ...logBulkItems('p', [{ ts: 0, source: 's', fields: {} }])];
    expect(bulkBody(items)).toEqual([
      { index: { _index: 'p-spans-2026.01.31', _id: items[0]!.id } },
      items[0]!.doc,
      { index: { _index: 'p-logs-1970.01.01' } },
      items[1]!.doc,
    ]);
  });
});

describe('bulk answers', () => {
  const item = (status: number, error?: unknown) => ({ index: { status, ...(error ? { error } : {}) } });
  it.each([
    ['all stored', [item(201), item(200)], 2, { retry: [], rejected: [] }],
    ['busy items retry', [item(429), item(201), item(503)], 3, { retry: [0, 2], rejected: [] }],
    [
      'bad documents are rejected with the reason',
      [
        item(201),
        item(400, { type: 'mapper_parsing_exception', reason: 'failed to parse field [duration]' }),
      ],
      2,
      {
        retry: [],
        rejected: [
          { position: 1, status: 400, reason: 'mapper_parsing_exception: failed to parse field [duration]' },
        ],
      },
    ],
    [
      'a string error',
      [item(409, 'conflict')],
      1,
      { retry: [], rejected: [{ position: 0, status: 409, reason: 'conflict' }] },
    ],
    ['a missing answer is retried', [item(201)], 2, { retry: [1], rejected: [] }],
  ])('%s', (_name, items, sent, outcome) => {
    expect(bulkOutcome({ errors: true, items: items as never }, sent)).toEqual(outcome);
  });

  it.each([
    [0, 200],
    [1, 400],
    [3, 1600],
    [10, 10_000],
  ])('backoff after try %d is %d ms', (attempt, ms) => {
    expect(backoffMs(attempt, 200, 10_000)).toBe(ms);
  });
});

describe('queries', () => {
  it('filters spans on every condition and asks for distinct traces, newest first', () => {
    const body = spanSearchBody({
      service: 'web',
      name: 'get',
      tags: { env: 'prod' },
      minDuration: 10,
      start: -5,
      end: 99.7,
      limit: 3,
    });
    expect(body['query']).toEqual({
      bool: {
        filter: [
          { range: { start: { gte: 0, lte: 99 } } },
          { term: { service: 'web' } },
          { term: { name: 'get' } },
          { term: { tagPairs: 'env=prod' } },
          { range: { duration: { gte: 10 } } },
        ],
      },
    });
    expect(body['aggs']).toMatchObject({
      traces: { terms: { field: 'traceId', size: 3, order: [{ newest: 'desc' }, { _key: 'asc' }] } },
    });
    expect(body['size']).toBe(0);
  });

  it('matches every word of a log search and sorts newest first', () => {
    expect(logSearchBody({ source: 'nginx', text: 'timed out', start: 1, end: 2, limit: 5 })).toEqual({
      size: 5,
      query: {
        bool: {
          filter: [{ range: { ts: { gte: 1, lte: 2 } } }, { term: { source: 'nginx' } }],
          must: [{ match: { message: { query: 'timed out', operator: 'and' } } }],
        },
      },
      sort: [{ ts: 'desc' }],
    });
    expect(logSearchBody({ start: 1, end: 2, limit: 5 })['query']).toEqual({
      bool: { filter: [{ range: { ts: { gte: 1, lte: 2 } } }], must: [] },
    });
  });

  it('reads bucket keys, and nothing from an answer without the aggregation', () => {
    expect(
      bucketKeys({ aggregations: { traces: { buckets: [{ key: 'b' }, { key: 7 }] } } }, 'traces'),
    ).toEqual(['b', '7']);
    expect(bucketKeys({}, 'traces')).toEqual([]);
  });
});
