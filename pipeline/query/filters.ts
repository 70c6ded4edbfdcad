/**
 * OpenTSDB 2.x tag value filters, compiled to plain predicates. A series that lacks the filter's
 * tag key never matches it (OpenTSDB's scan only returns rows that carry every filtered key).
 */
import { HubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';
import { FILTER_TYPES, type FilterType, type TagFilter } from '../../core/query.ts';

type ValueTest = (value: string) => boolean;

/** The hub's error for a bad query: the message starts with `where`, which is also kept apart. */
export function invalidQuery(where: string, message: string): HubError {
  return new HubError('INVALID_QUERY', `${where}: ${message}`, { where });
}

/** Whether `type` is one of OpenTSDB's built-in filter names (lower case). */
export function isFilterType(type: string): type is FilterType {
  return (FILTER_TYPES as readonly string[]).includes(type);
}

function literalTest(filter: string, caseInsensitive: boolean, negate: boolean): ValueTest {
  const values = new Set(filter.split('|').map((v) => (caseInsensitive ? v.toLowerCase() : v)));
  if (caseInsensitive) return (v) => values.has(v.toLowerCase()) !== negate;
  return (v) => values.has(v) !== negate;
}

/** Glob with `*` only: the fixed pieces must appear in order, anchored unless a `*` is at the end. */
function globTest(pattern: string, caseInsensitive: boolean, where: string): ValueTest {
  if (!pattern.includes('*')) throw invalidQuery(where, `wildcard filter "${pattern}" must contain a *`);
  const glob = caseInsensitive ? pattern.toLowerCase() : pattern;
  const pieces = glob.split('*');
  if (pieces.every((p) => p === '')) return () => true;
  const head = pieces[0]!;
  const tail = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((p) => p !== '');
  return (raw) => {
    const v = caseInsensitive ? raw.toLowerCase() : raw;
    if (v.length < head.length + tail.length || !v.startsWith(head) || !v.endsWith(tail)) return false;
    let at = head.length;
    const limit = v.length - tail.length;
    for (const piece of middle) {
      const found = v.indexOf(piece, at);
      if (found < 0 || found + piece.length > limit) return false;
      at = found + piece.length;
    }
    return true;
  };
}

const INLINE_FLAGS = /^\(\?([imsu]+)\)/;

/**
 * Java's `Pattern.compile(filter).matcher(value).find()`: a match anywhere in the value, so JS
 * `RegExp.test` without anchors. A leading Java inline flag group such as `(?i)` becomes JS flags.
 */
function regexpTest(filter: string, where: string): ValueTest {
  const flags = INLINE_FLAGS.exec(filter);
  const source = flags ? filter.slice(flags[0].length) : filter;
  let re: RegExp;
  try {
    re = new RegExp(source, flags ? [...new Set(flags[1]!)].join('') : '');
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new HubError('INVALID_QUERY', `${where}: invalid regexp "${filter}": ${reason}`, {
      where,
      cause: e,
    });
  }
  return (v) => re.test(v);
}

function valueTest(f: TagFilter, where: string): ValueTest {
  switch (f.type) {
    case 'literal_or':
      return literalTest(f.filter, false, false);
    case 'iliteral_or':
      return literalTest(f.filter, true, false);
    case 'not_literal_or':
      return literalTest(f.filter, false, true);
    case 'not_iliteral_or':
      return literalTest(f.filter, true, true);
    case 'wildcard':
      return globTest(f.filter, false, where);
    case 'iwildcard':
      return globTest(f.filter, true, where);
    case 'regexp':
      return regexpTest(f.filter, where);
    default:
      throw invalidQuery(
        where,
        `unknown filter type "${String(f.type)}" (known: ${FILTER_TYPES.join(', ')})`,
      );
  }
}

/** Checks one filter and compiles its value test; `where` names it in errors. */
export function compileFilter(f: TagFilter, where = 'filter'): ValueTest {
  if (typeof f.tagk !== 'string' || f.tagk === '')
    throw invalidQuery(where, 'tagk must be a non-empty string');
  if (typeof f.filter !== 'string' || f.filter === '')
    throw invalidQuery(where, `filter for tag "${f.tagk}" must be a non-empty string`);
  return valueTest(f, where);
}

/**
 * Compiles filters into one predicate over a series' tags. Filters AND together; a series without
 * a filter's tag key does not match. Throws `HubError('INVALID_QUERY')` on a bad filter.
 */
export function compileFilters(filters: TagFilter[]): (tags: Tags) => boolean {
  const keys: string[] = [];
  const tests: ValueTest[] = [];
  filters.forEach((f, i) => {
    tests.push(compileFilter(f, `filters[${i}]`));
    keys.push(f.tagk);
  });
  const n = keys.length;
  return (tags) => {
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      if (!Object.hasOwn(tags, key)) return false;
      if (!tests[i]!(tags[key]!)) return false;
    }
    return true;
  };
}

/**
 * OpenTSDB's reading of a legacy tag value (`tags` map, `m` braces): `*` is a wildcard group-by,
 * `type(value)` a typed filter, a value with `*` a case-insensitive wildcard, anything else
 * (`a` or `a|b`) a literal_or.
 */
export function filterFromTagValue(tagk: string, value: string, groupBy: boolean, where: string): TagFilter {
  if (value === '') throw invalidQuery(where, `empty value for tag "${tagk}"`);
  const typed = /^([A-Za-z_]+)\(([\s\S]*)\)$/.exec(value);
  if (typed) {
    const type = typed[1]!.toLowerCase();
    if (!isFilterType(type))
      throw invalidQuery(where, `unknown filter type "${typed[1]}" (known: ${FILTER_TYPES.join(', ')})`);
    return { type, tagk, filter: typed[2]!, groupBy };
  }
  if (value === '*') return { type: 'wildcard', tagk, filter: '*', groupBy };
  if (value.includes('*')) return { type: 'iwildcard', tagk, filter: value, groupBy };
  return { type: 'literal_or', tagk, filter: value, groupBy };
}

/** Adds a filter unless an identical one is there; a duplicate only turns group-by on. */
export function addFilter(filters: TagFilter[], f: TagFilter): void {
  const same = filters.find((g) => g.type === f.type && g.tagk === f.tagk && g.filter === f.filter);
  if (same) same.groupBy ||= f.groupBy;
  else filters.push(f);
}
