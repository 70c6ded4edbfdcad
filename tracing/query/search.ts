/**
 * The trace search language of `GET /api/traces/search?q=` (described in `tracing/search.md`):
 *
 *   http.status_code=500 AND service=push* AND NOT error
 *   (name="GET /items" OR name=list*) duration>=250ms kind=server
 *
 * A query is evaluated per span; a trace matches when one of its spans matches. Terms:
 * `key=value` / `key!=value` (`*` matches any run of characters), `duration` with `> >= < <= = !=`
 * and a unit (`us`, `ms`, `s`, `m`, `h`), `error` (the span failed), and a bare word (a tag of
 * that name exists, or an annotation says it). `service`, `name` (also `operation`, `span`),
 * `kind`, `remoteService` and `traceId` are span fields; any other key is a tag (`tag:service=x`
 * names the tag `service`). `AND`, `OR`, `NOT` (any case) and parentheses combine terms; terms
 * side by side are AND-ed. Values with spaces or `()=!<>"` go in double quotes (`\"`, `\\`).
 *
 * Pure: `parseSearch` (errors carry the column), `matchSpan` (evaluation in memory) and
 * `searchToSql` (the same filter as a DuckDB WHERE clause over the span table).
 */
import { HubError } from '../../core/errors.ts';
import type { TraceSpan } from '../model.ts';

export type SearchField = 'service' | 'name' | 'kind' | 'remoteService' | 'traceId' | { tag: string };
export type DurationOp = '>' | '>=' | '<' | '<=' | '=' | '!=';

export type SearchExpr =
  | { op: 'and' | 'or'; items: SearchExpr[] }
  | { op: 'not'; expr: SearchExpr }
  | { op: 'error' }
  | { op: 'match'; field: SearchField; negate: boolean; value: string }
  | { op: 'duration'; cmp: DurationOp; us: number }
  | { op: 'has'; word: string };

type Token =
  | { t: 'word'; v: string; col: number; quoted: boolean }
  | { t: 'op'; v: string; col: number }
  | { t: '(' | ')'; col: number };

const MAX_QUERY = 4096;
const MAX_DEPTH = 64;
const FIELDS: Record<string, SearchField> = {
  service: 'service',
  name: 'name',
  operation: 'name',
  span: 'name',
  kind: 'kind',
  remoteservice: 'remoteService',
  traceid: 'traceId',
};
const UNITS: Record<string, number> = {
  us: 1,
  µs: 1,
  ms: 1000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
};

function fail(message: string, col: number): HubError {
  return new HubError('INVALID_QUERY', `${message} at column ${col}`, { where: `q:${col}` });
}

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    const col = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ t: c, col });
      i++;
    } else if (c === '!' || c === '<' || c === '>' || c === '=') {
      const two = q.slice(i, i + 2);
      const op = two === '!=' || two === '>=' || two === '<=' ? two : c;
      if (op === '!') throw fail('Expected "=" after "!"', col);
      out.push({ t: 'op', v: op, col });
      i += op.length;
    } else if (c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= q.length) throw fail('Unterminated quoted string', col);
        const d = q[i]!;
        if (d === '"') break;
        if (d === '\\') {
          const e = q[i + 1];
          if (e !== '"' && e !== '\\') throw fail('Only \\" and \\\\ can be escaped', i + 1);
          v += e;
          i += 2;
        } else {
          v += d;
          i++;
        }
      }
      i++;
      out.push({ t: 'word', v, col, quoted: true });
    } else {
      const m = /^[^\s()"=!<>]+/.exec(q.slice(i))!;
      out.push({ t: 'word', v: m[0], col, quoted: false });
      i += m[0].length;
    }
  }
  return out;
}

