import { describe, expect, it } from 'vitest';
import { HubError } from '../../../core/errors.ts';
import { parseSearch } from '../../query/search.ts';
import { spanToDoc } from './elastic-dsl.ts';
import {
  findTracesBody,
  linkBulkItems,
  linksBody,
  linksPage,
  searchExprToQuery,
  serviceTermsBody,
  tracesBody,
  wildcardValue,
} from './trace-dsl.ts';

const DAY = Date.UTC(2026, 0, 31);

describe('searchExprToQuery', () => {
  it.each([
    ['service=web', { term: { service: 'web' } }],
    ['name=get*', { wildcard: { name: { value: 'get*' } } }],
    ['operation=a?b*', { wildcard: { name: { value: 'a\\?b*' } } }],
    ['kind=SERVER', { term: { kind: 'server' } }],
    ['remoteService!=db', { bool: { must_not: [{ term: { remoteService: 'db' } }] } }],
    ['http.status_code=500', { term: { tagPairs: 'http.status_code=500' } }],
    ['tag:service=x', { term: { tagPairs: 'service=x' } }],
    ['"a*b"=c*', { wildcard: { tagPairs: { value: 'a\\*b=c*' } } }],
    ['error', { term: { error: true } }],
    [
      'retried',
      {
        bool: {
          should: [{ prefix: { tagPairs: 'retried=' } }, { term: { annotationValues: 'retried' } }],
          minimum_should_match: 1,
        },
      },
    ],
    ['duration>=250ms', { range: { duration: { gte: 250_000 } } }],
    ['duration<1s', { range: { duration: { lt: 1_000_000 } } }],
    ['duration=5us', { term: { duration: 5 } }],
    ['duration!=5us', { bool: { must_not: [{ term: { duration: 5 } }] } }],
    [
      'service=a OR NOT error',
      {
        bool: {
          should: [{ term: { service: 'a' } }, { bool: { must_not: [{ term: { error: true } }] } }],
          minimum_should_match: 1,
        },
      },
    ],
    ['service=a b=c', { bool: { filter: [{ term: { service: 'a' } }, { term: { tagPairs: 'b=c' } }] } }],
  ])('%s', (q, query) => {
    expect(searchExprToQuery(parseSearch(q))).toEqual(query);
  });

  it.each(['"a=b"=c', '"a=b"', 'x=1 OR "k=v"=*'])('refuses %s: a tag key with "=" is ambiguous', (q) => {
    let err: unknown;
    try {
      searchExprToQuery(parseSearch(q));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('BAD_REQUEST');
    expect((err as HubError).message).toContain('cannot search exactly');
  });

  it.each([
    ['a*b?c\\d', true, 'a*b\\?c\\\\d'],
    ['a*b?c\\d', false, 'a\\*b\\?c\\\\d'],
  ])('escapes %s (keep * = %s)', (text, keep, out) => {
    expect(wildcardValue(text, keep)).toBe(out);
  });
});

describe('trace queries', () => {
  it('finds trace ids in the time range and the caller services, newest first', () => {
    const body = findTracesBody({
      start: -5,
      end: 9.7,
      limit: 3,
      services: ['a', 'b'],
      expr: parseSearch('error'),
    });
    expect(body['query']).toEqual({
      bool: {
        filter: [
          { range: { start: { gte: 0, lte: 9 } } },
          { terms: { service: ['a', 'b'] } },
          { term: { error: true } },
        ],
      },
    });
    expect(body['aggs']).toMatchObject({
      traces: { terms: { field: 'traceId', size: 3, order: [{ newest: 'desc' }, { _key: 'asc' }] } },
    });
  });

  it('reads several traces in one request and names per service', () => {
    expect(tracesBody(['a', 'b'])['query']).toEqual({
      bool: { filter: [{ terms: { traceId: ['a', 'b'] } }] },
    });
    expect(serviceTermsBody('web', 'remoteService')).toMatchObject({
      query: { bool: { filter: [{ term: { service: 'web' } }] } },
      aggs: { values: { terms: { field: 'remoteService', order: { _key: 'asc' } } } },
    });
  });

  it('indexes annotation values of a span for the search words', () => {
    const doc = spanToDoc({
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      name: 'n',
      kind: 'client',
      service: 's',
      start: DAY * 1000,
      duration: 1,
      tags: {},
      annotations: [{ ts: DAY * 1000, value: 'retried' }],
      error: false,
    });
    expect(doc.annotationValues).toEqual(['retried']);
  });
});

describe('dependency links', () => {
  const delta = { bucket: DAY + 60_000, parent: 'web', child: 'api', calls: 2, errors: -1 };

  it('keys a delta by the batch it came from, so a replayed batch replaces its documents', () => {
    const [a] = linkBulkItems('obs', [delta], { stream: 'spans/0', offset: 7 });
    const [b] = linkBulkItems('obs', [delta], { stream: 'spans/0', offset: 7 });
    const [c] = linkBulkItems('obs', [delta], { stream: 'spans/0', offset: 8 });
    const [d] = linkBulkItems('obs', [{ ...delta, child: 'db' }], { stream: 'spans/0', offset: 7 });
    const [none] = linkBulkItems('obs', [delta]);
    expect(a!.index).toBe('obs-links-2026.01.31');
    expect(a!.doc).toEqual({ bucket: DAY + 60_000, parent: 'web', child: 'api', calls: 2, errors: -1 });
    expect(b!.id).toBe(a!.id);
    expect(new Set([a!.id, c!.id, d!.id]).size).toBe(3);
    expect(none!.id).toBeUndefined();
  });

  it('sums links per parent and child over the buckets in range, page by page', () => {
    expect(linksBody(-1, 10, { parent: 'a', child: 'b' })).toMatchObject({
      query: { bool: { filter: [{ range: { bucket: { gte: 0, lte: 10 } } }] } },
      aggs: { links: { composite: { size: 1000, after: { parent: 'a', child: 'b' } } } },
    });
  });

  it.each([
    ['an empty answer', {}, { links: [] }],
    [
      'a page, dropping links whose calls cancelled out',
      {
        aggregations: {
          links: {
            after_key: { parent: 'w', child: 'z' },
            buckets: [
              { key: { parent: 'w', child: 'a' }, calls: { value: 3 }, errors: { value: 1 } },
              { key: { parent: 'w', child: 'z' }, calls: { value: 0 }, errors: { value: 0 } },
            ],
          },
        },
      },
      {
        links: [{ parent: 'w', child: 'a', callCount: 3, errorCount: 1 }],
        after: { parent: 'w', child: 'z' },
      },
    ],
    [
      'the last, empty page',
      { aggregations: { links: { after_key: { parent: 'w' }, buckets: [] } } },
      { links: [] },
    ],
  ])('reads %s', (_name, response, page) => {
    expect(linksPage(response)).toEqual(page);
  });
});
