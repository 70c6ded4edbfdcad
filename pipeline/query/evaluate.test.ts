import { describe, expect, it } from 'vitest';
import type { Tags } from '../../core/model.ts';
import type { MetricQuery, RawSeries, SeriesResult, SubQuery } from '../../core/query.ts';
import { evaluateQuery } from './evaluate.ts';
import { parseQueryParams } from './parse.ts';

/** Epoch ms of second `s` after 2026-01-01T00:00:00Z, which is a whole hour. */
const T0 = Date.UTC(2026, 0, 1);
const at = (s: number) => T0 + s * 1000;

function series(tags: Tags, points: [number, number][], metric = 'm'): RawSeries {
  return { metric, tags, ts: points.map(([s]) => at(s)), values: points.map(([, v]) => v) };
}

function query(m: string | string[], startS = 0, endS = 300, flags = 'ms'): MetricQuery {
  const p = new URLSearchParams(`start=${at(startS)}&end=${at(endS)}&${flags}`);
  for (const one of Array.isArray(m) ? m : [m]) p.append('m', one);
  return parseQueryParams(p, at(endS));
}

function run(m: string | string[], data: RawSeries[], startS = 0, endS = 300, flags = 'ms'): SeriesResult[] {
  return evaluateQuery(query(m, startS, endS, flags), () => data);
}

/** The dps of a single result as [second, value] pairs. */
function dps(results: SeriesResult[], i = 0): [number, number | null][] {
  return results[i]!.dps.map(([t, v]) => [(t - T0) / 1000, v]);
}

// A: 10 @0s, 30 @20s.  B: 5 @10s, 25 @30s.  Neither has a point where the other has one.
const A = series({ host: 'a' }, [
  [0, 10],
  [20, 30],
]);
const B = series({ host: 'b' }, [
  [10, 5],
  [30, 25],
]);

describe('evaluateQuery: aggregation across series', () => {
  // At 10s A is interpolated to 20; at 20s B to 15; A takes no part after 20s, B none before 10s.
  const cases: [string, number[]][] = [
    ['sum', [10, 25, 45, 25]],
    ['avg', [10, 12.5, 22.5, 25]],
    ['min', [10, 5, 15, 25]],
    ['max', [10, 20, 30, 25]],
    ['dev', [0, 7.5, 7.5, 0]],
    ['p50', [10, 12.5, 22.5, 25]],
    ['median', [10, 20, 30, 25]],
    ['zimsum', [10, 5, 30, 25]],
    ['mimmin', [10, 5, 30, 25]],
    ['mimmax', [10, 5, 30, 25]],
    ['count', [1, 1, 1, 1]],
    ['first', [10, 5, 30, 25]],
    ['last', [10, 5, 30, 25]],
  ];
  it.each(cases)('%s interpolates as OpenTSDB', (aggregator, expected) => {
    const result = run(`${aggregator}:m`, [A, B]);
    expect(result).toHaveLength(1);
    const got = dps(result);
    expect(got.map(([s]) => s)).toEqual([0, 10, 20, 30]);
    got.forEach(([, v], i) => {
      expect(v).toBeCloseTo(expected[i]!, 9);
    });
  });

  it('aggregates points at shared timestamps without interpolation', () => {
    const C = series({ host: 'c' }, [
      [0, 1],
      [10, 2],
    ]);
    const D = series({ host: 'd' }, [
      [0, 3],
      [10, 6],
    ]);
    expect(dps(run('sum:m', [C, D]))).toEqual([
      [0, 4],
      [10, 8],
    ]);
    expect(dps(run('count:m', [C, D]))).toEqual([
      [0, 2],
      [10, 2],
    ]);
  });

  it('returns each series unaggregated with none', () => {
    const result = run('none:m', [B, A]);
    expect(result.map((r) => r.tags)).toEqual([{ host: 'a' }, { host: 'b' }]);
    expect(result.map((r) => r.aggregateTags)).toEqual([[], []]);
    expect(dps(result, 0)).toEqual([
      [0, 10],
      [20, 30],
    ]);
    expect(dps(result, 1)).toEqual([
      [10, 5],
      [30, 25],
    ]);
  });

  it('ignores other metrics, and points outside the range', () => {
    const other = series({ host: 'a' }, [[0, 1000]], 'other');
    const wide = series({ host: 'c' }, [
      [-10, 1000],
      [0, 1],
      [400, 1000],
    ]);
    expect(dps(run('sum:m', [other, wide]))).toEqual([[0, 1]]);
  });
});

