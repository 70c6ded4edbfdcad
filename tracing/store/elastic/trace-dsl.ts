/**
 * The query DSL behind the hub's trace reads on Elasticsearch / OpenSearch, as pure functions:
 * the search language (`tracing/query/search.ts`) as a bool query, trace-id search with the
 * newest trace first, several traces in one request, span and remote-service names, and the
 * dependency-link deltas of the assembler as documents of daily `<prefix>-links-*` indices.
 *
 * Every term of the language maps; what cannot map exactly (a tag key holding `=`, ambiguous in
 * the `k=v` keyword the span documents carry) is refused with a `BAD_REQUEST` rather than
 * answered wrongly.
 */
import { createHash } from 'node:crypto';
import { HubError } from '../../../core/errors.ts';
import type { WriteCheckpoint } from '../../../core/ports.ts';
import type { LinkDelta } from '../../assembler/assembler.ts';
import type { DependencyLink } from '../../assembler/links.ts';
import type { SearchExpr, SearchField } from '../../query/search.ts';
import type { TraceQuery } from '../embedded-span-store.ts';
import {
  type BulkItem,
  dailyIndex,
  type IndexTemplate,
  indexPattern,
  MAX_SERVICES,
  MAX_TRACE_SPANS,
  type SearchBody,
  type TemplateOptions,
} from './elastic-dsl.ts';

/** One clause of a query: `{ term: … }`, `{ bool: … }` and so on. */
export type Clause = Record<string, unknown>;

const FIELD_NAMES: Record<Exclude<SearchField, object>, string> = {
  service: 'service',
  name: 'name',
  kind: 'kind',
  remoteService: 'remoteService',
  traceId: 'traceId',
};

/** Escapes the wildcard query's special characters; with `keepStar`, `*` stays a wildcard. */
export function wildcardValue(text: string, keepStar: boolean): string {
  return text.replace(keepStar ? /[\\?]/g : /[\\?*]/g, '\\$&');
}

function tagKey(key: string): string {
  if (key.includes('='))
    throw new HubError(
      'BAD_REQUEST',
      `Tag "${key}" holds "=", which the OpenSearch/Elasticsearch span store cannot search exactly`,
      { where: 'q' },
    );
  return key;
}

function matchClause(field: SearchField, value: string): Clause {
  const wild = value.includes('*');
  if (typeof field === 'object') {
    const key = tagKey(field.tag);
    return wild
      ? { wildcard: { tagPairs: { value: `${wildcardValue(key, false)}=${wildcardValue(value, true)}` } } }
      : { term: { tagPairs: `${key}=${value}` } };
  }
  const name = FIELD_NAMES[field];
  return wild ? { wildcard: { [name]: { value: wildcardValue(value, true) } } } : { term: { [name]: value } };
}

const not = (clause: Clause): Clause => ({ bool: { must_not: [clause] } });

const RANGE_OPS = { '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' } as const;

/**
 * The search expression as a bool query matching the same spans as `matchSpan`: a span without
 * the field never equals, so `!=` and NOT match it (as `must_not` does).
 */
export function searchExprToQuery(e: SearchExpr): Clause {
  switch (e.op) {
    case 'and':
      return { bool: { filter: e.items.map(searchExprToQuery) } };
    case 'or':
      return { bool: { should: e.items.map(searchExprToQuery), minimum_should_match: 1 } };
    case 'not':
      return not(searchExprToQuery(e.expr));
    case 'error':
      return { term: { error: true } };
    case 'has':
      return {
        bool: {
          should: [{ prefix: { tagPairs: `${tagKey(e.word)}=` } }, { term: { annotationValues: e.word } }],
          minimum_should_match: 1,
        },
      };
    case 'match': {
      const clause = matchClause(e.field, e.value);
      return e.negate ? not(clause) : clause;
    }
    case 'duration': {
      if (e.cmp === '=') return { term: { duration: e.us } };
      if (e.cmp === '!=') return not({ term: { duration: e.us } });
      return { range: { duration: { [RANGE_OPS[e.cmp]]: e.us } } };
    }
  }
}

/** Trace ids with a matching span in the time range, newest first by their latest matching span. */
export function findTracesBody(q: TraceQuery): SearchBody {
  const filter: Clause[] = [
    { range: { start: { gte: Math.max(0, Math.floor(q.start)), lte: Math.floor(q.end) } } },
  ];
  if (q.services) filter.push({ terms: { service: [...q.services] } });
  if (q.expr) filter.push(searchExprToQuery(q.expr));
  const size = Math.max(1, Math.floor(q.limit));
  return {
    size: 0,
    query: { bool: { filter } },
    aggs: {
      traces: {
        terms: {
          field: 'traceId',
          size,
          shard_size: Math.max(size * 2, 100),
          order: [{ newest: 'desc' }, { _key: 'asc' }],
        },
        aggs: { newest: { max: { field: 'start' } } },
      },
    },
  };
}

