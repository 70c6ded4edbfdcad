/**
 * Reads series from the hub's OpenTSDB-compatible `/api/query`.
 *
 * @typedef {{ metric: string, aggregator: string, tags?: Record<string, string> }} SeriesQuery
 * @typedef {{ metric: string, tags: Record<string, string>, points: [number, number][] }} Series
 */

import { toLogin } from './session.js';

/**
 * The URL of one OpenTSDB GET query, with millisecond timestamps.
 * @param {SeriesQuery} q
 * @param {string} start e.g. `10m-ago` or epoch ms
 */
export function queryUrl(q, start) {
  const tags = Object.entries(q.tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const m = `${q.aggregator}:${q.metric}${tags ? `{${tags}}` : ''}`;
  return `/api/query?start=${encodeURIComponent(start)}&ms=true&m=${encodeURIComponent(m)}`;
}

/**
 * Turns an OpenTSDB answer into series with time-ordered `[ms, value]` points (nulls dropped).
 * Also accepts `dps` as an array of pairs. Timestamps under 1e12 are taken as seconds.
 * @param {unknown} body
 * @returns {Series[]}
 */
export function parseQueryResponse(body) {
  if (!Array.isArray(body)) throw new Error('The query answer is not an array of series');
  return body.map((s) => {
    const entries = Array.isArray(s.dps) ? s.dps : Object.entries(s.dps ?? {});
    /** @type {[number, number][]} */
    const points = [];
    for (const [t, v] of entries) {
      const ts = Number(t);
      if (v == null || !Number.isFinite(ts) || !Number.isFinite(Number(v))) continue;
      points.push([ts < 1e12 ? ts * 1000 : ts, Number(v)]);
    }
    points.sort((a, b) => a[0] - b[0]);
    return { metric: String(s.metric), tags: s.tags ?? {}, points };
  });
}

/**
 * Runs the queries in parallel. A query that fails does not fail the others: its error is
 * returned beside the series.
 * @param {SeriesQuery[]} queries
 * @param {string} start
 * @returns {Promise<{ series: Series[], errors: string[] }>}
 */
export async function fetchHistory(queries, start) {
  const results = await Promise.allSettled(
    queries.map(async (q) => {
      const res = await fetch(queryUrl(q, start), { headers: { accept: 'application/json' } });
      const body = await res.json().catch(() => null);
      if (res.status === 401) toLogin();
      if (!res.ok) {
        const why = body?.error?.message ?? body?.message ?? res.statusText;
        throw new Error(`${q.metric}: HTTP ${res.status} ${why}`);
      }
      return parseQueryResponse(body);
    }),
  );
  const series = [];
  const errors = [];
  for (const r of results) {
    if (r.status === 'fulfilled') series.push(...r.value);
    else errors.push(r.reason instanceof Error ? r.reason.message : String(r.reason));
  }
  return { series, errors };
}
