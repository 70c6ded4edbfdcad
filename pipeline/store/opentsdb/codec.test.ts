import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HubError } from '../../../core/errors.ts';
import type { MetricPoint } from '../../../core/model.ts';
import type { MetricQuery, SubQuery } from '../../../core/query.ts';
import {
  decodeValue,
  fromLookupResponse,
  fromQueryResponse,
  fromSuggestResponse,
  lookupParams,
  parsePutDetails,
  parseTelnetAddress,
  sumPrometheusGauge,
  telnetTimestamp,
  toPutBody,
  toQueryBody,
  toTelnetLine,
} from './codec.ts';

const fixtures = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'opentsdb-2.4-query-responses.json'), 'utf8'),
) as Record<string, unknown>;

const T = 1_795_735_906_614;
const pt = (metric: string, ts: number, value: number, tags: Record<string, string>): MetricPoint => ({
  metric,
  tags,
  ts,
  value,
});
const sub = (over: Partial<SubQuery> = {}): SubQuery => ({
  metric: 'sys.cpu',
  aggregator: 'sum',
  rate: false,
  filters: [],
  explicitTags: false,
  ...over,
});
const query = (over: Partial<MetricQuery> = {}): MetricQuery => ({
  start: 1_365_966_000_000,
  end: 1_365_975_000_000,
  queries: [sub({ metric: 'tsd.hbase.puts' })],
  msResolution: false,
  showQuery: false,
  ...over,
});

describe('put bodies', () => {
  it('sends timestamps in ms and keeps tags as they are', () => {
    expect(toPutBody([pt('m', T, 1.5, { host: 'a', project: 'p' })])).toEqual([
      { metric: 'm', timestamp: T, value: 1.5, tags: { host: 'a', project: 'p' } },
    ]);
  });

  const sent = [pt('m', T, 1, { h: 'a' }), pt('m', T + 1, 2, { h: 'a' }), pt('m', T, 3, { h: 'b', x: 'y' })];
  it.each([
    ['an empty body (204, VictoriaMetrics)', undefined, 3, []],
    ['all stored', { success: 3, failed: 0, errors: [] }, 3, []],
    [
      'the hub: echo of the sent datapoint, ms timestamp',
      {
        success: 2,
        failed: 1,
        errors: [
          {
            datapoint: { metric: 'm', timestamp: T + 1, value: 2, tags: { h: 'a' } },
            error: 'Too many tags',
          },
        ],
      },
      2,
      [[1, 'Too many tags']],
    ],
    [
      'OpenTSDB: value echoed as a string, tags in another order',
      {
        success: 2,
        failed: 1,
        errors: [
          { datapoint: { metric: 'm', timestamp: T, value: '3', tags: { x: 'y', h: 'b' } }, error: 'bad' },
        ],
      },
      2,
      [[2, 'bad']],
    ],
  ] as const)('reads %s', (_name, json, stored, rejected) => {
    const outcome = parsePutDetails(json, sent);
    expect(outcome.stored).toBe(stored);
    expect(outcome.rejected.map((r) => [sent.indexOf(r.point), r.reason])).toEqual(rejected);
    expect(outcome.unmatched).toEqual([]);
  });

  it('keeps an error that echoes no sent point apart, and refuses a body that is no put answer', () => {
    const outcome = parsePutDetails(
      {
        success: 3,
        failed: 1,
        errors: [{ datapoint: { metric: 'other', timestamp: T, tags: {} }, error: 'e' }],
      },
      sent,
    );
    expect(outcome.rejected).toEqual([]);
    expect(outcome.unmatched).toHaveLength(1);
    expect(() => parsePutDetails({ success: 1, failed: 0 }, sent)).toThrow(HubError);
  });

  it.each([
    [1_795_735_920_000, '1795735920'],
    [1_795_735_920_005, '1795735920.005'],
    [1_795_735_920_500, '1795735920.500'],
  ])('writes telnet timestamp %d as %s', (ts, text) => {
    expect(telnetTimestamp(ts)).toBe(text);
  });

  it('writes one telnet put line per point', () => {
    expect(toTelnetLine(pt('sys.cpu', 1_795_735_920_000, -0.25, { host: 'a', dc: 'x' }))).toBe(
      'put sys.cpu 1795735920 -0.25 host=a dc=x\n',
    );
  });
});

describe('query bodies', () => {
  it('carries aggregator, downsample, rate options, filters and always showQuery', () => {
    const q = query({
      msResolution: true,
      queries: [
        sub({
          aggregator: 'avg',
          downsample: { intervalMs: 60_000, aggregator: 'max', fill: 'zero' },
          rate: true,
          rateOptions: { counter: true, counterMax: 1000, dropResets: true },
          filters: [{ type: 'wildcard', tagk: 'host', filter: 'web*', groupBy: true }],
          explicitTags: true,
        }),
        sub({ downsample: { intervalMs: 0, aggregator: 'sum', fill: 'none' } }),
      ],
    });
    expect(toQueryBody(q)).toEqual({
      start: q.start,
      end: q.end,
      msResolution: true,
      showQuery: true,
      queries: [
        {
          metric: 'sys.cpu',
          aggregator: 'avg',
          downsample: '1m-max-zero',
          rate: true,
          rateOptions: { counter: true, counterMax: 1000, dropResets: true },
          filters: [{ type: 'wildcard', tagk: 'host', filter: 'web*', groupBy: true }],
          explicitTags: true,
        },
        {
          metric: 'sys.cpu',
          aggregator: 'sum',
          downsample: '0all-sum',
          rate: false,
          filters: [],
          explicitTags: false,
        },
      ],
    });
  });

  it('adds a project literal_or filter to every sub-query of a scoped query', () => {
    const body = toQueryBody(query({ queries: [sub(), sub({ metric: 'b' })] }), { projects: ['p1', 'p2'] });
    for (const s of body.queries)
      expect(s.filters).toEqual([{ type: 'literal_or', tagk: 'project', filter: 'p1|p2', groupBy: false }]);
  });
});