describe('evaluateQuery: downsampling and fill policies', () => {
  // A: 1 @0s, 3 @30s, 5 @60s, 7 @200s.  B: 10 @120s.  Query 0s … 300s, 1m buckets.
  const DA = series({ host: 'a' }, [
    [0, 1],
    [30, 3],
    [60, 5],
    [200, 7],
  ]);
  const DB = series({ host: 'b' }, [[120, 10]]);

  it.each([
    ['none', [2, 5, 7], [0, 60, 180]],
    ['nan', [2, 5, Number.NaN, 7, Number.NaN, Number.NaN], [0, 60, 120, 180, 240, 300]],
    ['null', [2, 5, null, 7, null, null], [0, 60, 120, 180, 240, 300]],
    ['zero', [2, 5, 0, 7, 0, 0], [0, 60, 120, 180, 240, 300]],
  ])('1m-avg-%s on one series', (fill, values, seconds) => {
    const ds = fill === 'none' ? '1m-avg' : `1m-avg-${fill}`;
    expect(dps(run(`sum:${ds}:m`, [DA]))).toEqual(seconds.map((s, i) => [s, values[i]]));
  });

  it.each([
    // Without a fill policy the empty bucket at 120s of A is interpolated (5 → 7), as OpenTSDB does.
    ['1m-sum', [4, 5, 16, 7], [0, 60, 120, 180]],
    ['1m-sum-zero', [4, 5, 10, 7, 0, 0], [0, 60, 120, 180, 240, 300]],
    ['1m-sum-nan', [4, 5, 10, 7, Number.NaN, Number.NaN], [0, 60, 120, 180, 240, 300]],
    ['1m-sum-null', [4, 5, 10, 7, null, null], [0, 60, 120, 180, 240, 300]],
  ])('%s then sum across series', (ds, values, seconds) => {
    expect(dps(run(`sum:${ds}:m`, [DA, DB]))).toEqual(seconds.map((s, i) => [s, values[i]]));
  });

  it('0all makes one bucket stamped with the query start', () => {
    expect(dps(run('sum:0all-sum:m', [DA, DB]))).toEqual([[0, 26]]);
    expect(dps(run('max:0all-count:m', [DA, DB]))).toEqual([[0, 4]]);
  });

  it('aligns buckets to the epoch and drops a bucket that starts before the query', () => {
    // Query 30s … 150s: the bucket at 0s (points 30s) starts before the start, as in OpenTSDB.
    expect(dps(run('sum:1m-sum:m', [DA], 30, 150))).toEqual([[60, 5]]);
  });

  it('merges the points of one second when answering in seconds', () => {
    const sub = series({ host: 'a' }, [
      [0.2, 1],
      [0.7, 3],
      [1.5, 5],
    ]);
    expect(dps(run('avg:m', [sub], 0, 10, 'ms'))).toEqual([
      [0.2, 1],
      [0.7, 3],
      [1.5, 5],
    ]);
    expect(dps(run('avg:m', [sub], 0, 10, 'x=1'))).toEqual([
      [0, 2],
      [1, 5],
    ]);
  });
});

describe('evaluateQuery: rate', () => {
  // A counter: 100 @0s, 200 @10s, 50 @20s (reset), 150 @30s.
  const C = series({ host: 'a' }, [
    [0, 100],
    [10, 200],
    [20, 50],
    [30, 150],
  ]);
  it.each([
    ['rate', [10, -15, 10], [10, 20, 30]],
    ['rate{counter,1000}', [10, 85, 10], [10, 20, 30]],
    ['rate{counter,1000,50}', [10, 0, 10], [10, 20, 30]],
    ['rate{counter,1000,100}', [10, 85, 10], [10, 20, 30]],
    ['rate{dropcounter}', [10, 10], [10, 30]],
    ['rate{counter}', [10, (2 ** 63 - 200 + 50) / 10, 10], [10, 20, 30]],
  ])('%s', (rate, values, seconds) => {
    expect(dps(run(`sum:${rate}:m`, [C]))).toEqual(seconds.map((s, i) => [s, values[i]]));
  });

  it('applies the rate after downsampling', () => {
    // 1m-max: 200 @0s, 150 @60s … rate over 60s = -50/60.
    const D = series({ host: 'a' }, [
      [0, 100],
      [10, 200],
      [70, 150],
    ]);
    expect(dps(run('sum:1m-max:rate:m', [D]))).toEqual([[60, -50 / 60]]);
  });

  it('holds the previous rate of a series that lacks a point, as OpenTSDB does for rates', () => {
    // A rates: 1/s @10s, 2/s @20s.  B rates: 2/s @15s, 2/s @25s.
    const RA = series({ host: 'a' }, [
      [0, 0],
      [10, 10],
      [20, 30],
    ]);
    const RB = series({ host: 'b' }, [
      [5, 0],
      [15, 20],
      [25, 40],
    ]);
    expect(dps(run('sum:rate:m', [RA, RB]))).toEqual([
      [10, 1],
      [15, 3],
      [20, 4],
      [25, 2],
    ]);
    expect(dps(run('zimsum:rate:m', [RA, RB]))).toEqual([
      [10, 1],
      [15, 2],
      [20, 2],
      [25, 2],
    ]);
  });
});

