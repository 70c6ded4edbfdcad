import { describe, expect, it } from 'vitest';
import type { SubQuery, TagFilter } from '../../../core/query.ts';
import { compileFilters } from '../../query/filters.ts';
import {
  escapeRegex,
  filterMatcher,
  globToRegex,
  lookupSelector,
  parseExport,
  promData,
  quoteLabelValue,
  subQuerySelector,
} from './prometheus-reads.ts';

const f = (type: TagFilter['type'], tagk: string, filter: string): TagFilter => ({
  type,
  tagk,
  filter,
  groupBy: false,
});

const sub = (filters: TagFilter[], metric = 'sys.cpu.user'): SubQuery => ({
  metric,
  aggregator: 'sum',
  rate: false,
  filters,
  explicitTags: false,
});

describe('escapeRegex and quoteLabelValue', () => {
  it.each([
    ['web.01', 'web\\.01'],
    ['a|b', 'a\\|b'],
    ['(x)*+?[y]{2}^$\\', '\\(x\\)\\*\\+\\?\\[y\\]\\{2\\}\\^\\$\\\\'],
    ['plain-name_1/x', 'plain-name_1/x'],
  ])('escapeRegex(%j) = %j', (input, want) => {
    expect(escapeRegex(input)).toBe(want);
    expect(new RegExp(`^${escapeRegex(input)}$`).test(input)).toBe(true);
  });

  it.each([
    ['abc', '"abc"'],
    ['a"b', '"a\\"b"'],
    ['a\\.b', '"a\\\\.b"'],
    ['two\nlines', '"two\\nlines"'],
  ])('quoteLabelValue(%j) = %s', (input, want) => {
    expect(quoteLabelValue(input)).toBe(want);
    expect(JSON.parse(want)).toBe(input);
  });
});

describe('filterMatcher narrows safely', () => {
  it.each<[TagFilter, string | undefined]>([
    [f('literal_or', 'host', 'web.1|web.2'), 'host=~"web\\\\.1|web\\\\.2"'],
    [f('wildcard', 'host', '*'), 'host=~".+"'],
    [f('wildcard', 'host', 'web*.lan'), 'host=~"web.*\\\\.lan"'],
    [f('iwildcard', 'host', 'WEB*'), 'host=~".+"'],
    [f('iliteral_or', 'host', 'Web'), 'host=~".+"'],
    [f('not_literal_or', 'host', 'a'), 'host=~".+"'],
    [f('regexp', 'host', '^web'), 'host=~".+"'],
    [f('literal_or', 'k-dash', 'a'), undefined],
    [f('literal_or', '__name__', 'a'), undefined],
  ])('%j → %s', (filter, want) => {
    expect(filterMatcher(filter)).toBe(want);
  });

  it.each([
    ['web*', ['web', 'web1', 'web.x'], ['xweb', 'we']],
    ['*db', ['db', 'mydb'], ['dbx']],
    ['a*b*c', ['abc', 'a-b-c', 'abbc'], ['acb', 'ab']],
    ['a.b*', ['a.b', 'a.bc'], ['axb']],
  ])('globToRegex(%j) keeps what the wildcard filter keeps', (glob, hits, misses) => {
    const re = new RegExp(`^(?:${globToRegex(glob)})$`);
    const hub = compileFilters([f('wildcard', 'h', glob)]);
    for (const v of [...hits, ...misses]) expect(re.test(v)).toBe(hub({ h: v }));
    for (const v of hits) expect(re.test(v)).toBe(true);
  });
});

describe('selectors', () => {
  it.each<[SubQuery, { projects: string[] } | undefined, string]>([
    [sub([]), undefined, '{__name__="sys.cpu.user"}'],
    [
      sub([f('literal_or', 'app', 'a|b'), f('wildcard', 'app', 'x*'), f('wildcard', 'host', '*')]),
      undefined,
      '{__name__="sys.cpu.user",app=~"a|b",host=~".+"}',
    ],
    [sub([]), { projects: ['p.1', 'p2'] }, '{__name__="sys.cpu.user",project=~"p\\\\.1|p2"}'],
    [
      sub([f('literal_or', 'project', 'p2')]),
      { projects: ['p1', 'p2'] },
      '{__name__="sys.cpu.user",project=~"p2"}',
    ],
    [sub([], 'we"ird'), undefined, '{__name__="we\\"ird"}'],
  ])('subQuerySelector %#', (q, scope, want) => {
    expect(subQuerySelector(q, scope)).toBe(want);
  });

  it.each<[string, Record<string, string>, { projects: string[] } | undefined, string]>([
    ['*', {}, undefined, '{__name__=~".+"}'],
    ['m.x', { host: '*', app: 'web' }, undefined, '{__name__="m.x",host=~".+",app="web"}'],
    ['m.x', { '*': 'web', 'k-d': 'v' }, { projects: ['p'] }, '{__name__="m.x",project=~"p"}'],
  ])('lookupSelector(%j, %j)', (metric, tags, scope, want) => {
    expect(lookupSelector(metric, tags, scope)).toBe(want);
  });
});

describe('parseExport', () => {
  it('turns JSON lines into raw series, merging split blocks in time order, later duplicate wins', () => {
    const text = [
      '{"metric":{"__name__":"m","host":"a"},"values":[3,4],"timestamps":[3000,4000]}',
      '',
      '{"metric":{"__name__":"m","host":"b"},"values":[1.5],"timestamps":[1000]}',
      '{"metric":{"host":"a","__name__":"m"},"values":[1,9],"timestamps":[1000,4000]}',
    ].join('\n');
    expect(parseExport(text)).toEqual([
      { metric: 'm', tags: { host: 'a' }, ts: [1000, 3000, 4000], values: [1, 3, 9] },
      { metric: 'm', tags: { host: 'b' }, ts: [1000], values: [1.5] },
    ]);
  });

  it('reads the special values VictoriaMetrics writes as strings', () => {
    const [s] = parseExport(
      '{"metric":{"__name__":"m"},"values":["NaN","+Inf","-Inf","2.5"],"timestamps":[1,2,3,4]}',
    );
    expect(s!.values).toEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2.5]);
  });

  it.each([
    ['not json', /export line 2: not JSON/],
    ['{"metric":{"__name__":"m"}}', /export line 2: want \{metric, values, timestamps\}/],
    [
      '{"metric":{"__name__":"m"},"values":["x"],"timestamps":[1]}',
      /export line 2: value "x" is not a number/,
    ],
  ])('fails with UPSTREAM_FAILED naming the line for %j', (line, message) => {
    const text = `{"metric":{"__name__":"m"},"values":[1],"timestamps":[1]}\n${line}`;
    expect(() => parseExport(text)).toThrow(message);
    try {
      parseExport(text);
    } catch (e) {
      expect(e).toMatchObject({ code: 'UPSTREAM_FAILED' });
    }
  });
});

describe('promData', () => {
  it('answers data of a success, UPSTREAM_FAILED with the error otherwise', () => {
    expect(promData({ status: 'success', data: ['a'] }, 'x')).toEqual(['a']);
    expect(() => promData({ status: 'error', error: 'bad match' }, '/api/v1/series')).toThrow(
      '/api/v1/series: unexpected answer: bad match',
    );
  });
});
