import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import type { SubQuery } from '../../core/query.ts';
import { parseQueryBody, parseQueryParams } from './parse.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const HOUR = 3_600_000;

function sub(q: Record<string, unknown>): SubQuery {
  return parseQueryBody({ start: '1h-ago', queries: [{ aggregator: 'sum', metric: 'm', ...q }] }, NOW)
    .queries[0]!;
}

function failure(run: () => unknown): HubError {
  try {
    run();
  } catch (e) {
    if (e instanceof HubError) return e;
    throw e;
  }
  throw new Error('expected a HubError');
}

describe('parseQueryBody', () => {
  it('parses a minimal query with defaults', () => {
    const raw = [{ aggregator: 'sum', metric: 'sys.cpu.user' }];
    expect(parseQueryBody({ start: '1h-ago', queries: raw }, NOW)).toEqual({
      start: NOW - HOUR,
      end: NOW,
      queries: [{ metric: 'sys.cpu.user', aggregator: 'sum', rate: false, filters: [], explicitTags: false }],
      msResolution: false,
      showQuery: false,
      raw,
    });
  });

  it('reads absolute times in seconds, ms and OpenTSDB dates, and the flags', () => {
    const q = parseQueryBody(
      {
        start: 1_795_690_800,
        end: '2026/11/26-12:00:00',
        msResolution: 'true',
        showQuery: true,
        queries: [{ aggregator: 'avg', metric: 'm' }],
      },
      0,
    );
    expect([q.start, q.end, q.msResolution, q.showQuery]).toEqual([NOW - HOUR, NOW, true, true]);
    expect(
      parseQueryBody({ start: '2h-ago', ms: true, queries: [{ aggregator: 'sum', metric: 'm' }] }, NOW),
    ).toMatchObject({ start: NOW - 2 * HOUR, msResolution: true });
  });

  it.each([
    ['1m-avg', { intervalMs: 60_000, aggregator: 'avg', fill: 'none' }],
    ['1h-sum-zero', { intervalMs: HOUR, aggregator: 'sum', fill: 'zero' }],
    ['0all-max', { intervalMs: 0, aggregator: 'max', fill: 'none' }],
    ['5m-p99-nan', { intervalMs: 300_000, aggregator: 'p99', fill: 'nan' }],
    ['30s-count-null', { intervalMs: 30_000, aggregator: 'count', fill: 'null' }],
    ['1M-AVG-ZERO', undefined],
  ])('reads downsample %s', (downsample, expected) => {
    if (expected) expect(sub({ downsample }).downsample).toEqual(expected);
    else expect(() => sub({ downsample })).toThrow(/invalid downsample interval "1M"/);
  });

  it('reads rate and rate options', () => {
    expect(sub({ rate: true })).toMatchObject({
      rate: true,
      rateOptions: { counter: false, dropResets: false },
    });
    expect(
      sub({
        rate: 'true',
        rateOptions: { counter: true, counterMax: 65535, resetValue: 1000, dropResets: false },
      }),
    ).toMatchObject({ rate: true, rateOptions: { counter: true, counterMax: 65535, resetValue: 1000 } });
    expect(sub({ rate: true, rateOptions: { counter: true, dropResets: true } }).rateOptions).toEqual({
      counter: true,
      dropResets: true,
    });
  });

  it('reads filters, legacy tags and explicitTags', () => {
    const q = sub({
      filters: [
        { type: 'regexp', tagk: 'host', filter: 'web[0-9]+', groupBy: true },
        { type: 'Literal_Or', tagk: 'dc', filter: 'lax|dal' },
      ],
      tags: { app: '*', env: 'prod|stage', zone: 'a', role: 'web*', rack: 'wildcard(r1*)' },
      explicitTags: true,
    });
    expect(q.explicitTags).toBe(true);
    expect(q.filters).toEqual([
      { type: 'regexp', tagk: 'host', filter: 'web[0-9]+', groupBy: true },
      { type: 'literal_or', tagk: 'dc', filter: 'lax|dal', groupBy: false },
      { type: 'wildcard', tagk: 'app', filter: '*', groupBy: true },
      { type: 'literal_or', tagk: 'env', filter: 'prod|stage', groupBy: true },
      { type: 'literal_or', tagk: 'zone', filter: 'a', groupBy: true },
      { type: 'iwildcard', tagk: 'role', filter: 'web*', groupBy: true },
      { type: 'wildcard', tagk: 'rack', filter: 'r1*', groupBy: true },
    ]);
  });

  it('parses a JSON string body', () => {
    expect(
      parseQueryBody('{"start":"1h-ago","queries":[{"aggregator":"sum","metric":"m"}]}', NOW).start,
    ).toBe(NOW - HOUR);
  });

  const q0 = { aggregator: 'sum', metric: 'm' };
  const bad: [string, unknown, string, RegExp][] = [
    ['a non-object body', [1], 'body', /must be a JSON object/],
    ['invalid JSON', '{"start":', 'body', /not valid JSON/],
    ['a missing start', { queries: [q0] }, 'start', /start time is required/],
    ['a bad start', { start: 'yesterday', queries: [q0] }, 'start', /invalid time "yesterday"/],
    ['a bad end', { start: '1h-ago', end: '1x-ago', queries: [q0] }, 'end', /invalid time "1x-ago"/],
    ['start after end', { start: '1h-ago', end: '2h-ago', queries: [q0] }, 'start', /must be before end/],
    ['no queries', { start: '1h-ago' }, 'queries', /at least one sub-query/],
    ['empty queries', { start: '1h-ago', queries: [] }, 'queries', /at least one sub-query/],
    ['a non-object query', { start: '1h-ago', queries: [q0, 'sum:m'] }, 'queries[1]', /must be an object/],
    [
      'an unknown aggregator',
      { start: '1h-ago', queries: [q0, { aggregator: 'avgg', metric: 'm' }] },
      'queries[1].aggregator',
      /^queries\[1\]\.aggregator: unknown aggregator "avgg"/,
    ],
    [
      'a missing aggregator',
      { start: '1h-ago', queries: [{ metric: 'm' }] },
      'queries[0].aggregator',
      /required/,
    ],
    [
      'a missing metric',
      { start: '1h-ago', queries: [{ aggregator: 'sum' }] },
      'queries[0].metric',
      /required/,
    ],
    [
      'a tsuid query',
      { start: '1h-ago', queries: [{ aggregator: 'sum', tsuids: ['0101'] }] },
      'queries[0].metric',
      /tsuids queries are not supported/,
    ],
    [
      'a bad metric name',
      { start: '1h-ago', queries: [{ aggregator: 'sum', metric: 'a b' }] },
      'queries[0].metric',
      /invalid metric name "a b"/,
    ],
    ...(
      [
        ['1x-avg', /invalid downsample interval "1x"/],
        ['1m', /invalid downsample "1m"/],
        ['1m-avgg', /unknown aggregator "avgg"/],
        ['1m-avg-foo', /unknown fill policy "foo"/],
        ['0m-avg', /greater than zero/],
        ['1dc-sum', /calendar downsampling "1dc-sum" is not supported/],
        ['1m-avg-zero-x', /invalid downsample/],
      ] as const
    ).map(([downsample, message]): [string, unknown, string, RegExp] => [
      `downsample ${downsample}`,
      { start: '1h-ago', queries: [{ ...q0, downsample }] },
      'queries[0].downsample',
      message,
    ]),
    [
      'too many filled buckets',
      { start: '1y-ago', queries: [{ ...q0, downsample: '1s-sum-zero' }] },
      'queries[0].downsample',
      /would fill 31536001 buckets per series/,
    ],
    [
      'an unknown filter type',
      { start: '1h-ago', queries: [{ ...q0, filters: [{ type: 'glob', tagk: 'host', filter: 'a' }] }] },
      'queries[0].filters[0].type',
      /unknown filter type "glob"/,
    ],
    [
      'an invalid regexp',
      { start: '1h-ago', queries: [{ ...q0, filters: [{ type: 'regexp', tagk: 'host', filter: 'web[' }] }] },
      'queries[0].filters[0]',
      /invalid regexp "web\["/,
    ],
    [
      'a wildcard without *',
      { start: '1h-ago', queries: [{ ...q0, filters: [{ type: 'wildcard', tagk: 'host', filter: 'web' }] }] },
      'queries[0].filters[0]',
      /must contain a \*/,
    ],
    [
      'a filter without tagk',
      { start: '1h-ago', queries: [{ ...q0, filters: [{ type: 'wildcard', filter: '*' }] }] },
      'queries[0].filters[0].tagk',
      /must be a tag name/,
    ],
    [
      'an unknown legacy filter type',
      { start: '1h-ago', queries: [{ ...q0, tags: { host: 'glob(a)' } }] },
      'queries[0].tags.host',
      /unknown filter type "glob"/,
    ],
    [
      'a non-boolean rate',
      { start: '1h-ago', queries: [{ ...q0, rate: 'yes' }] },
      'queries[0].rate',
      /true or false/,
    ],
    [
      'a bad counterMax',
      { start: '1h-ago', queries: [{ ...q0, rate: true, rateOptions: { counter: true, counterMax: 'x' } }] },
      'queries[0].rateOptions.counterMax',
      /must be a number/,
    ],
    ['a delete', { start: '1h-ago', delete: true, queries: [q0] }, 'delete', /not supported/],
    ['useCalendar', { start: '1h-ago', useCalendar: true, queries: [q0] }, 'useCalendar', /not supported/],
  ];
  it.each(bad)('rejects %s', (_name, body, where, message) => {
    const e = failure(() => parseQueryBody(body, NOW));
    expect(e.code).toBe('INVALID_QUERY');
    expect(e.where).toBe(where);
    expect(e.message).toMatch(message);
    expect(e.message.startsWith(`${where}: `)).toBe(true);
  });
});

