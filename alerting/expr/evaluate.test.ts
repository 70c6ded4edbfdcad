import { describe, expect, it } from 'vitest';
import type { Tags } from '../../core/model.ts';
import type { MetricQuery, RawSeries } from '../../core/query.ts';
import { type ExprResult, evaluateExpr, requiredRange } from './evaluate.ts';
import { parseExpr } from './parse.ts';
import { createCachedSource, createMemorySource, type ExprSource } from './source.ts';

/** Evaluation time: a whole minute, 14 minutes past a whole hour. */
const T = 1_700_000_040_000;
const S = 1000;
const M = 60 * S;

/** A raw series with points at `T + offset` (offsets in seconds, usually negative). */
function series(metric: string, tags: Tags, points: [number, number][]): RawSeries {
  return { metric, tags, ts: points.map(([s]) => T + s * S), values: points.map(([, v]) => v) };
}

const minutes = (values: number[]): [number, number][] =>
  values.map((v, i) => [(i - values.length + 1) * 60, v]);

const DATA: RawSeries[] = [
  series('usage', { app: '/push/pushd', host: 'h1' }, [
    [-60, 2],
    [0, 4],
  ]),
  series('usage', { app: '/push/pushd', host: 'h2' }, [
    [-60, 2],
    [0, 2],
  ]),
  series('usage', { app: '/a/web', host: 'h1' }, [[0, 1]]),
  series('limit', { app: '/push/pushd' }, [
    [-60, 8],
    [0, 8],
  ]),
  series('limit', { app: '/a/web' }, [[0, 4]]),
  series('limit', { app: '/b/orphan' }, [[0, 10]]),
  // At T-300s … T: 5 1 4 2 8 3.
  series('lat', { host: 'h1' }, minutes([5, 1, 4, 2, 8, 3])),
  // A counter that restarts between T-180s and T-120s.
  series('req', { host: 'h1' }, minutes([100, 160, 220, 10, 70, 130])),
  series('req', { host: 'h2' }, minutes([0, 30, 60, 90, 120, 150])),
  // An exact line: 1000 at T-300s, falling 2 per second.
  series('disk', { host: 'h1' }, minutes([1000, 880, 760, 640, 520, 400])),
  series('up', { app: '/a/web', task: 't1' }, [[-30, 1]]),
  series('up', { app: '/push/pushd', task: 't2' }, [[-30 * 60, 1]]),
];

const source = createMemorySource(DATA);

async function run(text: string, options = {}): Promise<ExprResult[]> {
  return evaluateExpr(parseExpr(text), T, source, options);
}

const PUSHD = { app: '/push/pushd' };
const WEB = { app: '/a/web' };
const ORPHAN = { app: '/b/orphan' };
const H1 = { host: 'h1' };
const H2 = { host: 'h2' };

type Case = [string, ExprResult[]];

function expectResults(got: ExprResult[], expected: ExprResult[]): void {
  expect(got.map((r) => r.tags)).toEqual(expected.map((r) => r.tags));
  got.forEach((r, i) => {
    expect(r.value).toBeCloseTo(expected[i]!.value, 9);
  });
}

