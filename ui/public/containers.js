/**
 * The Containers page, three levels chosen by the query string:
 * - no `app`: the apps of the projects the caller sees, with their current CPU and memory;
 * - `?project=&app=`: the containers of that app, each with small CPU and memory charts;
 * - `?project=&app=&container=`: one container: CPU against its limit, working set against its
 *   limit, network, throttling.
 * Levels 2 and 3 also show nginx per vhost → upstream of the app (see `nginxOfApp`).
 *
 * History comes once from `/api/query` (already limited to the caller's projects); after that the
 * server pushes points over socket.io to the page, which `watch`es each project it shows
 * (`ui/live/project-push.ts`). The page never polls the server.
 */
import { io } from '/vendor/socket.io/socket.io.esm.min.js';
import { createLineChart } from './lib/chart.js';
import { ago, bytesParts, format, rateParts } from './lib/format.js';
import { createSeriesStore } from './lib/series-store.js';
import { loadSession, toLogin } from './lib/session.js';
import { fetchHistory } from './lib/tsdb.js';

const WINDOW_MS = 10 * 60_000;
const params = new URLSearchParams(location.search);
const project = params.get('project');
const app = params.get('app');
const container = params.get('container');
/** @type {'apps' | 'app' | 'container'} */
const level = project && app ? (container ? 'container' : 'app') : 'apps';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const cssVar = (/** @type {string} */ name) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim();
/** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} children */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}
const href = (/** @type {Record<string, string>} */ q) => `/containers.html?${new URLSearchParams(q)}`;

// ------------------------------------------------------------------ formats

const fmtBytes = (/** @type {number} */ v) => format(bytesParts(v));
const fmtRate = (/** @type {number} */ v) => format(rateParts(v));
const fmtCores = (/** @type {number} */ v) =>
  Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 1)} cores` : '–';
const fmtPercent = (/** @type {number} */ v) => (Number.isFinite(v) ? `${v.toFixed(v < 10 ? 1 : 0)} %` : '–');
const fmtReqs = (/** @type {number} */ v) =>
  Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 0)} req/s` : '–';
const fmtCount = (/** @type {number} */ v) => (Number.isFinite(v) ? `${Math.round(v)} resp` : '–');
const fmtSeconds = (/** @type {number} */ v) =>
  !Number.isFinite(v) ? '–' : v < 1 ? `${(v * 1000).toFixed(v < 0.01 ? 1 : 0)} ms` : `${v.toFixed(2)} s`;
const unitOf = (/** @type {number} */ base) => (/** @type {number} */ v) =>
  base ** Math.max(0, Math.floor(Math.log(v) / Math.log(base)));

// ------------------------------------------------------------------ what to load

/**
 * One query per metric. `tags` is the query's filter (`*` groups by the tag); live points are
 * kept when they match its fixed values and reduced to its grouped and fixed tags, so that history
 * and pushed points land in the same series.
 * @typedef {{ metric: string, aggregator: string, tags: Record<string, string> }} Query
 */
/** @type {Query[]} */
const QUERIES = [];
const containerTags =
  level === 'apps'
    ? { project: '*', app: '*', container: '*' }
    : {
        project: /** @type {string} */ (project),
        app: /** @type {string} */ (app),
        container: container ?? '*',
      };
const CONTAINER_METRICS =
  level === 'apps'
    ? ['container.cpu.usage', 'container.cpu.limit', 'container.mem.working_set', 'container.mem.limit']
    : level === 'app'
      ? ['container.cpu.usage', 'container.cpu.limit', 'container.mem.working_set', 'container.mem.limit']
      : [
          'container.cpu.usage',
          'container.cpu.limit',
          'container.cpu.throttled',
          'container.mem.working_set',
          'container.mem.limit',
          'container.net.rx_bytes',
          'container.net.tx_bytes',
        ];
