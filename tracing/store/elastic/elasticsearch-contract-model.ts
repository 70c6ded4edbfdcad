/**
 * The state and the answers of the Elasticsearch CONTRACT SERVER (see
 * `elasticsearch-contract-server.ts`): indices made from composable templates, mapping checks of
 * indexed documents, and the part of the query DSL the hub sends (bool filter/must/should/must_not,
 * term, terms, range, prefix, wildcard, match, match_all, sort, terms aggregations ordered by a max
 * sub-aggregation, composite aggregations of terms sources with sum sub-aggregations). Anything else is
 * refused with a 400 `parsing_exception`, as Elasticsearch refuses an unknown query, so a request
 * the hub should not send fails the test instead of passing by accident.
 */
import { randomBytes } from 'node:crypto';

export type Doc = Record<string, unknown>;
export type Mapping = {
  dynamic?: unknown;
  properties?: Record<string, { type?: string; enabled?: boolean }>;
};
export type MemoryIndex = { name: string; mappings: Mapping; docs: Map<string, Doc>; seq: number };
export type Template = { name: string; patterns: string[]; priority: number; mappings: Mapping };

/** An error answer in Elasticsearch's shape: `{ error: { root_cause, type, reason }, status }`. */
export class EsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    reason: string,
  ) {
    super(reason);
  }
  body(): Record<string, unknown> {
    const cause = { type: this.type, reason: this.message };
    return { error: { root_cause: [cause], ...cause }, status: this.status };
  }
}

const wildcard = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** Index names an expression (comma-separated, with wildcards) names; unknown plain names throw. */
export function resolveIndices(
  all: Map<string, MemoryIndex>,
  expr: string,
  ignoreUnavailable: boolean,
): MemoryIndex[] {
  const out = new Set<MemoryIndex>();
  for (const part of expr.split(',').filter(Boolean)) {
    if (part.includes('*')) {
      const re = wildcard(part);
      for (const idx of all.values()) if (re.test(idx.name)) out.add(idx);
      continue;
    }
    const idx = all.get(part);
    if (idx) out.add(idx);
    else if (!ignoreUnavailable)
      throw new EsError(404, 'index_not_found_exception', `no such index [${part}]`);
  }
  return [...out].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The mappings of a new index: those of the matching template with the highest priority. */
export function templateFor(templates: Map<string, Template>, index: string): Mapping {
  const matching = [...templates.values()]
    .filter((t) => t.patterns.some((p) => wildcard(p).test(index)))
    .sort((a, b) => b.priority - a.priority);
  return matching[0]?.mappings ?? { dynamic: true, properties: {} };
}

export const newId = () => randomBytes(15).toString('base64url');

function fieldError(field: string, type: string, id: string, value: unknown): EsError {
  return new EsError(
    400,
    'document_parsing_exception',
    `[1:2] failed to parse field [${field}] of type [${type}] in document with id '${id}'. Preview of field's value: '${typeof value === 'object' ? JSON.stringify(value) : String(value)}'`,
  );
}

const isScalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** Checks a document against the index's explicit mapping, as indexing would. */
export function checkDoc(mappings: Mapping, id: string, doc: Doc): void {
  for (const [field, spec] of Object.entries(mappings.properties ?? {})) {
    const raw = doc[field];
    if (raw === undefined || raw === null || spec.enabled === false) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    for (const v of values) {
      const numeric =
        typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)));
      const ok =
        spec.type === 'long' || spec.type === 'integer' || spec.type === 'date'
          ? numeric
          : spec.type === 'boolean'
            ? typeof v === 'boolean' || v === 'true' || v === 'false'
            : spec.type === 'keyword' || spec.type === 'text'
              ? isScalar(v)
              : true;
      if (!ok) throw fieldError(field, spec.type ?? 'object', id, v);
    }
  }
}

/* ---------------------------------------------------------------- queries */