describe('evaluateExpr: selectors, arithmetic and matching', () => {
  const cases: Case[] = [
    // sum over h1 and h2: 4 + 2 at T.
    [
      'sum:usage{app=*}',
      [
        { tags: WEB, value: 1 },
        { tags: PUSHD, value: 6 },
      ],
    ],
    [
      'avg:usage{app=*}',
      [
        { tags: WEB, value: 1 },
        { tags: PUSHD, value: 3 },
      ],
    ],
    // Identity is the group-by tags only: the single host of /a/web is not a tag of the result.
    ['sum:usage{app=/a/web}', [{ tags: WEB, value: 1 }]],
    ['sum:usage', [{ tags: {}, value: 7 }]],
    [
      'none:usage{app=/push/pushd}',
      [
        { tags: { app: '/push/pushd', host: 'h1' }, value: 4 },
        { tags: { app: '/push/pushd', host: 'h2' }, value: 2 },
      ],
    ],
    // usage / limit matched by app; /b/orphan has no usage and is dropped.
    [
      'sum:usage{app=*} / sum:limit{app=*}',
      [
        { tags: WEB, value: 0.25 },
        { tags: PUSHD, value: 0.75 },
      ],
    ],
    // Different group-by tags never match.
    ['sum:usage{app=*,host=*} / sum:limit{app=*}', []],
    [
      'sum:limit{app=*} * 2 + 1',
      [
        { tags: WEB, value: 9 },
        { tags: ORPHAN, value: 21 },
        { tags: PUSHD, value: 17 },
      ],
    ],
    [
      '10 - sum:limit{app=*}',
      [
        { tags: WEB, value: 6 },
        { tags: ORPHAN, value: 0 },
        { tags: PUSHD, value: 2 },
      ],
    ],
    ['-sum:limit{app=/a/web}', [{ tags: WEB, value: -4 }]],
    ['sum:limit{app=/a/web} / 0', [{ tags: WEB, value: Number.POSITIVE_INFINITY }]],
    ['1 + 2 * 3', [{ tags: {}, value: 7 }]],
    ['(1 + 2) * 3', [{ tags: {}, value: 9 }]],
    ['10 - 4 - 3', [{ tags: {}, value: 3 }]],
    ['12 / 3 / 2', [{ tags: {}, value: 2 }]],
    ['2 * -sum:limit{app=/a/web} + 1', [{ tags: WEB, value: -7 }]],
    // Lookback: /push/pushd's only "up" point is 30 minutes old.
    ['sum:up{app=*}', [{ tags: WEB, value: 1 }]],
    // A downsampled selector looks back over its interval: the 1h bucket started 14 minutes ago.
    ['sum:1h-sum:lat{host=*}', [{ tags: H1, value: 23 }]],
    // Empty buckets of a null-filling downsampler are skipped for the last value.
    ['sum:1m-sum-null:up{app=*}', [{ tags: WEB, value: 1 }]],
  ];
  it.each(cases)('%s', async (text, expected) => {
    expectResults(await run(text), expected);
  });

  it('widens the lookback of bare selectors on request', async () => {
    expectResults(await run('sum:up{app=*}', { lookbackMs: 3_600_000 }), [
      { tags: WEB, value: 1 },
      { tags: PUSHD, value: 1 },
    ]);
  });
});

describe('evaluateExpr: comparisons filter and keep the value', () => {
  const cases: Case[] = [
    [
      'sum:limit{app=*} > 5',
      [
        { tags: ORPHAN, value: 10 },
        { tags: PUSHD, value: 8 },
      ],
    ],
    // The series side's value, wherever it stands.
    [
      '5 < sum:limit{app=*}',
      [
        { tags: ORPHAN, value: 10 },
        { tags: PUSHD, value: 8 },
      ],
    ],
    ['sum:limit{app=*} == 4', [{ tags: WEB, value: 4 }]],
    [
      'sum:limit{app=*} != 4',
      [
        { tags: ORPHAN, value: 10 },
        { tags: PUSHD, value: 8 },
      ],
    ],
    ['sum:limit{app=*} <= 4', [{ tags: WEB, value: 4 }]],
    ['sum:limit{app=*} >= 10', [{ tags: ORPHAN, value: 10 }]],
    ['sum:limit{app=*} < 4', []],
    ['sum:usage{app=*} / sum:limit{app=*} > 0.5', [{ tags: PUSHD, value: 0.75 }]],
    // Two series: the left value where true.
    [
      'sum:limit{app=*} > sum:usage{app=*}',
      [
        { tags: WEB, value: 4 },
        { tags: PUSHD, value: 8 },
      ],
    ],
    ['sum:usage{app=*} >= sum:limit{app=*}', []],
    // Precedence: arithmetic binds tighter than the comparison, the comparison than "and".
    ['sum:limit{app=*} - 2 * 3 > 1 and sum:usage{app=*}', [{ tags: PUSHD, value: 2 }]],
    ['sum:limit{app=*} > 5 and sum:usage{app=*} > 0', [{ tags: PUSHD, value: 8 }]],
    [
      'sum:usage{app=*} > 5 or sum:limit{app=*} > 9',
      [
        { tags: ORPHAN, value: 10 },
        { tags: PUSHD, value: 6 },
      ],
    ],
    // "or" keeps the left value for tags on both sides.
    [
      'sum:usage{app=*} or sum:limit{app=*}',
      [
        { tags: WEB, value: 1 },
        { tags: ORPHAN, value: 10 },
        { tags: PUSHD, value: 6 },
      ],
    ],
  ];
  it.each(cases)('%s', async (text, expected) => {
    expectResults(await run(text), expected);
  });
});