function parseDuration(text: string, col: number): number {
  const m = /^(\d+(?:\.\d+)?)(us|µs|ms|s|m|h)$/.exec(text);
  if (!m)
    throw fail(`"${text}" is not a duration: use a number and a unit (us, ms, s, m, h), e.g. 250ms`, col);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

const isKeyword = (tok: Token | undefined, kw: string) =>
  tok?.t === 'word' && !tok.quoted && tok.v.toUpperCase() === kw;

/** Parses a query; throws an `INVALID_QUERY` HubError that names the column. */
export function parseSearch(q: string): SearchExpr {
  if (q.length > MAX_QUERY)
    throw new HubError('INVALID_QUERY', `The query is longer than ${MAX_QUERY} characters`, { where: 'q' });
  const tokens = tokenize(q);
  let pos = 0;
  const peek = () => tokens[pos];
  const end = q.length + 1;

  function orExpr(depth: number): SearchExpr {
    const items = [andExpr(depth)];
    while (isKeyword(peek(), 'OR')) {
      pos++;
      items.push(andExpr(depth));
    }
    return items.length === 1 ? items[0]! : { op: 'or', items };
  }

  function andExpr(depth: number): SearchExpr {
    const items = [unary(depth)];
    for (;;) {
      const t = peek();
      if (!t || t.t === ')' || isKeyword(t, 'OR')) break;
      if (isKeyword(t, 'AND')) pos++;
      items.push(unary(depth));
    }
    return items.length === 1 ? items[0]! : { op: 'and', items };
  }

  function unary(depth: number): SearchExpr {
    if (depth > MAX_DEPTH) throw fail(`Nested deeper than ${MAX_DEPTH}`, peek()?.col ?? end);
    const t = peek();
    if (!t) throw fail('Expected a term', end);
    if (isKeyword(t, 'NOT')) {
      pos++;
      return { op: 'not', expr: unary(depth + 1) };
    }
    if (t.t === '(') {
      pos++;
      const e = orExpr(depth + 1);
      const close = peek();
      if (close?.t !== ')') throw fail('Expected ")"', close?.col ?? end);
      pos++;
      return e;
    }
    if (t.t !== 'word' || isKeyword(t, 'AND') || isKeyword(t, 'OR'))
      throw fail(`Expected a term, not "${t.t === 'word' || t.t === 'op' ? t.v : t.t}"`, t.col);
    pos++;
    return term(t);
  }

  function term(key: Extract<Token, { t: 'word' }>): SearchExpr {
    const op = peek();
    if (op?.t !== 'op') {
      if (!key.quoted && key.v.toLowerCase() === 'error') return { op: 'error' };
      return { op: 'has', word: key.v };
    }
    pos++;
    const value = peek();
    if (value?.t !== 'word' || isKeyword(value, 'AND') || isKeyword(value, 'OR') || isKeyword(value, 'NOT'))
      throw fail(`Expected a value after "${op.v}" (quote it if it is AND, OR or NOT)`, value?.col ?? end);
    pos++;
    const lower = key.v.toLowerCase();
    if (!key.quoted && lower === 'duration')
      return { op: 'duration', cmp: op.v as DurationOp, us: parseDuration(value.v, value.col) };
    if (op.v !== '=' && op.v !== '!=') throw fail(`"${op.v}" compares durations only: use = or !=`, op.col);
    let field: SearchField;
    if (key.quoted) field = { tag: key.v };
    else if (lower.startsWith('tag:') && key.v.length > 4) field = { tag: key.v.slice(4) };
    else field = FIELDS[lower] ?? { tag: key.v };
    const v = field === 'kind' || field === 'traceId' ? value.v.toLowerCase() : value.v;
    return { op: 'match', field, negate: op.v === '!=', value: v };
  }

  if (tokens.length === 0) throw fail('The query is empty', 1);
  const expr = orExpr(0);
  const rest = peek();
  if (rest) throw fail(`Unexpected "${rest.t === 'word' || rest.t === 'op' ? rest.v : rest.t}"`, rest.col);
  return expr;
}

function wildcardRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

function fieldValue(span: TraceSpan, field: SearchField): string | undefined {
  if (typeof field === 'object') return span.tags[field.tag];
  if (field === 'remoteService') return span.remoteService;
  return span[field];
}

const regexCache = new Map<string, RegExp>();

function matches(value: string | undefined, pattern: string): boolean {
  if (value === undefined) return false;
  if (!pattern.includes('*')) return value === pattern;
  let re = regexCache.get(pattern);
  if (!re) {
    if (regexCache.size > 1000) regexCache.clear();
    re = wildcardRegExp(pattern);
    regexCache.set(pattern, re);
  }
  return re.test(value);
}

/** Whether one span matches. */
export function matchSpan(e: SearchExpr, span: TraceSpan): boolean {
  switch (e.op) {
    case 'and':
      return e.items.every((x) => matchSpan(x, span));
    case 'or':
      return e.items.some((x) => matchSpan(x, span));
    case 'not':
      return !matchSpan(e.expr, span);
    case 'error':
      return span.error;
    case 'has':
      return span.tags[e.word] !== undefined || span.annotations.some((a) => a.value === e.word);
    case 'match': {
      const m = matches(fieldValue(span, e.field), e.value);
      return e.negate ? !m : m;
    }
    case 'duration': {
      const d = span.duration;
      const x = e.us;
      return e.cmp === '>'
        ? d > x
        : e.cmp === '>='
          ? d >= x
          : e.cmp === '<'
            ? d < x
            : e.cmp === '<='
              ? d <= x
              : e.cmp === '='
                ? d === x
                : d !== x;
    }
  }
}

/** A JSON pointer to a top-level key (DuckDB's json functions accept RFC 6901 paths). */
export function jsonPointer(key: string): string {
  return '/' + key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function likePattern(p: string): string {
  return p.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%');
}

const COLUMNS: Record<Exclude<SearchField, object>, string> = {
  service: 'service',
  name: 'name',
  kind: 'kind',
  remoteService: 'remote_service',
  traceId: 'trace_id',
};

/**
 * The filter as SQL over the span table (columns `service`, `name`, `kind`, `remote_service`,
 * `trace_id`, `duration`, `error`, JSON text `tags` and `annotations`), with `?` parameters.
 * Matches `matchSpan` span for span.
 */
export function searchToSql(e: SearchExpr): { sql: string; params: (string | bigint | boolean)[] } {
  const params: (string | bigint | boolean)[] = [];
  const walk = (x: SearchExpr): string => {
    switch (x.op) {
      case 'and':
      case 'or':
        return '(' + x.items.map(walk).join(x.op === 'and' ? ' AND ' : ' OR ') + ')';
      case 'not':
        return `(NOT ${walk(x.expr)})`;
      case 'error':
        return 'error';
      case 'has':
        params.push(jsonPointer(x.word), x.word);
        return "(json_exists(tags, ?) OR list_contains(json_extract_string(annotations, '$[*].value'), ?))";
      case 'duration':
        params.push(BigInt(x.us));
        return `(duration ${x.cmp === '!=' ? '<>' : x.cmp} ?)`;
      case 'match': {
        let col: string;
        if (typeof x.field === 'object') {
          params.push(jsonPointer(x.field.tag));
          col = 'json_extract_string(tags, ?)';
        } else col = COLUMNS[x.field];
        const wild = x.value.includes('*');
        params.push(wild ? likePattern(x.value) : x.value);
        const test = wild ? `coalesce(${col} LIKE ? ESCAPE '\\', false)` : `coalesce(${col} = ?, false)`;
        return x.negate ? `(NOT ${test})` : test;
      }
    }
  };
  return { sql: walk(e), params };
}

/** Zipkin's `annotationQuery` (`http.uri=/foo and retried`): tag equalities and words, all AND-ed. */
export function parseAnnotationQuery(q: string): SearchExpr[] {
  const out: SearchExpr[] = [];
  for (const part of q.split(/\s+and\s+/i)) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq > 0)
      out.push({ op: 'match', field: { tag: p.slice(0, eq) }, negate: false, value: p.slice(eq + 1) });
    else out.push({ op: 'has', word: p });
  }
  return out;
}