const tokens = (text: unknown) =>
  String(text ?? '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);

const valuesOf = (doc: Doc, field: string): unknown[] => {
  const v = doc[field];
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
};

function single(clause: unknown, what: string): [string, unknown] {
  const entries = Object.entries((clause ?? {}) as Record<string, unknown>);
  if (entries.length !== 1)
    throw new EsError(400, 'parsing_exception', `[${what}] query malformed, expected one field`);
  return entries[0]!;
}

function rangeMatches(doc: Doc, spec: unknown): boolean {
  const [field, bounds] = single(spec, 'range');
  const b = bounds as { gte?: number; lte?: number; gt?: number; lt?: number };
  return valuesOf(doc, field).some((raw) => {
    const v = Number(raw);
    return (
      (b.gte === undefined || v >= b.gte) &&
      (b.lte === undefined || v <= b.lte) &&
      (b.gt === undefined || v > b.gt) &&
      (b.lt === undefined || v < b.lt)
    );
  });
}

function matchMatches(doc: Doc, spec: unknown): boolean {
  const [field, q] = single(spec, 'match');
  const { query, operator } = (typeof q === 'object' && q !== null ? q : { query: q }) as {
    query: unknown;
    operator?: string;
  };
  const have = new Set(valuesOf(doc, field).flatMap(tokens));
  const want = tokens(query);
  return operator?.toLowerCase() === 'and' ? want.every((t) => have.has(t)) : want.some((t) => have.has(t));
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A wildcard query's pattern: `*` any run, `?` one character, `\` escapes the next one. */
function wildcardPattern(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** `{ field: "v" }` or `{ field: { value: "v" } }`, as term, prefix and wildcard accept. */
function fieldValue(spec: unknown, what: string): [string, string] {
  const [field, v] = single(spec, what);
  return [field, String(typeof v === 'object' && v !== null ? (v as { value: unknown }).value : v)];
}

function boolMatches(doc: Doc, spec: unknown): boolean {
  const b = spec as {
    filter?: unknown;
    must?: unknown;
    should?: unknown;
    must_not?: unknown;
    minimum_should_match?: number;
  };
  const all = [...asList(b.filter), ...asList(b.must)];
  const should = asList(b.should);
  // Documented default: 1 when the bool has no must/filter clause, else 0.
  const minShould = b.minimum_should_match ?? (all.length === 0 && should.length > 0 ? 1 : 0);
  return (
    all.every((q) => matches(doc, q)) &&
    !asList(b.must_not).some((q) => matches(doc, q)) &&
    should.filter((q) => matches(doc, q)).length >= minShould
  );
}

/** Whether `doc` matches `query`; throws a 400 `parsing_exception` for clauses it does not know. */
export function matches(doc: Doc, query: unknown): boolean {
  if (query === undefined) return true;
  const [kind, spec] = single(query, 'query');
  switch (kind) {
    case 'match_all':
      return true;
    case 'term': {
      const [field, want] = fieldValue(spec, 'term');
      return valuesOf(doc, field).some((x) => String(x) === want);
    }
    case 'terms': {
      const [field, list] = single(spec, 'terms');
      const want = new Set(asList(list).map(String));
      return valuesOf(doc, field).some((x) => want.has(String(x)));
    }
    case 'prefix': {
      const [field, want] = fieldValue(spec, 'prefix');
      return valuesOf(doc, field).some((x) => String(x).startsWith(want));
    }
    case 'wildcard': {
      const [field, pattern] = fieldValue(spec, 'wildcard');
      const re = wildcardPattern(pattern);
      return valuesOf(doc, field).some((x) => re.test(String(x)));
    }
    case 'range':
      return rangeMatches(doc, spec);
    case 'match':
      return matchMatches(doc, spec);
    case 'bool':
      return boolMatches(doc, spec);
    default:
      throw new EsError(400, 'parsing_exception', `unknown query [${kind}]`);
  }
}

type SortSpec = { field: string; desc: boolean };

export function sortSpecs(sort: unknown): SortSpec[] {
  return asList(sort).map((s) => {
    if (typeof s === 'string') return { field: s, desc: false };
    const [field, order] = single(s, 'sort');
    const o = typeof order === 'string' ? order : (order as { order?: string }).order;
    return { field, desc: o === 'desc' };
  });
}

export function compareBy(specs: SortSpec[], get: (x: Doc, field: string) => unknown) {
  return (a: Doc, b: Doc): number => {
    for (const { field, desc } of specs) {
      const x = get(a, field);
      const y = get(b, field);
      if (x === y) continue;
      const c = (x as number | string) < (y as number | string) ? -1 : 1;
      return desc ? -c : c;
    }
    return 0;
  };
}

type TermsAgg = {
  terms: { field: string; size?: number; order?: unknown };
  aggs?: Record<string, { max?: { field: string } }>;
};

/** A `terms` aggregation with optional `max` sub-aggregations, in the documented answer shape. */
export function termsAggregation(docs: Doc[], name: string, agg: unknown): Record<string, unknown> {
  const a = agg as TermsAgg;
  if (!a.terms) throw new EsError(400, 'parsing_exception', `unknown aggregation type in [${name}]`);
  const groups = new Map<string, Doc[]>();
  for (const d of docs)
    for (const v of valuesOf(d, a.terms.field)) {
      const key = String(v);
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
  const subs = Object.entries(a.aggs ?? {});
  const buckets: Doc[] = [...groups].map(([key, ds]) => {
    const bucket: Doc = { key, doc_count: ds.length };
    for (const [subName, sub] of subs) {
      if (!sub.max) throw new EsError(400, 'parsing_exception', `unknown aggregation type in [${subName}]`);
      const nums = ds.flatMap((d) => valuesOf(d, sub.max!.field)).map(Number);
      bucket[subName] = { value: nums.length ? Math.max(...nums) : null };
    }
    return bucket;
  });
  const order = sortSpecs(a.terms.order ?? [{ _count: 'desc' }, { _key: 'asc' }]);
  const get = (b: Doc, f: string) =>
    f === '_key' ? b['key'] : f === '_count' ? b['doc_count'] : (b[f] as { value: unknown }).value;
  buckets.sort(compareBy(order, get));
  const size = a.terms.size ?? 10;
  const shown = buckets.slice(0, size);
  const other = buckets.slice(size).reduce((n, b) => n + (b['doc_count'] as number), 0);
  return { doc_count_error_upper_bound: 0, sum_other_doc_count: other, buckets: shown };
}

type CompositeAgg = {
  composite: { size?: number; sources: Record<string, { terms?: { field: string } }>[]; after?: Doc };
  aggs?: Record<string, { sum?: { field: string } }>;
};

/**
 * A `composite` aggregation of `terms` sources, a page of buckets in key order after `after`,
 * with `sum` sub-aggregations and `after_key` (the last bucket's key), as documented:
 * https://www.elastic.co/docs/reference/aggregations/search-aggregations-bucket-composite-aggregation
 */
export function compositeAggregation(docs: Doc[], name: string, agg: unknown): Record<string, unknown> {
  const a = agg as CompositeAgg;
  const sources = a.composite.sources.map((s) => {
    const [key, spec] = single(s, 'sources');
    const field = (spec as { terms?: { field: string } }).terms?.field;
    if (!field) throw new EsError(400, 'parsing_exception', `only terms sources in [${name}]`);
    return { key, field };
  });
  const groups = new Map<string, { key: Doc; docs: Doc[] }>();
  for (const d of docs) {
    const values = sources.map((s) => valuesOf(d, s.field)[0]);
    if (values.some((v) => v === undefined)) continue;
    const id = JSON.stringify(values);
    const g = groups.get(id) ?? {
      key: Object.fromEntries(sources.map((s, i) => [s.key, values[i]])),
      docs: [],
    };
    g.docs.push(d);
    groups.set(id, g);
  }
  const keyOrder = compareBy(
    sources.map((s) => ({ field: s.key, desc: false })),
    (k, f) => k[f],
  );
  const after = a.composite.after;
  const page = [...groups.values()]
    .sort((x, y) => keyOrder(x.key, y.key))
    .filter((g) => !after || keyOrder(g.key, after) > 0)
    .slice(0, a.composite.size ?? 10);
  const buckets = page.map((g) => {
    const bucket: Doc = { key: g.key, doc_count: g.docs.length };
    for (const [subName, sub] of Object.entries(a.aggs ?? {})) {
      if (!sub.sum) throw new EsError(400, 'parsing_exception', `unknown aggregation type in [${subName}]`);
      bucket[subName] = {
        value: g.docs.flatMap((d) => valuesOf(d, sub.sum!.field)).reduce((n: number, v) => n + Number(v), 0),
      };
    }
    return bucket;
  });
  return buckets.length > 0 ? { after_key: buckets[buckets.length - 1]!['key'], buckets } : { buckets };
}

/** A `terms` or `composite` aggregation; any other type is a 400, as Elasticsearch answers. */
export function aggregation(docs: Doc[], name: string, agg: unknown): Record<string, unknown> {
  return (agg as { composite?: unknown }).composite !== undefined
    ? compositeAggregation(docs, name, agg)
    : termsAggregation(docs, name, agg);
}
