import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';
import type { FilterType, TagFilter } from '../../core/query.ts';
import { addFilter, compileFilters, filterFromTagValue } from './filters.ts';

function matches(type: FilterType, filter: string, host: string | undefined): boolean {
  const tags: Tags = host === undefined ? { dc: 'lga' } : { host, dc: 'lga' };
  return compileFilters([{ type, tagk: 'host', filter, groupBy: false }])(tags);
}

describe('compileFilters', () => {
  const cases: [FilterType, string, string | undefined, boolean][] = [
    ['literal_or', 'web01', 'web01', true],
    ['literal_or', 'web01|web02', 'web02', true],
    ['literal_or', 'web01|web02', 'web03', false],
    ['literal_or', 'web01', 'WEB01', false],
    ['literal_or', 'web01', undefined, false],
    ['iliteral_or', 'WEB01|web02', 'web01', true],
    ['iliteral_or', 'web01', 'Web01', true],
    ['iliteral_or', 'web01', 'web011', false],
    ['not_literal_or', 'web01|web02', 'web03', true],
    ['not_literal_or', 'web01|web02', 'web01', false],
    ['not_literal_or', 'web01', 'WEB01', true],
    ['not_literal_or', 'web01', undefined, false],
    ['not_iliteral_or', 'WEB01', 'web01', false],
    ['not_iliteral_or', 'web01', 'web02', true],
    ['not_iliteral_or', 'web01', undefined, false],
    ['wildcard', '*', 'anything', true],
    ['wildcard', '*', undefined, false],
    ['wildcard', 'web*', 'web01', true],
    ['wildcard', 'web*', 'db01', false],
    ['wildcard', '*01', 'web01', true],
    ['wildcard', '*01', 'web02', false],
    ['wildcard', '*eb*', 'web01', true],
    ['wildcard', 'w*b*1', 'web01', true],
    ['wildcard', 'w*b*1', 'web02', false],
    ['wildcard', 'a*a', 'a', false],
    ['wildcard', 'a*a', 'aa', true],
    ['wildcard', 'web*.tsdb.net', 'web01.tsdb.net', true],
    ['wildcard', 'web*.tsdb.net', 'web01.tsdb.org', false],
    ['wildcard', 'Web*', 'web01', false],
    ['iwildcard', 'Web*', 'WEB01', true],
    ['iwildcard', '*DB*', 'prod-db-1', true],
    ['iwildcard', 'web*', undefined, false],
    ['regexp', 'web[0-9]+', 'web01', true],
    ['regexp', 'web[0-9]+', 'xweb01x', true],
    ['regexp', '^web[0-9]+$', 'xweb01x', false],
    ['regexp', 'web.*', 'db01', false],
    ['regexp', '(?i)WEB', 'web01', true],
    ['regexp', '.*', undefined, false],
  ];
  it.each(cases)('%s(%s) on host=%s → %s', (type, filter, host, expected) => {
    expect(matches(type, filter, host)).toBe(expected);
  });

  it('ANDs several filters, also on the same key', () => {
    const filters: TagFilter[] = [
      { type: 'wildcard', tagk: 'host', filter: 'web*', groupBy: true },
      { type: 'literal_or', tagk: 'dc', filter: 'lga|sjc', groupBy: false },
      { type: 'not_literal_or', tagk: 'host', filter: 'web02', groupBy: false },
    ];
    const match = compileFilters(filters);
    expect(match({ host: 'web01', dc: 'lga' })).toBe(true);
    expect(match({ host: 'web02', dc: 'lga' })).toBe(false);
    expect(match({ host: 'web01', dc: 'ams' })).toBe(false);
    expect(match({ host: 'web01' })).toBe(false);
  });

  it('matches every series when there is no filter', () => {
    expect(compileFilters([])({})).toBe(true);
  });

  it('does not take inherited properties for tags', () => {
    const match = compileFilters([{ type: 'wildcard', tagk: 'constructor', filter: '*', groupBy: false }]);
    expect(match({ host: 'a' })).toBe(false);
  });

  const bad: [TagFilter, RegExp][] = [
    [{ type: 'regexp', tagk: 'host', filter: '(', groupBy: false }, /filters\[0\]: invalid regexp "\(":/],
    [{ type: 'wildcard', tagk: 'host', filter: 'web', groupBy: false }, /must contain a \*/],
    [{ type: 'literal_or', tagk: 'host', filter: '', groupBy: false }, /non-empty/],
    [{ type: 'literal_or', tagk: '', filter: 'a', groupBy: false }, /tagk/],
    [{ type: 'glob' as FilterType, tagk: 'host', filter: 'a', groupBy: false }, /unknown filter type "glob"/],
  ];
  it.each(bad)('rejects %j', (filter, message) => {
    expect(() => compileFilters([filter])).toThrow(message);
    try {
      compileFilters([filter]);
    } catch (e) {
      expect(e).toBeInstanceOf(HubError);
      expect((e as HubError).code).toBe('INVALID_QUERY');
      expect((e as HubError).where).toBe('filters[0]');
    }
  });
});

describe('filterFromTagValue (legacy tags)', () => {
  const cases: [string, boolean, TagFilter][] = [
    ['*', true, { type: 'wildcard', tagk: 'host', filter: '*', groupBy: true }],
    ['web01|web02', true, { type: 'literal_or', tagk: 'host', filter: 'web01|web02', groupBy: true }],
    ['web01', true, { type: 'literal_or', tagk: 'host', filter: 'web01', groupBy: true }],
    ['web*', true, { type: 'iwildcard', tagk: 'host', filter: 'web*', groupBy: true }],
    ['regexp(web.*)', false, { type: 'regexp', tagk: 'host', filter: 'web.*', groupBy: false }],
    ['Wildcard(web*)', true, { type: 'wildcard', tagk: 'host', filter: 'web*', groupBy: true }],
    ['not_literal_or(a|b)', false, { type: 'not_literal_or', tagk: 'host', filter: 'a|b', groupBy: false }],
  ];
  it.each(cases)('host=%s (group by %s)', (value, groupBy, expected) => {
    expect(filterFromTagValue('host', value, groupBy, 'tags.host')).toEqual(expected);
  });

  it('rejects an unknown filter type and an empty value', () => {
    expect(() => filterFromTagValue('host', 'glob(a*)', true, 'tags.host')).toThrow(
      /^tags\.host: unknown filter type "glob"/,
    );
    expect(() => filterFromTagValue('host', '', true, 'tags.host')).toThrow(/empty value/);
  });
});

describe('addFilter', () => {
  it('keeps one copy of a repeated filter and turns its group-by on', () => {
    const filters: TagFilter[] = [];
    addFilter(filters, { type: 'wildcard', tagk: 'host', filter: '*', groupBy: false });
    addFilter(filters, { type: 'wildcard', tagk: 'host', filter: '*', groupBy: true });
    addFilter(filters, { type: 'literal_or', tagk: 'host', filter: 'a', groupBy: false });
    expect(filters).toEqual([
      { type: 'wildcard', tagk: 'host', filter: '*', groupBy: true },
      { type: 'literal_or', tagk: 'host', filter: 'a', groupBy: false },
    ]);
  });
});
