import { describe, expect, it } from 'vitest';
import { formatLabelSet, formatMatchers, matchesAll, parseMatcher, parseMatchers } from './matchers.ts';

describe('parseMatcher', () => {
  it.each([
    ['severity="page"', { name: 'severity', type: '=', value: 'page' }],
    ['app=~"push.*"', { name: 'app', type: '=~', value: 'push.*' }],
    ['env!="dev"', { name: 'env', type: '!=', value: 'dev' }],
    ['env !~ "dev|test"', { name: 'env', type: '!~', value: 'dev|test' }],
    ['severity=page', { name: 'severity', type: '=', value: 'page' }],
    [
      'msg="a \\"quoted\\" value, with comma"',
      { name: 'msg', type: '=', value: 'a "quoted" value, with comma' },
    ],
    ['host=""', { name: 'host', type: '=', value: '' }],
  ])('%s', (text, expected) => {
    expect(parseMatcher(text)).toEqual(expected);
  });

  it.each([
    ['severity', /Expected =/],
    ['="x"', /Invalid label name/],
    ['app=~"("', /Invalid regular expression/],
    ['a="unterminated', /Unterminated/],
  ])('rejects %s', (text, message) => {
    expect(() => parseMatcher(text, 'route.matchers[0]')).toThrow(message);
  });
});

describe('parseMatchers', () => {
  it.each([
    ['{a="1", b=~"x.*"}', 2],
    ['a="1",b!="2",c=~"3"', 3],
    ['{}', 0],
    ['{msg="x,y",b="2"}', 2],
  ])('%s has %i matchers', (text, n) => {
    expect(parseMatchers(text)).toHaveLength(n);
  });

  it('round-trips through formatMatchers', () => {
    const ms = parseMatchers('{a="1",b=~"x.*",c!="q\\"uote"}');
    expect(parseMatchers(formatMatchers(ms))).toEqual(ms);
  });
});

describe('matchesAll', () => {
  const labels = { alertname: 'HighLatency', app: 'push-api', severity: 'page' };
  it.each([
    ['severity="page"', true],
    ['app=~"push.*"', true],
    ['app=~"push"', false],
    ['app!~"push.*"', false],
    ['env=""', true],
    ['env!=""', false],
    ['env=~".*"', true],
    ['severity="page",app="web"', false],
    ['', true],
  ])('%s → %s', (text, expected) => {
    expect(matchesAll(parseMatchers(text), labels)).toBe(expected);
  });
});

it('formats label sets as Alertmanager does', () => {
  expect(formatLabelSet({ b: '2', a: '1' })).toBe('{a="1", b="2"}');
  expect(formatLabelSet({})).toBe('{}');
});