describe('evaluateQuery: filters and group by', () => {
  // OpenTSDB's filter documentation example, one point each at T1 = 0s.
  const docs = [
    series({ dc: 'dal', host: 'web01' }, [[0, 3]], 'sys.cpu.system'),
    series({ dc: 'dal', host: 'web02' }, [[0, 2]], 'sys.cpu.system'),
    series({ dc: 'dal', host: 'web03' }, [[0, 10]], 'sys.cpu.system'),
    series({ host: 'web01' }, [[0, 1]], 'sys.cpu.system'),
    series({ host: 'web01', owner: 'jdoe' }, [[0, 4]], 'sys.cpu.system'),
    series({ dc: 'lax', host: 'web01' }, [[0, 8]], 'sys.cpu.system'),
    series({ dc: 'lax', host: 'web02' }, [[0, 4]], 'sys.cpu.system'),
  ];
  const summary = (results: SeriesResult[]) =>
    results.map((r) => ({ tags: r.tags, aggregateTags: r.aggregateTags, value: r.dps[0]![1] }));

  it.each([
    ['sum:sys.cpu.system', [{ tags: {}, aggregateTags: ['host'], value: 32 }]],
    ['sum:sys.cpu.system{host=web01}', [{ tags: { host: 'web01' }, aggregateTags: [], value: 16 }]],
    [
      'sum:sys.cpu.system{host=web01,dc=dal}',
      [{ tags: { dc: 'dal', host: 'web01' }, aggregateTags: [], value: 3 }],
    ],
    [
      'sum:sys.cpu.system{host=*,dc=dal}',
      [
        { tags: { dc: 'dal', host: 'web01' }, aggregateTags: [], value: 3 },
        { tags: { dc: 'dal', host: 'web02' }, aggregateTags: [], value: 2 },
        { tags: { dc: 'dal', host: 'web03' }, aggregateTags: [], value: 10 },
      ],
    ],
    [
      'sum:sys.cpu.system{dc=dal|lax}',
      [
        { tags: { dc: 'dal' }, aggregateTags: ['host'], value: 15 },
        { tags: { dc: 'lax' }, aggregateTags: ['host'], value: 12 },
      ],
    ],
    ['sum:sys.cpu.system{}{dc=dal|lax}', [{ tags: {}, aggregateTags: ['dc', 'host'], value: 27 }]],
    [
      'sum:sys.cpu.system{}{host=not_literal_or(web01)}',
      [{ tags: {}, aggregateTags: ['dc', 'host'], value: 16 }],
    ],
    [
      'sum:sys.cpu.system{}{owner=regexp(^j)}',
      [{ tags: { host: 'web01', owner: 'jdoe' }, aggregateTags: [], value: 4 }],
    ],
    [
      'sum:explicit_tags:sys.cpu.system{host=web01}',
      [{ tags: { host: 'web01' }, aggregateTags: [], value: 1 }],
    ],
    [
      'sum:explicit_tags:sys.cpu.system{host=*}{dc=*}',
      // Grouped by host only; ordered by the tag string, so {dc=dal,host=web03} comes first.
      [
        { tags: { dc: 'dal', host: 'web03' }, aggregateTags: [], value: 10 },
        { tags: { host: 'web01' }, aggregateTags: ['dc'], value: 11 },
        { tags: { host: 'web02' }, aggregateTags: ['dc'], value: 6 },
      ],
    ],
  ])('%s', (m, expected) => {
    expect(summary(run(m, docs))).toEqual(expected);
  });

  it('applies JSON filters and legacy tags the same way', () => {
    const sub: SubQuery = {
      metric: 'sys.cpu.system',
      aggregator: 'sum',
      rate: false,
      explicitTags: false,
      filters: [
        { type: 'iwildcard', tagk: 'host', filter: 'WEB0*', groupBy: false },
        { type: 'literal_or', tagk: 'dc', filter: 'lax', groupBy: true },
      ],
    };
    const q: MetricQuery = {
      start: at(0),
      end: at(60),
      queries: [sub],
      msResolution: true,
      showQuery: false,
    };
    expect(summary(evaluateQuery(q, () => docs))).toEqual([
      { tags: { dc: 'lax' }, aggregateTags: ['host'], value: 12 },
    ]);
  });

  it('orders results by sub-query, then by tags, and passes each sub-query to select', () => {
    const seen: string[] = [];
    const results = evaluateQuery(query(['max:m{host=*}', 'min:m']), (sub, start, end) => {
      seen.push(`${sub.aggregator} ${start === at(0)} ${end === at(300)}`);
      return [B, A];
    });
    expect(seen).toEqual(['max true true', 'min true true']);
    expect(results.map((r) => [r.index, r.tags])).toEqual([
      [0, { host: 'a' }],
      [0, { host: 'b' }],
      [1, {}],
    ]);
    expect(results[2]!.aggregateTags).toEqual(['host']);
  });

  it('returns nothing when no series matches', () => {
    expect(run('sum:m{host=zzz}', [A, B])).toEqual([]);
  });
});
