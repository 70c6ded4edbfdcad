/**
 * Label matchers as Alertmanager writes them (`severity="page"`, `app=~"push.*"`, `env!="dev"`,
 * lists like `{a="b", c!~"d.*"}`): parsing, formatting and matching. Regular expressions are
 * anchored at both ends, and a missing label matches as the empty string, as in Alertmanager.
 */
import { HubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';
import type { Matcher, MatchType } from './types.ts';

const NAME_RE = /^[\p{L}_][\p{L}0-9_.\-/]*$/u;
const OPS: MatchType[] = ['=~', '!~', '!=', '='];

const regexCache = new Map<string, RegExp>();

function compile(pattern: string, where: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(`^(?:${pattern})$`, 'u');
    } catch (e) {
      throw new HubError('BAD_REQUEST', `Invalid regular expression "${pattern}": ${(e as Error).message}`, {
        where,
        cause: e,
      });
    }
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** Checks a matcher's name and, for regex matchers, its pattern. */
export function validateMatcher(m: Matcher, where = 'matcher'): Matcher {
  if (!NAME_RE.test(m.name)) throw new HubError('BAD_REQUEST', `Invalid label name "${m.name}"`, { where });
  if (!OPS.includes(m.type)) throw new HubError('BAD_REQUEST', `Invalid match type "${m.type}"`, { where });
  if (m.type === '=~' || m.type === '!~') compile(m.value, where);
  return m;
}

function readQuoted(text: string, start: number, where: string): { value: string; end: number } {
  let out = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') return { value: out, end: i + 1 };
    if (c === '\\') {
      const n = text[++i];
      if (n === undefined) break;
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
    } else out += c;
  }
  throw new HubError('BAD_REQUEST', `Unterminated quoted value in "${text}"`, { where });
}

/** Parses one matcher at `pos` of `text`; returns it and where parsing stopped. */
function parseAt(text: string, pos: number, where: string): { matcher: Matcher; end: number } {
  let i = pos;
  while (text[i] === ' ') i++;
  const nameStart = i;
  while (i < text.length && !'=!~ '.includes(text[i]!)) i++;
  const name = text.slice(nameStart, i);
  while (text[i] === ' ') i++;
  const type = OPS.find((op) => text.startsWith(op, i));
  if (!type)
    throw new HubError('BAD_REQUEST', `Expected =, !=, =~ or !~ after "${name}" in "${text}"`, { where });
  i += type.length;
  while (text[i] === ' ') i++;
  let value: string;
  if (text[i] === '"') {
    const q = readQuoted(text, i, where);
    value = q.value;
    i = q.end;
  } else {
    const valueStart = i;
    while (i < text.length && text[i] !== ',' && text[i] !== '}') i++;
    value = text.slice(valueStart, i).trim();
  }
  while (text[i] === ' ') i++;
  return { matcher: validateMatcher({ name, type, value }, where), end: i };
}

/** Parses one matcher: `severity="page"`, `app=~"push.*"`, `env!=dev`. */
export function parseMatcher(text: string, where = 'matcher'): Matcher {
  const { matcher, end } = parseAt(text.trim(), 0, where);
  if (end !== text.trim().length)
    throw new HubError('BAD_REQUEST', `Unexpected text after the matcher in "${text}"`, { where });
  return matcher;
}

/** Parses a list of matchers, with or without braces: `{a="b", c=~"d"}` or `a="b",c=~"d"`. */
export function parseMatchers(text: string, where = 'matchers'): Matcher[] {
  let body = text.trim();
  if (body.startsWith('{')) {
    if (!body.endsWith('}')) throw new HubError('BAD_REQUEST', `Missing } in "${text}"`, { where });
    body = body.slice(1, -1).trim();
  }
  const out: Matcher[] = [];
  let i = 0;
  while (i < body.length) {
    const { matcher, end } = parseAt(body, i, where);
    out.push(matcher);
    i = end;
    if (i < body.length) {
      if (body[i] !== ',')
        throw new HubError('BAD_REQUEST', `Expected , between matchers in "${text}"`, { where });
      i++;
      while (body[i] === ' ') i++;
    }
  }
  return out;
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.type}${JSON.stringify(m.value)}`;
}

export function formatMatchers(ms: readonly Matcher[]): string {
  return `{${ms.map(formatMatcher).join(',')}}`;
}

export function matches(m: Matcher, labels: Tags): boolean {
  const v = labels[m.name] ?? '';
  switch (m.type) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return compile(m.value, m.name).test(v);
    case '!~':
      return !compile(m.value, m.name).test(v);
  }
}

/** Whether every matcher matches (an empty list matches everything). */
export function matchesAll(ms: readonly Matcher[], labels: Tags): boolean {
  return ms.every((m) => matches(m, labels));
}

/** The project a list of matchers is limited to: its `project="x"` equality matcher, if any. */
export function projectOfMatchers(ms: readonly Matcher[]): string | undefined {
  return ms.find((m) => m.name === 'project' && m.type === '=')?.value;
}

/** Labels as Alertmanager prints a label set: `{a="1", b="2"}`, sorted by name. */
export function formatLabelSet(labels: Tags): string {
  const keys = Object.keys(labels).sort();
  return `{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ')}}`;
}