/** Every span of several traces in one request; `MAX_TRACE_SPANS` hits mean it may be cut short. */
export function tracesBody(traceIds: readonly string[]): SearchBody {
  return {
    size: MAX_TRACE_SPANS,
    query: { bool: { filter: [{ terms: { traceId: [...traceIds] } }] } },
    sort: [{ start: 'asc' }, { spanId: 'asc' }],
  };
}

/** The distinct values of `field` (`name`, `remoteService`) over a service's spans, sorted. */
export function serviceTermsBody(service: string, field: 'name' | 'remoteService'): SearchBody {
  return {
    size: 0,
    query: { bool: { filter: [{ term: { service } }] } },
    aggs: { values: { terms: { field, size: MAX_SERVICES, order: { _key: 'asc' } } } },
  };
}

/* ---------------------------------------------------------------- dependency links */

export function linkTemplate(prefix: string, options: TemplateOptions = {}): IndexTemplate {
  const settings: Record<string, unknown> = {};
  if (options.shards !== undefined) settings['number_of_shards'] = options.shards;
  if (options.replicas !== undefined) settings['number_of_replicas'] = options.replicas;
  return {
    name: `${prefix}-links`,
    body: {
      index_patterns: [indexPattern(prefix, 'links')],
      priority: 100,
      template: {
        settings,
        mappings: {
          dynamic: false,
          properties: {
            /** Epoch ms of the start of the assembler's link bucket. */
            bucket: { type: 'date', format: 'epoch_millis' },
            parent: { type: 'keyword' },
            child: { type: 'keyword' },
            calls: { type: 'long' },
            errors: { type: 'long' },
          },
        },
      },
      _meta: { owner: 'obs', kind: 'links' },
    },
  };
}

/**
 * One document per delta, in the daily index of its bucket. With a checkpoint the id is fixed by
 * (stream, offset, bucket, parent, child): the same batch written again replaces its documents
 * instead of counting twice. Deltas can be negative (a trace that grew moves its links).
 */
export function linkBulkItems(
  prefix: string,
  deltas: readonly LinkDelta[],
  checkpoint?: WriteCheckpoint,
): BulkItem<LinkDelta>[] {
  return deltas.map((d) => {
    const doc = { bucket: d.bucket, parent: d.parent, child: d.child, calls: d.calls, errors: d.errors };
    const index = dailyIndex(prefix, 'links', d.bucket);
    if (!checkpoint) return { index, doc, item: d };
    const key = JSON.stringify([checkpoint.stream, checkpoint.offset, d.bucket, d.parent, d.child]);
    return { index, id: createHash('sha256').update(key).digest('hex').slice(0, 40), doc, item: d };
  });
}

/** Link sums per (parent, child) over buckets in [startMs, endMs], a page of a composite aggregation. */
export function linksBody(startMs: number, endMs: number, after?: Record<string, unknown>): SearchBody {
  return {
    size: 0,
    query: { bool: { filter: [{ range: { bucket: { gte: Math.max(0, startMs), lte: endMs } } }] } },
    aggs: {
      links: {
        composite: {
          size: 1000,
          sources: [{ parent: { terms: { field: 'parent' } } }, { child: { terms: { field: 'child' } } }],
          ...(after ? { after } : {}),
        },
        aggs: { calls: { sum: { field: 'calls' } }, errors: { sum: { field: 'errors' } } },
      },
    },
  };
}

/** The documented shape of a composite aggregation answer, as far as `linksPage` reads it. */
export type LinksResponse = {
  aggregations?: {
    links?: {
      after_key?: Record<string, unknown>;
      buckets?: {
        key: { parent: string; child: string };
        calls?: { value: number | null };
        errors?: { value: number | null };
      }[];
    };
  };
};

/** The links of one page (zero or less calls dropped) and the key of the next page, if any. */
export function linksPage(response: LinksResponse): {
  links: DependencyLink[];
  after?: Record<string, unknown>;
} {
  const agg = response.aggregations?.links;
  const buckets = agg?.buckets ?? [];
  const links: DependencyLink[] = [];
  for (const b of buckets) {
    const calls = Math.round(b.calls?.value ?? 0);
    if (calls > 0)
      links.push({
        parent: b.key.parent,
        child: b.key.child,
        callCount: calls,
        errorCount: Math.round(b.errors?.value ?? 0),
      });
  }
  return buckets.length > 0 && agg?.after_key ? { links, after: agg.after_key } : { links };
}

/** Sorted by parent, then child, as the embedded store answers. */
export function sortLinks(links: DependencyLink[]): DependencyLink[] {
  return links.sort((a, b) =>
    a.parent === b.parent ? (a.child < b.child ? -1 : 1) : a.parent < b.parent ? -1 : 1,
  );
}