for (const metric of CONTAINER_METRICS) QUERIES.push({ metric, aggregator: 'avg', tags: containerTags });
if (level !== 'apps') {
  const pair = { project: /** @type {string} */ (project), vhost: '*', upstream: '*' };
  QUERIES.push({ metric: 'nginx.requests', aggregator: 'sum', tags: { ...pair, status_class: '*' } });
  QUERIES.push({ metric: 'nginx.status.5xx', aggregator: 'sum', tags: pair });
  for (const q of ['p50', 'p90', 'p99'])
    QUERIES.push({ metric: `nginx.request_time.${q}`, aggregator: 'max', tags: pair });
}
const BY_METRIC = new Map(QUERIES.map((q) => [q.metric, q]));

const store = createSeriesStore(WINDOW_MS + 60_000);

/** @param {string} metric @param {Record<string, string>} tags @param {number} ts @param {number} value */
function add(metric, tags, ts, value) {
  const q = BY_METRIC.get(metric);
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

// ------------------------------------------------------------------ helpers over the store

/** @param {[number, number][]} pts */
const lastValue = (pts) => pts[pts.length - 1]?.[1];

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

/** The app's (vhost, upstream) pairs seen in nginx metrics. */
function nginxOfApp() {
  /** @type {{ vhost: string, upstream: string }[]} */
  const out = [];
  const where = { project: /** @type {string} */ (project) };
  for (const vhost of store.tagValuesWhere('nginx.requests', 'vhost', where))
    for (const upstream of store.tagValuesWhere('nginx.requests', 'upstream', { ...where, vhost }))
      if (servesApp(vhost, upstream, /** @type {string} */ (app))) out.push({ vhost, upstream });
  return out;
}

// ------------------------------------------------------------------ charts

/**
 * A titled chart card, created once and redrawn on each render.
 * @param {HTMLElement} parent
 * @param {{ title: string, series: { id: string, label: string, color: string, dashed?: boolean, area?: boolean }[], format: (v: number) => string, yMax?: number, minTop?: number, unit?: (v: number) => number, height?: number, small?: boolean }} o
 */
function chartCard(parent, o) {
  const big = el('span', { class: 'c-now' }, '–');
  const legend = el(
    'ul',
    { class: 'legend' },
    ...o.series.map((s) =>
      el(
        'li',
        {},
        el('span', { class: s.dashed ? 'swatch dashed' : 'swatch', style: `--c: ${s.color}` }),
        s.label,
      ),
    ),
  );
  const area = el('div', { class: 'chart' });
  const card = el(
    'article',
    { class: o.small ? 'c-chart c-chart-small' : 'c-chart', 'data-empty': 'true', 'data-chart': o.title },
    el('header', { class: 'c-chart-head' }, el('h3', {}, o.title), big),
    legend,
    area,
    el('p', { class: 'c-chart-empty' }, 'waiting for the first points…'),
  );
  parent.append(card);
  const chart = createLineChart(area, {
    label: `${o.title} over the last 10 minutes`,
    series: o.series,
    format: o.format,
    yMax: o.yMax,
    minTop: o.minTop,
    unit: o.unit,
    height: o.height ?? (o.small ? 120 : 170),
  });
  return {
    card,
    /** @param {Map<string, [number, number][]>} data @param {[number, number]} domain @param {string} now */
    draw(data, domain, now) {
      chart.draw(data, domain);
      const empty = [...data.values()].every((pts) => pts.length === 0);
      card.dataset.empty = String(empty);
      big.textContent = now;
    },
  };
}

const colors = {
  cpu: cssVar('--cpu') || '#0b6bcb',
  mem: cssVar('--mem') || '#7c3aed',
  limit: cssVar('--c-limit') || '#c2410c',
  rx: cssVar('--rx') || '#168a5a',
  tx: cssVar('--tx') || '#d0661a',
  throttle: cssVar('--c-throttle') || '#b91c1c',
  req: cssVar('--c-req') || '#0b6bcb',
  p50: cssVar('--c-p50') || '#168a5a',
  p90: cssVar('--c-p90') || '#d0661a',
  p99: cssVar('--c-p99') || '#b91c1c',
  err: cssVar('--c-err') || '#b91c1c',
};

const cpuChart = (/** @type {HTMLElement} */ parent, small = false) =>
  chartCard(parent, {
    title: 'CPU',
    small,
    series: [
      { id: 'usage', label: 'usage', color: colors.cpu, area: true },
      { id: 'limit', label: 'limit', color: colors.limit, dashed: true },
    ],
    format: fmtCores,
    minTop: 0.1,
  });
const memChart = (/** @type {HTMLElement} */ parent, small = false) =>
  chartCard(parent, {
    title: 'Memory',
    small,
    series: [
      { id: 'ws', label: 'working set', color: colors.mem, area: true },
      { id: 'limit', label: 'limit', color: colors.limit, dashed: true },
    ],
    format: fmtBytes,
    unit: unitOf(1024),
    minTop: 64 * 1024 ** 2,
  });

/** A window's domain and a filter of points to it. */
function windowNow() {
  const end = Math.max(Date.now(), store.newest);
  store.prune(end);
  const domain = /** @type {[number, number]} */ ([end - WINDOW_MS, end]);
  const inWindow = (/** @type {[number, number][]} */ pts) => pts.filter((p) => p[0] >= domain[0]);
  return { domain, inWindow };
}

/** `used / limit` as text: "0.42 cores of 1.00", "312 MiB of 512 MiB · 61 %". */
function ofLimit(
  /** @type {number | undefined} */ used,
  /** @type {number | undefined} */ limit,
  /** @type {(v: number) => string} */ f,
) {
  if (used === undefined) return '–';
  if (!limit) return f(used);
  return `${f(used)} of ${f(limit)} · ${fmtPercent((100 * used) / limit)}`;
}

// ------------------------------------------------------------------ level 1: apps

/** @type {Set<string>} projects with containers, from the lookup and from what arrives */
const projectsSeen = new Set();

function meter(
  /** @type {number | undefined} */ used,
  /** @type {number | undefined} */ limit,
  /** @type {(v: number) => string} */ f,
  /** @type {string} */ color,
) {
  const pct = used !== undefined && limit ? Math.min(100, (100 * used) / limit) : null;
  return el(
    'div',
    { class: 'c-meter' },
    el('span', { class: 'c-meter-text' }, ofLimit(used, limit, f)),
    el(
      'span',
      { class: 'c-meter-bar', 'aria-hidden': 'true' },
      el('span', { style: `width: ${pct ?? 0}%; background: ${color}` }),
    ),
  );
}

function renderApps() {
  windowNow();
  /** @type {Map<string, { project: string, app: string }>} */
  const apps = new Map();
  for (const p of new Set([...projectsSeen, ...store.tagValues('container.cpu.usage', 'project').keys()]))
    for (const a of store.tagValuesWhere('container.cpu.usage', 'app', { project: p }))
      apps.set(`${p}\n${a}`, { project: p, app: a });
  for (const a of lookedUpApps) apps.set(`${a.project}\n${a.app}`, a);
  const rows = [...apps.values()].sort(
    (x, y) => x.app.localeCompare(y.app) || x.project.localeCompare(y.project),
  );
  const body = /** @type {HTMLElement} */ ($('apps-table').querySelector('tbody'));
  const built = rows.map(({ project: p, app: a }) => {
    const containers = new Set([
      ...store.tagValuesWhere('container.cpu.usage', 'container', { project: p, app: a }),
      ...store.tagValuesWhere('container.mem.working_set', 'container', { project: p, app: a }),
    ]);
    const tr = el(
      'tr',
      { 'data-app': a, 'data-project': p },
      el('td', {}, el('a', { href: href({ project: p, app: a }), class: 'c-link' }, a)),
      el('td', { class: 'c-muted' }, p),
      el('td', { class: 'num' }, String(containers.size)),
      el(
        'td',
        { class: 'c-cpu' },
        meter(appNow('container.cpu.usage', p, a), appNow('container.cpu.limit', p, a), fmtCores, colors.cpu),
      ),
      el(
        'td',
        { class: 'c-mem' },
        meter(
          appNow('container.mem.working_set', p, a),
          appNow('container.mem.limit', p, a),
          fmtBytes,
          colors.mem,
        ),
      ),
    );
    return tr;
  });
  // Rebuild only on change, so a row being clicked is not swapped under the pointer.
  const signature = built.map((tr) => tr.textContent).join('\n');
  if (signature !== body.dataset.signature) {
    body.replaceChildren(...built);
    body.dataset.signature = signature;
  }
  $('apps-empty').hidden = rows.length > 0;
}

// ------------------------------------------------------------------ level 2: containers of an app

/** @type {Map<string, { card: HTMLElement, cpu: ReturnType<typeof chartCard>, mem: ReturnType<typeof chartCard> }>} */
const cards = new Map();

function renderApp() {
  const { domain, inWindow } = windowNow();
  const where = { project: /** @type {string} */ (project), app: /** @type {string} */ (app) };
  const names = [
    ...new Set([
      ...store.tagValuesWhere('container.cpu.usage', 'container', where),
      ...store.tagValuesWhere('container.mem.working_set', 'container', where),
    ]),
  ].sort();
  const grid = $('container-cards');
  for (const name of names) {
    if (cards.has(name)) continue;
    const charts = el('div', { class: 'c-card-charts' });
    const card = el(
      'article',
      { class: 'c-card', 'data-container': name },
      el(
        'h2',
        { class: 'c-card-title' },
        el('a', { href: href({ ...where, container: name }), class: 'c-link' }, name),
      ),
      charts,
    );
    // Keep the cards in name order as new containers appear.
    const after = [...cards.keys()].filter((k) => k > name).sort()[0];
    grid.insertBefore(card, after ? /** @type {HTMLElement} */ (cards.get(after)).card : null);
    cards.set(name, { card, cpu: cpuChart(charts, true), mem: memChart(charts, true) });
  }
  for (const [name, c] of cards) {
    const w = { ...where, container: name };
    const usage = inWindow(store.sum('container.cpu.usage', w));
    const limit = inWindow(store.sum('container.cpu.limit', w));
    c.cpu.draw(
      new Map([
        ['usage', usage],
        ['limit', limit],
      ]),
      domain,
      ofLimit(lastValue(usage), lastValue(limit), fmtCores),
    );
    const ws = inWindow(store.sum('container.mem.working_set', w));
    const ml = inWindow(store.sum('container.mem.limit', w));
    c.mem.draw(
      new Map([
        ['ws', ws],
        ['limit', ml],
      ]),
      domain,
      ofLimit(lastValue(ws), lastValue(ml), fmtBytes),
    );
  }
  $('containers-empty').hidden = cards.size > 0;
  renderNginx(domain, inWindow);
}

// ------------------------------------------------------------------ level 3: one container

/** @type {null | Record<'cpu' | 'mem' | 'net' | 'throttle', ReturnType<typeof chartCard>>} */
let containerCharts = null;

function renderContainer() {
  const { domain, inWindow } = windowNow();
  const parent = $('container-charts');
  containerCharts ??= {
    cpu: cpuChart(parent),
    mem: memChart(parent),
    net: chartCard(parent, {
      title: 'Network',
      series: [
        { id: 'rx', label: 'received', color: colors.rx, area: true },
        { id: 'tx', label: 'sent', color: colors.tx },
      ],
      format: fmtRate,
      unit: unitOf(1000),
      minTop: 10_000,
    }),
    throttle: chartCard(parent, {
      title: 'CPU throttling',
      series: [{ id: 'throttled', label: 'periods throttled', color: colors.throttle, area: true }],
      format: fmtPercent,
      minTop: 5,
    }),
  };
  const w = {
    project: /** @type {string} */ (project),
    app: /** @type {string} */ (app),
    container: /** @type {string} */ (container),
  };
  const s = (/** @type {string} */ m) => inWindow(store.sum(m, w));
  const usage = s('container.cpu.usage');
  const limit = s('container.cpu.limit');
  containerCharts.cpu.draw(
    new Map([
      ['usage', usage],
      ['limit', limit],
    ]),
    domain,
    ofLimit(lastValue(usage), lastValue(limit), fmtCores),
  );
  const ws = s('container.mem.working_set');
  const ml = s('container.mem.limit');
  containerCharts.mem.draw(
    new Map([
      ['ws', ws],
      ['limit', ml],
    ]),
    domain,
    ofLimit(lastValue(ws), lastValue(ml), fmtBytes),
  );
  const rx = s('container.net.rx_bytes');
  const tx = s('container.net.tx_bytes');
  containerCharts.net.draw(
    new Map([
      ['rx', rx],
      ['tx', tx],
    ]),
    domain,
    rx.length || tx.length
      ? `in ${fmtRate(lastValue(rx) ?? Number.NaN)} · out ${fmtRate(lastValue(tx) ?? Number.NaN)}`
      : '–',
  );
  const throttled = s('container.cpu.throttled').map(
    ([t, v]) => /** @type {[number, number]} */ ([t, v * 100]),
  );
  containerCharts.throttle.draw(
    new Map([['throttled', throttled]]),
    domain,
    fmtPercent(lastValue(throttled) ?? Number.NaN),
  );
  renderNginx(domain, inWindow);
}

// ------------------------------------------------------------------ nginx (levels 2 and 3)

/** @type {Map<string, { req: ReturnType<typeof chartCard>, lat: ReturnType<typeof chartCard>, err: ReturnType<typeof chartCard> }>} */
const nginxGroups = new Map();

function renderNginx(
  /** @type {[number, number]} */ domain,
  /** @type {(p: [number, number][]) => [number, number][]} */ inWindow,
) {
  const pairs = nginxOfApp();
  const root = $('nginx-groups');
  for (const { vhost, upstream } of pairs) {
    const key = `${vhost}\n${upstream}`;
    if (nginxGroups.has(key)) continue;
    const charts = el('div', { class: 'c-nginx-charts' });
    root.append(
      el(
        'article',
        { class: 'c-nginx', 'data-vhost': vhost, 'data-upstream': upstream },
        el('h3', { class: 'c-nginx-title' }, vhost, el('span', { class: 'c-muted' }, ` → ${upstream}`)),
        charts,
      ),
    );
    nginxGroups.set(key, {
      req: chartCard(charts, {
        title: 'Requests',
        small: true,
        series: [{ id: 'req', label: 'requests', color: colors.req, area: true }],
        format: fmtReqs,
        minTop: 1,
      }),
      lat: chartCard(charts, {
        title: 'Latency',
        small: true,
        series: [
          { id: 'p50', label: 'p50', color: colors.p50 },
          { id: 'p90', label: 'p90', color: colors.p90 },
          { id: 'p99', label: 'p99', color: colors.p99 },
        ],
        format: fmtSeconds,
        minTop: 0.01,
      }),
      err: chartCard(charts, {
        title: '5xx',
        small: true,
        series: [{ id: 'err', label: '5xx responses', color: colors.err, area: true }],
        format: fmtCount,
        minTop: 1,
      }),
    });
  }
  for (const [key, g] of nginxGroups) {
    const [vhost, upstream] = key.split('\n');
    const where = { project: /** @type {string} */ (project), vhost, upstream };
    const req = inWindow(store.sum('nginx.requests', where));
    g.req.draw(new Map([['req', req]]), domain, fmtReqs(lastValue(req) ?? Number.NaN));
    const lat = Object.fromEntries(
      ['p50', 'p90', 'p99'].map((q) => [q, inWindow(maxOver(`nginx.request_time.${q}`, where, 'host'))]),
    );
    g.lat.draw(
      new Map(Object.entries(lat)),
      domain,
      lat.p99.length ? `p99 ${fmtSeconds(lastValue(lat.p99) ?? Number.NaN)}` : '–',
    );
    const err = inWindow(store.sum('nginx.status.5xx', where));
    g.err.draw(new Map([['err', err]]), domain, fmtCount(lastValue(err) ?? Number.NaN));
  }
  $('nginx-view').hidden = nginxGroups.size === 0;
}

// ------------------------------------------------------------------ page

function renderCrumbs() {
  const parts = [el('a', { href: '/containers.html' }, 'apps')];
  if (project && app)
    parts.push(
      el('span', { class: 'sep' }, '/'),
      el('a', { href: href({ project, app }) }, app),
      el('span', { class: 'c-muted' }, `(${project})`),
    );
  if (container) parts.push(el('span', { class: 'sep' }, '/'), el('strong', {}, container));
  $('crumbs').replaceChildren(...parts);
  $('title').textContent = container ?? app ?? 'Apps';
  document.title = `${container ?? app ?? 'Apps'} · Containers · obs`;
}

function render() {
  if (level === 'apps') renderApps();
  else if (level === 'app') renderApp();
  else renderContainer();
  const newest = store.newest;
  $('updated').textContent = newest ? `updated ${ago(Math.max(0, Date.now() - newest))}` : 'no data yet';
}

/** @type {string[]} */
let loadErrors = [];
/** @type {string[]} */
let liveErrors = [];
function showNotice() {
  const notice = $('notice');
  const parts = [];
  if (loadErrors.length)
    parts.push(
      `Could not load the history (${loadErrors.join('; ')}). Live points still appear as they arrive.`,
    );
  if (liveErrors.length) parts.push(`No live updates: ${liveErrors.join('; ')}.`);
  notice.hidden = parts.length === 0;
  notice.textContent = parts.join(' ');
}

/** @type {{ project: string, app: string }[]} */
let lookedUpApps = [];

/** The apps of the visible projects (level 1), from the series index. */
async function lookupApps() {
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
  lookedUpApps = [...apps.values()];
  for (const a of lookedUpApps) projectsSeen.add(a.project);
}

async function loadHistory(/** @type {string} */ start) {
  const { series, errors } = await fetchHistory(QUERIES, start);
  for (const s of series) for (const [ts, v] of s.points) add(s.metric, s.tags, ts, v);
  loadErrors = errors;
  showNotice();
  render();
}

const LABELS = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…' };
function setConnection(/** @type {'connecting' | 'live' | 'reconnecting'} */ state) {
  const c = $('connection');
  c.dataset.state = state;
  /** @type {HTMLElement} */ (c.querySelector('.connection-label')).textContent = LABELS[state];
}

/** Watches the projects on the page; the ack comes once the socket is in their rooms. */
function connect(/** @type {() => string[]} */ projects) {
  const socket = io({ transports: ['websocket', 'polling'] });
  let wasConnected = false;
  setConnection('connecting');
  socket.on('connect', async () => {
    const names = projects();
    const acks = await Promise.all(
      names.map((p) => socket.emitWithAck('watch', { project: p }).catch(() => null)),
    );
    liveErrors = acks.flatMap((a, i) =>
      a && !a.error
        ? []
        : [
            `project ${names[i]}: ${a?.error?.code === 403 ? 'not allowed' : (a?.error?.message ?? 'no answer')}`,
          ],
    );
    showNotice();
    setConnection('live');
    // Fill what was missed while the connection was down.
    if (wasConnected) void loadHistory(store.newest ? String(store.newest - 1000) : '10m-ago');
    wasConnected = true;
  });
  socket.on('points', (/** @type {unknown} */ points) => {
    if (!Array.isArray(points)) return;
    for (const p of points) add(p.metric, p.tags ?? {}, p.ts, p.value);
    render();
  });
  socket.on('disconnect', (/** @type {string} */ reason) => {
    setConnection('reconnecting');
    if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 1000);
  });
  socket.on('connect_error', () => setConnection('reconnecting'));
}

$('apps-view').hidden = level !== 'apps';
$('app-view').hidden = level !== 'app';
$('container-view').hidden = level !== 'container';
renderCrumbs();
void loadSession();

if (level === 'apps') {
  // The projects to watch are those the lookup finds, so it goes first.
  lookupApps()
    .catch((/** @type {Error} */ e) => {
      loadErrors = [e.message];
      showNotice();
    })
    .then(() => {
      connect(() => [...projectsSeen].sort());
      render();
      return loadHistory('10m-ago');
    });
} else {
  // Watch first and load history meanwhile: live points that arrive during the load are kept.
  connect(() => [/** @type {string} */ (project)]);
  render();
  void loadHistory('10m-ago');
}
setInterval(render, 1000);
