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
import {
  chartCard,
  colors,
  containerChartsIn,
  cpuChart,
  el,
  fmtBytes,
  fmtCores,
  fmtCount,
  fmtPercent,
  fmtRate,
  fmtReqs,
  fmtSeconds,
  memChart,
  nginxCharts,
  ofLimit,
} from './containers-charts.js';
import { createPageData, fetchApps, lastValue, queriesFor } from './containers-data.js';
import { ago } from './lib/format.js';
import { loadSession } from './lib/session.js';
import { fetchHistory } from './lib/tsdb.js';

const WINDOW_MS = 10 * 60_000;
const params = new URLSearchParams(location.search);
const project = params.get('project');
const app = params.get('app');
const container = params.get('container');
/** @type {'apps' | 'app' | 'container'} */
const level = project && app ? (container ? 'container' : 'app') : 'apps';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const href = (/** @type {Record<string, string>} */ q) => `/containers.html?${new URLSearchParams(q)}`;

const QUERIES = queriesFor(level, project, app, container);
const data = createPageData(QUERIES, WINDOW_MS + 60_000);
const { store, add, maxOver, appNow } = data;
const nginxOfApp = () => data.nginxOfApp(/** @type {string} */ (project), /** @type {string} */ (app));

/** A window's domain and a filter of points to it. */
function windowNow() {
  const end = Math.max(Date.now(), store.newest);
  store.prune(end);
  const domain = /** @type {[number, number]} */ ([end - WINDOW_MS, end]);
  const inWindow = (/** @type {[number, number][]} */ pts) => pts.filter((p) => p[0] >= domain[0]);
  return { domain, inWindow };
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

/** @type {null | ReturnType<typeof containerChartsIn>} */
let containerCharts = null;

function renderContainer() {
  const { domain, inWindow } = windowNow();
  const parent = $('container-charts');
  containerCharts ??= containerChartsIn(parent);

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
    nginxGroups.set(key, nginxCharts(charts));
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
  lookedUpApps = await fetchApps();
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
