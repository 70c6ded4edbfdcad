/**
 * The `MetricStore` adapter for OpenTSDB 2.x and stores that speak its HTTP API (VictoriaMetrics
 * takes its writes). Writes go to `POST /api/put?details` in batches with bounded concurrency, or
 * as telnet `put` lines; reads go to `/api/query`, `/api/suggest` and `/api/search/lookup`.
 *
 * Crash safety without checkpoints: an external store cannot record our bus offset in the same
 * transaction as the points, so `checkpoint()` answers -1 and the adapter relies on idempotent
 * writes instead. OpenTSDB overwrites a point written again at the same series and timestamp;
 * VictoriaMetrics keeps one with `-dedup.minScrapeInterval` (scripts/engines/victoria-metrics.sh
 * sets 1ms). Replaying a batch after a crash therefore stores nothing twice.
 *
 * Reads need a server with OpenTSDB's read API (OpenTSDB itself, or a hub). VictoriaMetrics
 * serves no `/api/query`, `/api/suggest` or `/api/search/lookup`: pointed at it, reads fail with
 * UPSTREAM_FAILED saying so, unless `promReadUrl` sends them to its Prometheus API
 * (prometheus-reader.ts), where the hub's own engine evaluates them. Per-point refusals come only from servers that report them
 * (OpenTSDB, the hub); VictoriaMetrics drops bad points silently, so points are checked here
 * first with the hub's own rules (`validateMetricPoint`).
 */
