/**
 * What the Containers page loads and keeps: one query per metric for the page's level, the points
 * of the last window (history and live pushes land in the same series), and reads over them.
 */
import { createSeriesStore } from './lib/series-store.js';
import { toLogin } from './lib/session.js';

/**
 * One query per metric. `tags` is the query's filter (`*` groups by the tag); live points are
 * kept when they match its fixed values and reduced to its grouped and fixed tags, so that history
 * and pushed points land in the same series.
 * @typedef {{ metric: string, aggregator: string, tags: Record<string, string> }} Query
 */

/** The queries of a level: apps (no project), an app's containers, or one container. */
export function queriesFor(
  /** @type {'apps' | 'app' | 'container'} */ level,
  /** @type {string | null} */ project,
  /** @type {string | null} */ app,
  /** @type {string | null} */ container,
) {
  /** @type {Query[]} */
  const queries = [];
  const containerTags =
    level === 'apps'
      ? { project: '*', app: '*', container: '*' }
      : {
          project: /** @type {string} */ (project),
          app: /** @type {string} */ (app),
          container: container ?? '*',
        };
  const metrics =
    level === 'container'
      ? [
          'container.cpu.usage',
          'container.cpu.limit',
          'container.cpu.throttled',
          'container.mem.working_set',
          'container.mem.limit',
          'container.net.rx_bytes',
          'container.net.tx_bytes',
        ]
      : ['container.cpu.usage', 'container.cpu.limit', 'container.mem.working_set', 'container.mem.limit'];
  for (const metric of metrics) queries.push({ metric, aggregator: 'avg', tags: containerTags });
  if (level !== 'apps') {
    const pair = { project: /** @type {string} */ (project), vhost: '*', upstream: '*' };
    queries.push({ metric: 'nginx.requests', aggregator: 'sum', tags: { ...pair, status_class: '*' } });
    queries.push({ metric: 'nginx.status.5xx', aggregator: 'sum', tags: pair });
    for (const q of ['p50', 'p90', 'p99'])
      queries.push({ metric: `nginx.request_time.${q}`, aggregator: 'max', tags: pair });
  }
  return queries;
}

/** @param {[number, number][]} pts */
export const lastValue = (pts) => pts[pts.length - 1]?.[1];

/** Whether an nginx vhost/upstream serves the app: its upstream or vhost is named after it. */
function servesApp(/** @type {string} */ vhost, /** @type {string} */ upstream, /** @type {string} */ a) {
  return (
    upstream === a ||
    vhost === a ||
    vhost.startsWith(`${a}.`) ||
    upstream.startsWith(`${a}.`) ||
    upstream.startsWith(`${a}_`)
  );
}

/** The points of `queries` kept for `keepMs`, and the page's reads over them. */
export function createPageData(/** @type {Query[]} */ queries, /** @type {number} */ keepMs) {
  const byMetric = new Map(queries.map((q) => [q.metric, q]));
  const store = createSeriesStore(keepMs);

  /** @param {string} metric @param {Record<string, string>} tags @param {number} ts @param {number} value */
  function add(metric, tags, ts, value) {
    const q = byMetric.get(metric);
    if (!q) return;
    /** @type {Record<string, string>} */
    const kept = {};
    for (const [k, v] of Object.entries(q.tags)) {
      const got = tags[k];
      if (got === undefined || (v !== '*' && got !== v)) return;
      kept[k] = got;
    }
    store.add(metric, kept, ts, value);
  }

  /** The per-timestamp maximum over the values of `tag` (percentiles do not add up). */
  function maxOver(
    /** @type {string} */ metric,
    /** @type {Record<string, string>} */ where,
    /** @type {string} */ tag,
  ) {
    const values = store.tagValuesWhere(metric, tag, where);
    if (values.length === 0) return store.sum(metric, where);
    /** @type {Map<number, number>} */
    const byTs = new Map();
    for (const v of values)
      for (const [ts, x] of store.sum(metric, { ...where, [tag]: v }))
        byTs.set(ts, Math.max(byTs.get(ts) ?? -Infinity, x));
    return [...byTs].sort((a, b) => a[0] - b[0]);
  }

  /** Latest value of each container of an app, summed (containers report at their own times). */
  function appNow(/** @type {string} */ metric, /** @type {string} */ p, /** @type {string} */ a) {
    let total = 0;
    let any = false;
    for (const c of store.tagValuesWhere(metric, 'container', { project: p, app: a })) {
      const v = lastValue(store.sum(metric, { project: p, app: a, container: c }));
      if (v !== undefined) {
        total += v;
        any = true;
      }
    }
    return any ? total : undefined;
  }

  /** The app's (vhost, upstream) pairs seen in nginx metrics. */
  function nginxOfApp(/** @type {string} */ project, /** @type {string} */ app) {
    /** @type {{ vhost: string, upstream: string }[]} */
    const out = [];
    const where = { project };
    for (const vhost of store.tagValuesWhere('nginx.requests', 'vhost', where))
      for (const upstream of store.tagValuesWhere('nginx.requests', 'upstream', { ...where, vhost }))
        if (servesApp(vhost, upstream, app)) out.push({ vhost, upstream });
    return out;
  }

  return { store, add, maxOver, appNow, nginxOfApp };
}

/** The apps (project, app) with container series the caller may see, from the series index. */
export async function fetchApps() {
  const m = 'container.cpu.usage{project=*,app=*}';
  const res = await fetch(`/api/search/lookup?limit=10000&m=${encodeURIComponent(m)}`, {
    headers: { accept: 'application/json' },
  });
  if (res.status === 401) toLogin();
  if (!res.ok) throw new Error(`lookup: HTTP ${res.status}`);
  const body = await res.json();
  /** @type {Map<string, { project: string, app: string }>} */
  const apps = new Map();
  for (const r of body.results ?? []) {
    const p = r.tags?.project;
    const a = r.tags?.app;
    if (typeof p === 'string' && typeof a === 'string') apps.set(`${p}\n${a}`, { project: p, app: a });
  }
  return [...apps.values()];
}
