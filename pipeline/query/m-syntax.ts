/**
 * OpenTSDB's `m` query-string syntax:
 * `AGG:[INTERVAL-DS[-FILL]:][rate[{counter[,max[,reset]]}]:][explicit_tags:]METRIC[{group-by}][{other}]`.
 * Errors name the `m` parameter and the 1-based column.
 */
import { HubError } from '../../core/errors.ts';
import type { RateOptions, SubQuery, TagFilter } from '../../core/query.ts';
import { addFilter, compileFilter, filterFromTagValue, invalidQuery } from './filters.ts';
import { parseAggregator, parseDownsample } from './spec.ts';

type Part = { text: string; at: number };

const METRIC_RE = /^[\p{L}0-9\-_./]+$/u;
const TAGK_RE = METRIC_RE;
const MAX_RATE_NUMBER = 2 ** 63;

/** A problem at a 0-based position of the `m` string; becomes a HubError at the top. */
class ColumnError {
  constructor(
    readonly at: number,
    readonly message: string,
  ) {}
}

/** Runs one of the shared parsers, moving its HubError to position `at` of the `m` string. */
function atColumn<T>(at: number, where: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof HubError) throw new ColumnError(at, e.message.replace(`${where}: `, ''));
    throw e;
  }
}

/** Index just past the `)` closing the `(` at `open`; backslash escapes one character. */
function skipParens(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  throw new ColumnError(open, 'unclosed "("');
}

/** Splits on `:` outside braces; inside braces, parenthesised filter values are skipped whole. */
function splitParts(m: string): Part[] {
  const parts: Part[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < m.length; i++) {
    const c = m[i];
    if (c === '(' && depth > 0) i = skipParens(m, i) - 1;
    else if (c === '{') depth++;
    else if (c === '}') {
      if (--depth < 0) throw new ColumnError(i, 'unexpected "}"');
    } else if (c === ':' && depth === 0) {
      parts.push({ text: m.slice(from, i), at: from });
      from = i + 1;
    }
  }
  if (depth > 0) throw new ColumnError(m.length, 'unclosed "{"');
  parts.push({ text: m.slice(from), at: from });
  return parts;
}

function parseRateNumber(text: string | undefined, at: number, what: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > MAX_RATE_NUMBER)
    throw new ColumnError(at, `${what} "${text}" must be a whole number`);
  return n;
}

function parseRate(p: Part): RateOptions {
  if (p.text.toLowerCase() === 'rate') return { counter: false, dropResets: false };
  const m = /^rate\{([^}]*)\}$/i.exec(p.text);
  if (!m)
    throw new ColumnError(p.at, `invalid rate "${p.text}": expected rate or rate{counter[,max[,reset]]}`);
  const fields = m[1]!.split(',');
  const kind = fields[0]!.toLowerCase();
  if (fields.length > 3 || (kind !== 'counter' && kind !== 'dropcounter'))
    throw new ColumnError(
      p.at,
      `invalid rate options "${p.text}": expected {counter[,max[,reset]]} or {dropcounter,...}`,
    );
  const counterMax = parseRateNumber(fields[1], p.at, 'counter max');
  const resetValue = parseRateNumber(fields[2], p.at, 'reset value');
  return {
    counter: true,
    dropResets: kind === 'dropcounter',
    ...(counterMax === undefined ? {} : { counterMax }),
    ...(resetValue === undefined ? {} : { resetValue }),
  };
}

/** Reads one `k=v` pair starting at `i`; returns the index of the `,` or `}` after it. */
function parsePair(s: string, i: number, groupBy: boolean, filters: TagFilter[], where: string): number {
  const eq = s.indexOf('=', i);
  const key = eq < 0 ? '' : s.slice(i, eq);
  if (eq < 0 || !TAGK_RE.test(key)) throw new ColumnError(i, 'expected tagk=value');
  let end = eq + 1;
  const typed = /^[A-Za-z_]+\(/.exec(s.slice(end));
  if (typed) end = skipParens(s, end + typed[0].length - 1);
  else while (end < s.length && s[end] !== ',' && s[end] !== '}') end++;
  if (s[end] !== ',' && s[end] !== '}') throw new ColumnError(end, 'expected "," or "}" after a filter');
  const value = s.slice(eq + 1, end);
  atColumn(eq + 1, where, () => {
    const f = filterFromTagValue(key, value, groupBy, where);
    compileFilter(f, where);
    addFilter(filters, f);
  });
  return end;
}

/** Reads one `{...}` group starting at the `{` at `i`; returns the index after its `}`. */
function parseGroup(s: string, i: number, groupBy: boolean, filters: TagFilter[], where: string): number {
  let at = i + 1;
  if (s[at] === '}') return at + 1;
  for (;;) {
    at = parsePair(s, at, groupBy, filters, where);
    if (s[at] === '}') return at + 1;
    at++;
  }
}

function parseMetric(p: Part, where: string): { metric: string; filters: TagFilter[] } {
  const s = p.text;
  const brace = s.indexOf('{');
  const metric = brace < 0 ? s : s.slice(0, brace);
  if (!METRIC_RE.test(metric))
    throw new ColumnError(p.at, metric ? `invalid metric name "${metric}"` : 'missing metric');
  const filters: TagFilter[] = [];
  let at = brace < 0 ? s.length : brace;
  for (let group = 0; at < s.length; group++) {
    if (group === 2) throw new ColumnError(p.at + at, 'at most two filter groups: {group-by}{not group-by}');
    if (s[at] !== '{') throw new ColumnError(p.at + at, 'unexpected text after the filters');
    try {
      at = parseGroup(s, at, group === 0, filters, where);
    } catch (e) {
      if (e instanceof ColumnError) throw new ColumnError(p.at + e.at, e.message);
      throw e;
    }
  }
  return { metric, filters };
}

function parseMiddle(p: Part, sub: SubQuery, where: string): void {
  const lower = p.text.toLowerCase();
  if (lower.startsWith('rate')) {
    sub.rate = true;
    sub.rateOptions = parseRate(p);
  } else if (/^\d/.test(p.text)) {
    sub.downsample = parseDownsample(p.text, where);
  } else if (lower === 'explicit_tags') {
    sub.explicitTags = true;
  } else {
    throw new ColumnError(p.at, `unknown part "${p.text}": expected a downsampler, rate or explicit_tags`);
  }
}

function buildSubQuery(m: string, where: string): SubQuery {
  const parts = splitParts(m);
  if (parts.length < 2)
    throw new ColumnError(
      0,
      'expected AGG:[DOWNSAMPLE:][rate:]METRIC{filters}, e.g. sum:1m-avg:sys.cpu{host=*}',
    );
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const aggregator = atColumn(first.at, where, () => parseAggregator(first.text, where));
  const { metric, filters } = parseMetric(last, where);
  const sub: SubQuery = { metric, aggregator, rate: false, filters, explicitTags: false };
  for (const p of parts.slice(1, -1)) atColumn(p.at, where, () => parseMiddle(p, sub, where));
  return sub;
}

/** Parses the `index`-th `m` parameter into a sub-query; throws INVALID_QUERY naming the column. */
export function parseMetricExpression(m: string, index: number): SubQuery {
  const where = `m[${index}]`;
  try {
    return buildSubQuery(m, where);
  } catch (e) {
    if (!(e instanceof ColumnError)) throw e;
    throw invalidQuery(`${where} column ${e.at + 1}`, `${e.message} in "${m}"`);
  }
}
