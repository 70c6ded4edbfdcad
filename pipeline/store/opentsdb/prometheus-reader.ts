/**
 * The read side of the OpenTSDB adapter for stores that take OpenTSDB writes but answer reads only
 * through a Prometheus-style API (VictoriaMetrics). Raw series come from `/api/v1/export` and the
 * hub's own engine (`evaluateQuery`) evaluates the OpenTSDB query over them, with the series
 * selected exactly as the embedded store selects them; names come from `/api/v1/labels` and
 * `/api/v1/label/<name>/values`, series from `/api/v1/series`.
 */
import { createHash } from 'node:crypto';
import { HubError } from '../../../core/errors.ts';
import { seriesKey, type Tags } from '../../../core/model.ts';
import type { MetricStore, ProjectScope } from '../../../core/ports.ts';
import type { LookupResult, MetricQuery, RawSeries, SeriesResult, SubQuery } from '../../../core/query.ts';
import { evaluateQuery } from '../../query/evaluate.ts';
import { compileFilters } from '../../query/filters.ts';
import {
  fromLabels,
  lookupSelector,
  parseExport,
  promData,
  scopeMatcher,
  subQuerySelector,
} from './prometheus-reads.ts';

/** One form POST to the Prometheus API; answers the body of a 2xx, throws a HubError otherwise. */
export type PromPost = (path: string, form: URLSearchParams) => Promise<string>;

export type PrometheusReader = Pick<MetricStore, 'query' | 'suggest' | 'lookup'>;

/** Fetched from before `start`, so that a point on the edge is never lost to second rounding. */
const MARGIN_MS = 1_000;

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function inScope(tags: Tags, scope: ProjectScope | undefined): boolean {
  if (!scope) return true;
  const project = tags['project'];
  return project !== undefined && scope.projects.includes(project);
}

function tsuidOf(metric: string, tags: Tags): string {
  return createHash('sha1').update(seriesKey(metric, tags)).digest('hex').slice(0, 24).toUpperCase();
}

/** Builds the reader over `post` (the adapter's HTTP call with retries); `now` bounds name searches. */
export function createPrometheusReader(post: PromPost, now: () => number): PrometheusReader {
  async function fetchSub(sub: SubQuery, q: MetricQuery, scope?: ProjectScope): Promise<RawSeries[]> {
    const form = new URLSearchParams({
      'match[]': subQuerySelector(sub, scope),
      start: seconds(Math.max(0, q.start - MARGIN_MS)),
      end: seconds(q.end),
    });
    const match = compileFilters(sub.filters);
    const all = parseExport(await post('/api/v1/export', form), `export of ${sub.metric}`);
    return all.filter(
      (s) => s.metric === sub.metric && inScope(s.tags, scope) && match(s.tags) && s.ts.length > 0,
    );
  }

  /** Label sets of every series in scope matching `selector`, over all stored time. */
  async function series(selector: string): Promise<Record<string, string>[]> {
    const form = new URLSearchParams({ 'match[]': selector, start: '0', end: seconds(now()) });
    const data = promData(
      parseJson(await post('/api/v1/series', form), '/api/v1/series'),
      `/api/v1/series ${selector}`,
    );
    return data as Record<string, string>[];
  }

  async function labelValues(name: string, scope?: ProjectScope): Promise<string[]> {
    const form = new URLSearchParams({ start: '0', end: seconds(now()) });
    const s = scopeMatcher(scope);
    if (s) form.set('match[]', `{${s}}`);
    const path = name === '' ? '/api/v1/labels' : `/api/v1/label/${encodeURIComponent(name)}/values`;
    return promData(parseJson(await post(path, form), path), path).map(String);
  }

  return {
    async query(q, scope) {
      if (scope && scope.projects.length === 0) return [];
      const fetched = await Promise.all(q.queries.map((sub) => fetchSub(sub, q, scope)));
      return evaluateQuery(q, (sub) => fetched[q.queries.indexOf(sub)] ?? []) satisfies SeriesResult[];
    },

    async suggest(type, prefix, max, scope) {
      if (scope && scope.projects.length === 0) return [];
      let names: string[];
      if (type === 'metrics') names = await labelValues('__name__', scope);
      else {
        const keys = (await labelValues('', scope)).filter((k) => k !== '__name__');
        if (type === 'tagk') names = keys;
        else names = (await Promise.all(keys.map((k) => labelValues(k, scope)))).flat();
      }
      const found = new Set(names.filter((n) => n.startsWith(prefix)));
      return [...found].sort().slice(0, max);
    },

    async lookup(metric, tags, limit, scope) {
      if (scope && scope.projects.length === 0) return [];
      const wanted = Object.entries(tags);
      const out: LookupResult[] = [];
      for (const labels of await series(lookupSelector(metric, tags, scope))) {
        const s = fromLabels(labels);
        if (!inScope(s.tags, scope)) continue;
        const ok = wanted.every(([k, v]) =>
          k === '*'
            ? Object.values(s.tags).includes(v)
            : Object.hasOwn(s.tags, k) && (v === '*' || s.tags[k] === v),
        );
        if (ok) out.push({ ...s, tsuid: tsuidOf(s.metric, s.tags) });
      }
      const keyed = out.map((r) => ({ r, key: seriesKey(r.metric, r.tags) }));
      keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return keyed.slice(0, limit).map((k) => k.r);
    },
  };
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HubError('UPSTREAM_FAILED', `${source}: answer is not JSON: ${text.slice(0, 200)}`, {
      cause: e,
    });
  }
}

/** The error for a Prometheus API answer that is not 2xx: says which call and what it answered. */
export function promCallFailed(target: string, status: number, text: string): HubError {
  return new HubError('UPSTREAM_FAILED', `${target} answered ${status}: ${text.slice(0, 300)}`);
}