describe('evaluateExpr: window functions', () => {
  const cases: Case[] = [
    ['avg_over(avg:lat{host=*}, 5m)', [{ tags: H1, value: 23 / 6 }]],
    // The window is inclusive: [T-4m, T] holds 1 4 2 8 3.
    ['avg_over(avg:lat{host=*}, 4m)', [{ tags: H1, value: 18 / 5 }]],
    ['max_over(avg:lat{host=*}, 5m)', [{ tags: H1, value: 8 }]],
    ['min_over(avg:lat{host=*}, 5m)', [{ tags: H1, value: 1 }]],
    ['min_over(avg:lat{host=*}, 90s)', [{ tags: H1, value: 3 }]],
    ['sum_over(avg:lat{host=*}, 5m)', [{ tags: H1, value: 23 }]],
    ['count_over(avg:lat{host=*}, 5m)', [{ tags: H1, value: 6 }]],
    ['count_over(avg:lat{host=*}, 4m)', [{ tags: H1, value: 5 }]],
    ['percentile_over(avg:lat{host=*}, 0.5, 5m)', [{ tags: H1, value: 3.5 }]],
    ['percentile_over(avg:lat{host=*}, 0.9, 5m)', [{ tags: H1, value: 6.5 }]],
    ['percentile_over(avg:lat{host=*}, 1, 5m)', [{ tags: H1, value: 8 }]],
    // Point-wise inside the window: comparisons drop points, a series with none left counts 0.
    ['count_over(avg:lat{host=*} > 3, 5m)', [{ tags: H1, value: 3 }]],
    ['count_over(avg:lat{host=*} > 100, 5m)', [{ tags: H1, value: 0 }]],
    ['avg_over(avg:lat{host=*} > 100, 5m)', []],
    ['avg_over(avg:lat{host=*} * 2, 5m)', [{ tags: H1, value: 23 / 3 }]],
    // Two series combine at their common timestamps: 4/8 at T-60s, 6/8 at T.
    [
      'avg_over(sum:usage{app=*} / sum:limit{app=*}, 2m)',
      [
        { tags: WEB, value: 0.25 },
        { tags: PUSHD, value: 0.625 },
      ],
    ],
    // Counters: h1 restarts; the later value after the drop counts whole.
    [
      'increase(sum:req{host=*}, 5m)',
      [
        { tags: H1, value: 250 },
        { tags: H2, value: 150 },
      ],
    ],
    [
      'rate(sum:req{host=*}, 5m)',
      [
        { tags: H1, value: 250 / 300 },
        { tags: H2, value: 0.5 },
      ],
    ],
    [
      'rate(sum:req{host=*}, 1m)',
      [
        { tags: H1, value: 1 },
        { tags: H2, value: 0.5 },
      ],
    ],
    // Too few points for a rate.
    ['rate(sum:req{host=*}, 30s)', []],
    ['rate(sum:req{host=*}, 5m) * 60 > 40', [{ tags: H1, value: 50 }]],
    // The least-squares line through an exact line: 400 now, falling 2/s.
    ['predict_linear(avg:disk{host=*}, 5m, 4m)', [{ tags: H1, value: -80 }]],
    ['predict_linear(avg:disk{host=*}, 2m, 0s)', [{ tags: H1, value: 400 }]],
    ['predict_linear(avg:disk{host=*}, 5m, 4m) < 0', [{ tags: H1, value: -80 }]],
    ['predict_linear(avg:disk{host=*}, 5m, 1m) < 0', []],
    // OpenTSDB's own rate and downsampling inside the window.
    ['max_over(sum:rate:disk{host=*}, 5m)', [{ tags: H1, value: -2 }]],
    ['count_over(avg:2m-avg:lat{host=*}, 5m)', [{ tags: H1, value: 3 }]],
  ];
  it.each(cases)('%s', async (text, expected) => {
    expectResults(await run(text), expected);
  });
});

