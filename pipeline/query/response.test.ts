import { describe, expect, it } from 'vitest';
import type { MetricQuery, SeriesResult } from '../../core/query.ts';
import { parseQueryParams } from './parse.ts';
import { encodeValue, toOpenTsdbJson, toOpenTsdbResponse } from './response.ts';

const T0 = Date.UTC(2026, 0, 1);
const S0 = T0 / 1000;

function query(m: string, flags = ''): MetricQuery {
  return parseQueryParams(
    new URLSearchParams(`start=${T0}&end=${T0 + 600_000}&m=${encodeURIComponent(m)}&${flags}`),
    0,
  );
}

const result: SeriesResult = {
  metric: 'sys.cpu',
  tags: { host: 'web01' },
  aggregateTags: ['dc'],
  dps: [
    [T0, 1.5],
    [T0 + 60_000, Number.NaN],
    [T0 + 120_000, null],
    [T0 + 180_500, 4],
  ],
  index: 0,
};

describe('toOpenTsdbResponse', () => {
  it('keys dps by seconds, writes NaN as "NaN" and null as null', () => {
    expect(toOpenTsdbResponse([result], query('sum:sys.cpu'))).toEqual([
      {
        metric: 'sys.cpu',
        tags: { host: 'web01' },
        aggregateTags: ['dc'],
        dps: { [S0]: 1.5, [S0 + 60]: 'NaN', [S0 + 120]: null, [S0 + 180]: 4 },
      },
    ]);
  });

  it('keys dps by milliseconds with msResolution', () => {
    const [series] = toOpenTsdbResponse([result], query('sum:sys.cpu', 'ms'));
    expect(Object.keys(series!.dps)).toEqual([T0, T0 + 60_000, T0 + 120_000, T0 + 180_500].map(String));
  });

  it('serializes to the JSON OpenTSDB writes', () => {
    const json = JSON.stringify(toOpenTsdbResponse([result], query('sum:sys.cpu')));
    expect(json).toBe(
      `[{"metric":"sys.cpu","tags":{"host":"web01"},"aggregateTags":["dc"],"dps":{"${S0}":1.5,"${S0 + 60}":"NaN","${S0 + 120}":null,"${S0 + 180}":4}}]`,
    );
  });

  it('echoes the sub-query with showQuery', () => {
    const q = query('sum:rate{counter,1000}:1m-avg-zero:sys.cpu{host=*}{dc=regexp(^l)}', 'show_query');
    const [series] = toOpenTsdbResponse([result], q);
    expect(series!.query).toEqual({
      aggregator: 'sum',
      metric: 'sys.cpu',
      tsuids: null,
      downsample: '1m-avg-zero',
      rate: true,
      filters: [
        { tagk: 'host', filter: '*', group_by: true, type: 'wildcard' },
        { tagk: 'dc', filter: '^l', group_by: false, type: 'regexp' },
      ],
      index: 0,
      tags: { host: 'wildcard(*)' },
      rateOptions: { counter: true, counterMax: 1000, resetValue: 0, dropResets: false },
      explicitTags: false,
    });
    const plain = toOpenTsdbResponse([result], query('avg:0all-max:sys.cpu', 'show_query'))[0]!.query!;
    expect([plain.downsample, plain.rate, plain.rateOptions, plain.filters, plain.tags]).toEqual([
      '0all-max',
      false,
      null,
      [],
      {},
    ]);
  });

  it('has no query without showQuery', () => {
    expect(toOpenTsdbResponse([result], query('sum:sys.cpu'))[0]).not.toHaveProperty('query');
  });
});

describe('encodeValue', () => {
  it.each([
    [1, 1],
    [-0.5, -0.5],
    [null, null],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
  ])('%s → %j', (value, expected) => {
    expect(encodeValue(value)).toBe(expected);
  });
});

describe('toOpenTsdbJson', () => {
  // Several points in one second, the non-finite values, names that need escaping, an empty series.
  const tricky: SeriesResult[] = [
    {
      metric: 'sys.cpu "x"',
      tags: { host: 'wéb\\01', dc: 'a"b' },
      aggregateTags: [],
      dps: [
        [T0, 1.5],
        [T0 + 200, -0],
        [T0 + 999, 2e-7],
        [T0 + 1000, Number.POSITIVE_INFINITY],
        [T0 + 2000, Number.NEGATIVE_INFINITY],
        [T0 + 3000, null],
        [T0 + 3001, 1e21],
      ],
      index: 0,
    },
    { metric: 'sys.mem', tags: {}, aggregateTags: ['host'], dps: [], index: 1 },
    result,
  ];

  it('writes what JSON.stringify writes of the response objects', () => {
    for (const flags of ['', 'ms=true', 'show_query=true', 'ms=true&show_query=true']) {
      const q = query('sum:sys.cpu', flags);
      q.queries.push({ ...q.queries[0]!, metric: 'sys.mem' });
      expect(toOpenTsdbJson(tricky, q)).toBe(JSON.stringify(toOpenTsdbResponse(tricky, q)));
    }
    expect(toOpenTsdbJson([], query('sum:sys.cpu'))).toBe('[]');
  });
});