describe('query answers (OpenTSDB 2.4 documented examples)', () => {
  it('reads the single query example: seconds to ms, aggregatedTags, extra fields ignored', () => {
    const [s] = fromQueryResponse(fixtures['singleQuery'], query());
    expect(s).toEqual({
      metric: 'tsd.hbase.puts',
      tags: {},
      aggregateTags: ['host'],
      index: 0,
      dps: [
        [1_365_966_001_000, 25_595_461_080],
        [1_365_966_061_000, 25_595_542_522],
        [1_365_966_062_000, 25_595_543_979],
        [1_365_973_801_000, 25_717_417_859],
      ],
    });
  });

  it('reads the aggregated example with show_query: one series per host, tied to its sub-query', () => {
    const q = query({ queries: [sub({ metric: 'other' }), sub({ metric: 'tsd.hbase.puts' })] });
    const series = fromQueryResponse(fixtures['aggregatedQueryShowQuery'], q);
    expect(series.map((s) => [s.tags['host'], s.index, s.dps.length, s.dps[0]])).toEqual([
      ['tsdb-1.mysite.com', 1, 3, [1_365_966_001_000, 3_758_788_892]],
      ['tsdb-2.mysite.com', 1, 3, [1_365_966_001_000, 3_902_179_270]],
    ]);
  });

  it('reads ms keys, NaN strings and null fills; uses the echoed index', () => {
    const [s] = fromQueryResponse(fixtures['msResolution'], query({ msResolution: true }));
    expect(s!.dps).toEqual([
      [1_365_966_001_123, 1.5],
      [1_365_966_001_456, Number.NaN],
      [1_365_966_002_000, null],
    ]);
    const echoed = [{ metric: 'b', tags: {}, aggregateTags: [], dps: [[1, 2]], query: { index: 1 } }];
    expect(fromQueryResponse(echoed, query({ msResolution: true, queries: [sub(), sub()] }))[0]!.index).toBe(
      1,
    );
  });

  it('turns an OpenTSDB error body into a HubError with its message', () => {
    expect(() => fromQueryResponse(fixtures['error'], query())).toThrow(/400: No such name for 'metrics'/);
  });

  it.each([
    [1, 1],
    [null, null],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['2.5', 2.5],
  ] as const)('decodes dps value %j', (raw, value) => {
    expect(decodeValue(raw)).toBe(value);
  });
});

describe('suggest, lookup and disk size', () => {
  it('builds the lookup m parameter and reads its answer', () => {
    expect(Object.fromEntries(lookupParams('*', { project: 'p', host: '*' }, 10))).toEqual({
      m: '*{project=p,host=*}',
      limit: '10',
    });
    const answer = { type: 'LOOKUP', results: [{ metric: 'm', tags: { host: 'a' }, tsuid: '0001' }] };
    expect(fromLookupResponse(answer)).toEqual([{ metric: 'm', tags: { host: 'a' }, tsuid: '0001' }]);
    expect(() => fromLookupResponse({ error: { code: 400, message: 'bad' } })).toThrow(HubError);
  });

  it('reads suggest answers', () => {
    expect(fromSuggestResponse(['a', 'b'])).toEqual(['a', 'b']);
    expect(() => fromSuggestResponse({})).toThrow(HubError);
  });

  it('sums vm_data_size_bytes over its types and ignores look-alike names', () => {
    const text = [
      '# HELP x',
      'vm_data_size_bytes{type="storage/big"} 100',
      'vm_data_size_bytes{type="indexdb"} 23',
      'vm_data_size_bytes_total 999',
    ].join('\n');
    expect(sumPrometheusGauge(text, 'vm_data_size_bytes')).toBe(123);
    expect(sumPrometheusGauge('', 'vm_data_size_bytes')).toBeUndefined();
  });
});

describe('telnet address', () => {
  it.each([
    ['127.0.0.1:4343', { host: '127.0.0.1', port: 4343 }],
    ['tsdb.example:4242', { host: 'tsdb.example', port: 4242 }],
    ['[::1]:4242', { host: '::1', port: 4242 }],
  ])('reads %s', (text, address) => {
    expect(parseTelnetAddress(text)).toEqual(address);
  });
  it.each(['4242', 'host:', 'host:70000'])('refuses %s naming the setting', (text) => {
    expect(() => parseTelnetAddress(text)).toThrow(/store.opentsdb.telnet|host:port/);
  });
});