describe('evaluateExpr: absent', () => {
  const cases: Case[] = [
    // /push/pushd reported 30 minutes ago, within the 1h horizon, and not since.
    ['absent(sum:up{app=*}, 5m)', [{ tags: PUSHD, value: 1 }]],
    ['absent(none:up{app=*}, 5m)', [{ tags: { app: '/push/pushd', task: 't2' }, value: 1 }]],
    ['absent(sum:up{app=/a/web}, 5m)', []],
    ['absent(sum:up{app=*}, 45m)', []],
    // Nothing matches: one result carrying the selector's single-value tags.
    ['absent(sum:up{app=/missing/app,task=*}, 5m)', [{ tags: { app: '/missing/app' }, value: 1 }]],
    ['absent(sum:nothing, 5m)', [{ tags: {}, value: 1 }]],
    // With a 20m horizon /push/pushd's old point is out of sight: nothing matches.
    ['absent(sum:up{app=/push/pushd}, 5m, 20m)', [{ tags: PUSHD, value: 1 }]],
    ['absent(sum:up{app=/push/pushd|/a/web}, 5m, 20m)', []],
  ];
  it.each(cases)('%s', async (text, expected) => {
    expectResults(await run(text), expected);
  });
});

describe('requiredRange', () => {
  const cases: [string, number][] = [
    ['1 + 2', 0],
    ['sum:a', 5 * M],
    ['sum:1h-avg:a', 60 * M],
    ['avg_over(sum:a, 10m) + sum:b', 10 * M],
    ['sum:a > 1 and max_over(sum:b, 2m)', 5 * M],
    ['-predict_linear(sum:d, 6h, 4h)', 360 * M],
    ['absent(sum:a, 5m)', 60 * M],
    ['absent(sum:a, 45m)', 90 * M],
    ['absent(sum:a, 5m, 3h)', 180 * M],
  ];
  it.each(cases)('%s → %d ms', (text, ms) => {
    expect(requiredRange(parseExpr(text))).toBe(ms);
  });

  it('follows the lookback option', () => {
    expect(requiredRange(parseExpr('sum:a'), { lookbackMs: M })).toBe(M);
  });
});

describe('queries', () => {
  function counting(inner: ExprSource): ExprSource & { queries: MetricQuery[] } {
    const queries: MetricQuery[] = [];
    return {
      queries,
      query(q) {
        queries.push(q);
        return inner.query(q);
      },
    };
  }

  it('asks for each selector over its range, ending at the evaluation time', async () => {
    const src = counting(source);
    await evaluateExpr(parseExpr('sum:a{app=*} + avg_over(sum:b, 10m) + absent(sum:c, 5m)'), T, src);
    expect(src.queries.map((q) => [q.queries[0]!.metric, T - q.start, q.end])).toEqual([
      ['a', 5 * M, T],
      ['b', 10 * M, T],
      ['c', 60 * M, T],
    ]);
  });

  it('sends a selector read over the same range once per evaluation', async () => {
    const src = counting(source);
    const text = 'sum:limit{app=*} / sum:limit{app=*} + avg_over(sum:limit{app=*}, 5m)';
    const results = await evaluateExpr(parseExpr(text), T, src);
    expect(src.queries).toHaveLength(1);
    expect(results.map((r) => r.value)).toEqual([5, 11, 9]);
    await evaluateExpr(parseExpr('sum:limit{app=*} + avg_over(sum:limit{app=*}, 10m)'), T, src);
    expect(src.queries).toHaveLength(3);
  });

  it('shares queries across the rules of a cycle through a cached source', async () => {
    const src = counting(source);
    const cycle = createCachedSource(src);
    const rules = [
      'sum:usage{app=*} / sum:limit{app=*} > 0.5',
      'sum:limit{app=*} > 5',
      'avg_over(sum:usage{app=*}, 5m)',
      'sum:usage{app=*} > 1',
    ].map(parseExpr);
    await Promise.all(rules.map((r) => evaluateExpr(r, T, cycle)));
    expect(src.queries).toHaveLength(2);
    await evaluateExpr(rules[1]!, T + M, cycle);
    expect(src.queries).toHaveLength(3);
    await evaluateExpr(rules[1]!, T, createCachedSource(src));
    expect(src.queries).toHaveLength(4);
  });

  it('passes on a failure of the source', async () => {
    const failing: ExprSource = { query: () => Promise.reject(new Error('store down')) };
    await expect(evaluateExpr(parseExpr('sum:a > 1'), T, failing)).rejects.toThrow('store down');
  });
});