import { type Clock, systemClock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import { LIMITS, type MetricPoint, type Tags, validateMetricPoint } from '../../../core/model.ts';
import type { MetricStore, ProjectScope } from '../../../core/ports.ts';
import type { LookupResult, SeriesResult } from '../../../core/query.ts';
import {
  fromLookupResponse,
  fromQueryResponse,
  fromSuggestResponse,
  lookupParams,
  parsePutDetails,
  suggestParams,
  sumPrometheusGauge,
  toPutBody,
  toQueryBody,
  toTelnetLine,
} from './codec.ts';
import {
  type HttpAnswer,
  isTransientStatus,
  type RetryOptions,
  request,
  TransientError,
  withRetry,
} from './http.ts';
import { createPrometheusReader, type PrometheusReader, promCallFailed } from './prometheus-reader.ts';
import { createTelnetWriter, type TelnetWriter } from './telnet-writer.ts';

export type OpenTsdbMetricStoreOptions = {
  /** Base URL of `/api/put`, e.g. http://127.0.0.1:4242 (VictoriaMetrics: its `-opentsdbHTTPListenAddr`). */
  url: string;
  /** Base URL of `/api/query`, `/api/suggest` and `/api/search/lookup`, if not `url`. */
  queryUrl?: string;
  /**
   * Base URL whose `/metrics` reports `vm_data_size_bytes` (VictoriaMetrics' `-httpListenAddr`),
   * for `diskBytes`. OpenTSDB has no such figure: without it `diskBytes` answers -1.
   */
  statsUrl?: string;
  /**
   * Base URL of a Prometheus-style read API (VictoriaMetrics' `-httpListenAddr`, e.g.
   * http://127.0.0.1:8428). When set, `query`, `suggest` and `lookup` read raw series from its
   * `/api/v1/export`, `/api/v1/series` and `/api/v1/label*` and evaluate the query with the hub's
   * own engine; `queryUrl` is then unused. Unset (the default): reads use OpenTSDB's read API.
   */
  promReadUrl?: string;
  /** Points per request (default 5 000). */
  batchSize?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Write telnet `put` lines to this address instead of HTTP (no acknowledgement: see telnet-writer.ts). */
  telnet?: { host: string; port: number };
  /** Per call, ms (default 10 000). */
  timeoutMs?: number;
  /** Attempts for calls that may pass later (5xx, 429, network, timeout); default 5 attempts from 200 ms. */
  retry?: RetryOptions;
  /** Most tags a point may carry; points with more are refused before sending (default 16). */
  maxTags?: number;
  /** Where refused points go (a dead-letter queue), with the reason: ours or the server's text. */
  onRejected?: (point: MetricPoint, reason: string) => void;
  /** Most series one scoped suggest reads per project through lookup (default 10 000). */
  scopedSuggestLimit?: number;
  logger: Logger;
  clock?: Clock;
};

export type OpenTsdbStoreStats = {
  /** Points the server stored, by its answers (telnet: points sent). */
  written: number;
  /** Points refused, by us or by the server. */
  rejected: number;
  /** Calls tried again after a transient failure. */
  retries: number;
  /** Lines the server sent back over telnet (each one an error of an earlier put). */
  telnetErrors: number;
};

export type OpenTsdbMetricStore = MetricStore & { stats(): OpenTsdbStoreStats };

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** Runs `tasks` with at most `limit` at once; waits for all, then throws the first failure. */
async function runBounded(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

export function createOpenTsdbMetricStore(options: OpenTsdbMetricStoreOptions): OpenTsdbMetricStore {
  const url = trimSlash(options.url);
  const queryUrl = trimSlash(options.queryUrl ?? options.url);
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ store: 'opentsdb' });
  const batchSize = Math.max(1, options.batchSize ?? 5_000);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retry = options.retry ?? { attempts: 5, baseMs: 200 };
  const maxTags = options.maxTags ?? LIMITS.maxTags;
  const counts: OpenTsdbStoreStats = { written: 0, rejected: 0, retries: 0, telnetErrors: 0 };
  const retrying = { ...retry, clock, logger, onRetry: () => counts.retries++ };

  const reject = (point: MetricPoint, reason: string) => {
    counts.rejected++;
    if (options.onRejected) options.onRejected(point, reason);
    else logger.warn('point refused', { metric: point.metric, ts: point.ts, reason });
  };

  let telnet: TelnetWriter | undefined;
  if (options.telnet)
    telnet = createTelnetWriter({
      ...options.telnet,
      timeoutMs,
      logger,
      onReply: (line) => {
        counts.telnetErrors++;
        logger.warn('telnet put refused', { reply: line });
      },
    });

  async function call(method: 'GET' | 'POST', target: string, body?: unknown): Promise<HttpAnswer> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const answer = await request(target, init, timeoutMs);
    if (isTransientStatus(answer.status))
      throw new TransientError(`${method} ${target}: ${answer.status} ${answer.text.slice(0, 200)}`);
    return answer;
  }

  async function putBatch(batch: MetricPoint[]): Promise<void> {
    const target = `${url}/api/put?details`;
    const answer = await withRetry(
      `POST ${target} (${batch.length} points)`,
      () => call('POST', target, toPutBody(batch)),
      retrying,
    );
    const json = parseJson(answer.text);
    if (answer.status === 200 || answer.status === 204 || (answer.status === 400 && hasErrors(json))) {
      const outcome = parsePutDetails(json, batch);
      for (const r of outcome.rejected) reject(r.point, r.reason);
      if (outcome.unmatched.length > 0)
        logger.warn('refusals that match no point sent', {
          count: outcome.unmatched.length,
          first: outcome.unmatched[0],
        });
      counts.written += outcome.stored;
      return;
    }
    if (answer.status === 400) {
      // The whole body was refused (OpenTSDB: "all of the datapoints will be discarded").
      const reason = `the store refused the whole request: ${answer.text.slice(0, 300)}`;
      for (const p of batch) reject(p, reason);
      return;
    }
    throw new HubError(
      'UPSTREAM_FAILED',
      `POST ${target} answered ${answer.status}: ${answer.text.slice(0, 300)}`,
    );
  }

  async function telnetBatch(writer: TelnetWriter, batch: MetricPoint[]): Promise<void> {
    const lines = batch.map(toTelnetLine);
    await withRetry(`telnet put (${batch.length} points)`, () => writer.write(lines), retrying);
    counts.written += batch.length;
  }

  async function getJson(path: string, params: URLSearchParams): Promise<unknown> {
    const target = `${queryUrl}${path}?${params}`;
    const answer = await withRetry(`GET ${target}`, () => call('GET', target), retrying);
    return parseAnswer(answer, target);
  }

  async function lookupScoped(metric: string, tags: Tags, limit: number, scope?: ProjectScope) {
    if (!scope)
      return fromLookupResponse(await getJson('/api/search/lookup', lookupParams(metric, tags, limit)));
    const wanted = tags['project'];
    const projects = scope.projects.filter((p) => wanted === undefined || wanted === '*' || wanted === p);
    const out: LookupResult[] = [];
    for (const project of projects) {
      if (out.length >= limit) break;
      const params = lookupParams(metric, { ...tags, project }, limit - out.length);
      out.push(...fromLookupResponse(await getJson('/api/search/lookup', params)));
    }
    return out.slice(0, limit);
  }

  async function promPost(path: string, form: URLSearchParams): Promise<string> {
    const target = `${trimSlash(options.promReadUrl ?? '')}${path}`;
    const what = `POST ${target} (${form.get('match[]') ?? 'all series'})`;
    const answer = await withRetry(
      what,
      async () => {
        const init = { method: 'POST', body: form } satisfies RequestInit;
        const a = await request(target, init, timeoutMs);
        if (isTransientStatus(a.status))
          throw new TransientError(`${what}: ${a.status} ${a.text.slice(0, 200)}`);
        return a;
      },
      retrying,
    );
    if (answer.status < 200 || answer.status >= 300) throw promCallFailed(what, answer.status, answer.text);
    return answer.text;
  }
  const prom: PrometheusReader | undefined = options.promReadUrl
    ? createPrometheusReader(promPost, () => clock.now())
    : undefined;

  return {
    async write(points) {
      const valid: MetricPoint[] = [];
      for (const p of points) {
        // VictoriaMetrics drops a bad point with a 204 and a log line; checking here keeps the refusal visible.
        const checked = validateMetricPoint(p, maxTags);
        if (checked.ok) valid.push(p);
        else reject(p, `${checked.error.field}: ${checked.error.message}`);
      }
      const tasks: (() => Promise<void>)[] = [];
      for (let i = 0; i < valid.length; i += batchSize) {
        const batch = valid.slice(i, i + batchSize);
        tasks.push(() => (telnet ? telnetBatch(telnet, batch) : putBatch(batch)));
      }
      await runBounded(tasks, concurrency);
    },

    async checkpoint() {
      return -1;
    },

    async query(query, scope) {
      if (prom) return prom.query(query, scope);
      if (scope && scope.projects.length === 0) return [];
      const target = `${queryUrl}/api/query`;
      const body = toQueryBody(query, scope);
      const answer = await withRetry(`POST ${target}`, () => call('POST', target, body), retrying);
      return fromQueryResponse(parseAnswer(answer, target), query) satisfies SeriesResult[];
    },

    async suggest(type, prefix, max, scope) {
      if (prom) return prom.suggest(type, prefix, max, scope);
      if (!scope) return fromSuggestResponse(await getJson('/api/suggest', suggestParams(type, prefix, max)));
      // OpenTSDB's suggest knows no tags: in a scope, names come from the series of its projects.
      const series = await lookupScoped('*', {}, options.scopedSuggestLimit ?? 10_000, scope);
      const names = new Set<string>();
      for (const s of series) {
        const candidates =
          type === 'metrics' ? [s.metric] : type === 'tagk' ? Object.keys(s.tags) : Object.values(s.tags);
        for (const n of candidates) if (n.startsWith(prefix)) names.add(n);
      }
      return [...names].sort().slice(0, max);
    },

    async lookup(metric, tags, limit, scope) {
      if (prom) return prom.lookup(metric, tags, limit, scope);
      if (scope && scope.projects.length === 0) return [];
      return lookupScoped(metric, tags, limit, scope);
    },

    async diskBytes() {
      if (!options.statsUrl) return -1;
      const target = `${trimSlash(options.statsUrl)}/metrics`;
      const answer = await withRetry(`GET ${target}`, () => call('GET', target), retrying);
      return sumPrometheusGauge(answer.text, 'vm_data_size_bytes') ?? -1;
    },

    async close() {
      await telnet?.close();
    },

    stats: () => ({ ...counts }),
  };
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function hasErrors(json: unknown): boolean {
  return json !== null && typeof json === 'object' && Array.isArray((json as { errors?: unknown }).errors);
}

/** The JSON of a read answer; a 4xx is the query's fault, anything else unexpected is the store's. */
function parseAnswer(answer: HttpAnswer, target: string): unknown {
  const json = parseJson(answer.text);
  if (answer.status >= 200 && answer.status < 300 && typeof json !== 'string') return json;
  const message = `${target} answered ${answer.status}: ${answer.text.slice(0, 300)}`;
  // VictoriaMetrics answers a path it does not serve with 400 "unsupported path requested".
  if (answer.status === 404 || /unsupported path|unexpected path/.test(answer.text))
    throw new HubError('UPSTREAM_FAILED', `${message} (this server does not serve OpenTSDB's read API)`);
  throw new HubError(
    answer.status >= 400 && answer.status < 500 ? 'INVALID_QUERY' : 'UPSTREAM_FAILED',
    message,
  );
}