function params(m: string | string[], extra = 'start=1h-ago'): URLSearchParams {
  const p = new URLSearchParams(extra);
  for (const one of Array.isArray(m) ? m : [m]) p.append('m', one);
  return p;
}

describe('parseQueryParams (m syntax)', () => {
  it('parses the full syntax', () => {
    const q = parseQueryParams(params('sum:rate{counter}:1m-avg:metric.name{host=a|b}{app=*web*}'), NOW);
    expect(q).toEqual({
      start: NOW - HOUR,
      end: NOW,
      queries: [
        {
          metric: 'metric.name',
          aggregator: 'sum',
          rate: true,
          rateOptions: { counter: true, dropResets: false },
          downsample: { intervalMs: 60_000, aggregator: 'avg', fill: 'none' },
          filters: [
            { type: 'literal_or', tagk: 'host', filter: 'a|b', groupBy: true },
            { type: 'iwildcard', tagk: 'app', filter: '*web*', groupBy: false },
          ],
          explicitTags: false,
        },
      ],
      msResolution: false,
      showQuery: false,
      raw: ['sum:rate{counter}:1m-avg:metric.name{host=a|b}{app=*web*}'],
    });
  });

  const cases: [string, Partial<SubQuery>][] = [
    ['avg:sys.cpu', { aggregator: 'avg', metric: 'sys.cpu', filters: [] }],
    ['sum:m{host=*}', { filters: [{ type: 'wildcard', tagk: 'host', filter: '*', groupBy: true }] }],
    [
      'sum:m{host=web01}',
      { filters: [{ type: 'literal_or', tagk: 'host', filter: 'web01', groupBy: true }] },
    ],
    [
      'sum:m{host=wildcard(web*),dc=lga}',
      {
        filters: [
          { type: 'wildcard', tagk: 'host', filter: 'web*', groupBy: true },
          { type: 'literal_or', tagk: 'dc', filter: 'lga', groupBy: true },
        ],
      },
    ],
    [
      'sum:m{}{host=regexp(web[0-9]{2}:a,b)}',
      { filters: [{ type: 'regexp', tagk: 'host', filter: 'web[0-9]{2}:a,b', groupBy: false }] },
    ],
    [
      'sum:m{}{host=literal_or(a|b),dc=not_iliteral_or(X)}',
      {
        filters: [
          { type: 'literal_or', tagk: 'host', filter: 'a|b', groupBy: false },
          { type: 'not_iliteral_or', tagk: 'dc', filter: 'X', groupBy: false },
        ],
      },
    ],
    ['sum:rate:m', { rate: true, rateOptions: { counter: false, dropResets: false } }],
    [
      'sum:rate{counter,1000,50}:m',
      { rate: true, rateOptions: { counter: true, dropResets: false, counterMax: 1000, resetValue: 50 } },
    ],
    ['sum:rate{counter,,50}:m', { rateOptions: { counter: true, dropResets: false, resetValue: 50 } }],
    ['sum:rate{dropcounter}:m', { rateOptions: { counter: true, dropResets: true } }],
    ['max:0all-max:m', { downsample: { intervalMs: 0, aggregator: 'max', fill: 'none' } }],
    [
      'sum:1h-sum-zero:rate:m',
      { rate: true, downsample: { intervalMs: HOUR, aggregator: 'sum', fill: 'zero' } },
    ],
    ['sum:explicit_tags:m{host=a}', { explicitTags: true }],
    ['ZIMSUM:m', { aggregator: 'zimsum' }],
  ];
  it.each(cases)('m=%s', (m, expected) => {
    expect(parseQueryParams(params(m), NOW).queries[0]).toMatchObject(expected);
  });

  it('takes several m, the ms and show_query flags, and an end', () => {
    const q = parseQueryParams(params(['sum:a', 'max:b'], 'start=2h-ago&end=1h-ago&ms&show_query'), NOW);
    expect(q.queries.map((s) => s.metric)).toEqual(['a', 'b']);
    expect([q.start, q.end, q.msResolution, q.showQuery]).toEqual([NOW - 2 * HOUR, NOW - HOUR, true, true]);
    expect(parseQueryParams(params('sum:a', 'start=1h-ago&ms=false'), NOW).msResolution).toBe(false);
  });

  const bad: [string, string, RegExp][] = [
    ['avgg:m', 'm[0] column 1', /unknown aggregator "avgg"/],
    ['m', 'm[0] column 1', /expected AGG:/],
    ['sum:', 'm[0] column 5', /missing metric/],
    ['sum:a b', 'm[0] column 5', /invalid metric name "a b"/],
    ['sum:1x-avg:m', 'm[0] column 5', /invalid downsample interval "1x"/],
    ['sum:1m-avg-foo:m', 'm[0] column 5', /unknown fill policy "foo"/],
    ['sum:foo:m', 'm[0] column 5', /unknown part "foo"/],
    ['sum:rate{x}:m', 'm[0] column 5', /invalid rate options/],
    ['sum:rate{counter,abc}:m', 'm[0] column 5', /counter max "abc" must be a whole number/],
    ['sum:m{host=foo(a)}', 'm[0] column 12', /unknown filter type "foo"/],
    ['sum:m{host=regexp(web[)}', 'm[0] column 12', /invalid regexp "web\["/],
    ['sum:m{host=wildcard(web)}', 'm[0] column 12', /must contain a \*/],
    ['sum:m{host=}', 'm[0] column 12', /empty value for tag "host"/],
    ['sum:m{host}', 'm[0] column 7', /expected tagk=value/],
    ['sum:m{host=a', 'm[0] column 13', /unclosed "\{"/],
    ['sum:m{host=a}}', 'm[0] column 14', /unexpected "\}"/],
    ['sum:m{host=regexp(a}', 'm[0] column 18', /unclosed "\("/],
    ['sum:m{a=b}{c=d}{e=f}', 'm[0] column 16', /at most two filter groups/],
    ['sum:m{a=b}x', 'm[0] column 11', /unexpected text after the filters/],
  ];
  it.each(bad)('rejects m=%s at %s', (m, where, message) => {
    const e = failure(() => parseQueryParams(params(m), NOW));
    expect(e.code).toBe('INVALID_QUERY');
    expect(e.where).toBe(where);
    expect(e.message).toMatch(message);
    expect(e.message).toContain(`in "${m}"`);
  });

  it('names the m parameter by its index', () => {
    expect(failure(() => parseQueryParams(params(['sum:a', 'bad:b']), NOW)).where).toBe('m[1] column 1');
  });

  it('requires start and m', () => {
    expect(failure(() => parseQueryParams(new URLSearchParams('m=sum:a'), NOW)).where).toBe('start');
    expect(failure(() => parseQueryParams(new URLSearchParams('start=1h-ago'), NOW)).message).toMatch(
      /^m: at least one m parameter is required/,
    );
  });

  it('never throws anything but INVALID_QUERY, whatever the input', () => {
    const token = fc.constantFrom(
      ...'sum avg p99 none : { } ( ) = , | * - 1m 0all rate counter dropcounter regexp wildcard literal_or host m . \\ [ ] nan zero explicit_tags'.split(
        ' ',
      ),
    );
    const mLike = fc
      .array(fc.oneof(token, fc.string({ maxLength: 3 })), { maxLength: 20 })
      .map((t) => t.join(''));
    const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), mLike);
    const check = (search: URLSearchParams) => {
      try {
        parseQueryParams(search, NOW);
      } catch (e) {
        if (!(e instanceof HubError) || e.code !== 'INVALID_QUERY') throw e;
      }
    };
    fc.assert(
      fc.property(anyText, anyText, (a, b) => {
        check(new URLSearchParams(a));
        check(params(a));
        check(params(`sum:${a}`));
        check(new URLSearchParams({ start: a, end: b, m: 'sum:m' }));
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
