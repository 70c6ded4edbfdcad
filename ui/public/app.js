/**
 * The Overview page: this hub host's CPU, memory and network over the last 10 minutes. History
 * comes once from `/api/query`; after that the server pushes points over socket.io.
 */
import { createLineChart } from './lib/chart.js';
import { ago, bytesParts, format, percentParts, rateParts } from './lib/format.js';
import { connectLive } from './lib/live.js';
import { createSeriesStore } from './lib/series-store.js';
import { loadSession } from './lib/session.js';
import { fetchHistory } from './lib/tsdb.js';

const WINDOW_MS = 10 * 60_000;
const HOST_METRICS = ['host.cpu.usage', 'host.mem.used', 'host.net.rx_bytes'];

/** @type {import('./lib/tsdb.js').SeriesQuery[]} */
const QUERIES = [
  { metric: 'host.cpu.usage', aggregator: 'avg', tags: { host: '*' } },
  { metric: 'host.cpu.cores', aggregator: 'max', tags: { host: '*' } },
  { metric: 'host.load.1m', aggregator: 'avg', tags: { host: '*' } },
  { metric: 'host.mem.used', aggregator: 'avg', tags: { host: '*' } },
  { metric: 'host.mem.total', aggregator: 'avg', tags: { host: '*' } },
  { metric: 'host.net.rx_bytes', aggregator: 'sum', tags: { host: '*', iface: '*' } },
  { metric: 'host.net.tx_bytes', aggregator: 'sum', tags: { host: '*', iface: '*' } },
];
const WANTED = new Set(QUERIES.map((q) => q.metric));

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const cssVar = (/** @type {string} */ name) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim();

const store = createSeriesStore(WINDOW_MS + 60_000);
const pinnedHost = new URLSearchParams(location.search).get('host');
/** @type {string | null} */
let host = pinnedHost;

const fmtPercent = (/** @type {number} */ v) => format(percentParts(v));
const fmtBytes = (/** @type {number} */ v) => format(bytesParts(v));
const fmtRate = (/** @type {number} */ v) => format(rateParts(v));
/** The power of `base` just under `v`: the unit its axis ticks are round in. */
const unitOf = (/** @type {number} */ base) => (/** @type {number} */ v) =>
  base ** Math.max(0, Math.floor(Math.log(v) / Math.log(base)));

const charts = {
  cpu: createLineChart($('cpu-chart'), {
    label: 'CPU usage over the last 10 minutes',
    series: [{ id: 'cpu', label: 'usage', color: cssVar('--cpu'), area: true }],
    yMax: 100,
    format: fmtPercent,
  }),
  mem: createLineChart($('mem-chart'), {
    label: 'Memory used and total over the last 10 minutes',
    series: [
      { id: 'used', label: 'used', color: cssVar('--mem'), area: true },
      { id: 'total', label: 'total', color: cssVar('--total'), dashed: true },
    ],
    format: fmtBytes,
    unit: unitOf(1024),
    minTop: 1024 ** 3,
  }),
  net: createLineChart($('net-chart'), {
    label: 'Network bytes received and sent per second over the last 10 minutes',
    series: [
      { id: 'rx', label: 'received', color: cssVar('--rx'), area: true },
      { id: 'tx', label: 'sent', color: cssVar('--tx') },
    ],
    format: fmtRate,
    unit: unitOf(1000),
    minTop: 10_000,
  }),
};

/** Keeps the tags the page groups by, so history (aggregated) and live points land in one series. */
function add(
  /** @type {string} */ metric,
  /** @type {Record<string, string>} */ tags,
  /** @type {number} */ ts,
  /** @type {number} */ value,
) {
  if (!WANTED.has(metric) || !tags.host) return;
  store.add(metric, tags.iface ? { host: tags.host, iface: tags.iface } : { host: tags.host }, ts, value);
}

function chooseHost() {
  /** @type {Map<string, number>} */
  const hosts = new Map();
  for (const m of HOST_METRICS)
    for (const [h, ts] of store.tagValues(m, 'host')) hosts.set(h, Math.max(hosts.get(h) ?? 0, ts));
  if (!pinnedHost && (host === null || !hosts.has(host)))
    host = [...hosts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;

  const select = /** @type {HTMLSelectElement} */ ($('host-select'));
  const names = [...new Set([...hosts.keys(), ...(host ? [host] : [])])].sort();
  const many = names.length > 1;
  select.hidden = !many;
  $('host-name').hidden = many;
  $('host-name').textContent = host ?? '…';
  if (many && [...select.options].map((o) => o.value).join('\n') !== names.join('\n')) {
    select.replaceChildren(...names.map((n) => new Option(n, n)));
  }
  if (many && host) select.value = host;
}

/** @param {[number, number][]} pts */
const lastValue = (pts) => pts[pts.length - 1]?.[1];

function setBig(
  /** @type {string} */ valueId,
  /** @type {string | null} */ unitId,
  /** @type {[string, string]} */ parts,
) {
  $(valueId).textContent = parts[0];
  if (unitId) $(unitId).textContent = parts[1];
}

function render() {
  chooseHost();
  const end = Math.max(Date.now(), store.newest);
  store.prune(end);
  const domain = /** @type {[number, number]} */ ([end - WINDOW_MS, end]);
  const inWindow = (/** @type {[number, number][]} */ pts) => pts.filter((p) => p[0] >= domain[0]);
  const series = (/** @type {string} */ metric) => (host ? inWindow(store.sum(metric, { host })) : []);

  const cpu = series('host.cpu.usage');
  const cores = lastValue(series('host.cpu.cores'));
  const load = lastValue(series('host.load.1m'));
  charts.cpu.draw(new Map([['cpu', cpu]]), domain);
  setBig('cpu-value', null, percentParts(lastValue(cpu)));
  $('cpu-caption').textContent = [
    'busy',
    cores !== undefined ? `${cores} ${cores === 1 ? 'core' : 'cores'}` : null,
    load !== undefined ? `load ${load.toFixed(2)}` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  $('cpu-card').dataset.empty = String(cpu.length === 0);

  const used = series('host.mem.used');
  const total = series('host.mem.total');
  charts.mem.draw(
    new Map([
      ['used', used],
      ['total', total],
    ]),
    domain,
  );
  const usedNow = lastValue(used);
  const totalNow = lastValue(total);
  setBig('mem-value', 'mem-unit', bytesParts(usedNow));
  $('mem-caption').textContent =
    totalNow && usedNow !== undefined
      ? `used of ${fmtBytes(totalNow)} · ${fmtPercent((100 * usedNow) / totalNow)}`
      : 'used';
  $('mem-card').dataset.empty = String(used.length === 0 && total.length === 0);

  const rx = series('host.net.rx_bytes');
  const tx = series('host.net.tx_bytes');
  charts.net.draw(
    new Map([
      ['rx', rx],
      ['tx', tx],
    ]),
    domain,
  );
  setBig('rx-value', 'rx-unit', rateParts(lastValue(rx)));
  setBig('tx-value', 'tx-unit', rateParts(lastValue(tx)));
  const ifaces = host ? store.tagValuesWhere('host.net.rx_bytes', 'iface', { host }) : [];
  $('net-caption').textContent =
    ifaces.length === 0
      ? 'all interfaces'
      : ifaces.length <= 3
        ? ifaces.join(' + ')
        : `${ifaces.length} interfaces`;
  $('net-card').dataset.empty = String(rx.length === 0 && tx.length === 0);

  const newest = Math.max(0, ...[cpu, used, rx].map((p) => p[p.length - 1]?.[0] ?? 0));
  $('updated').textContent = newest ? `updated ${ago(Math.max(0, Date.now() - newest))}` : 'no data yet';
  document.title = host ? `${host} · Overview · obs` : 'Overview · obs';
}

const LABELS = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…' };
function setConnection(/** @type {'connecting' | 'live' | 'reconnecting'} */ state) {
  const el = $('connection');
  el.dataset.state = state;
  /** @type {HTMLElement} */ (el.querySelector('.connection-label')).textContent = LABELS[state];
}

function showErrors(/** @type {string[]} */ errors) {
  const notice = $('notice');
  notice.hidden = errors.length === 0;
  notice.textContent = errors.length
    ? `Could not load the history (${errors.join('; ')}). Live points still appear as they arrive.`
    : '';
}

async function loadHistory(/** @type {string} */ start) {
  const { series, errors } = await fetchHistory(QUERIES, start);
  for (const s of series) for (const [ts, v] of s.points) add(s.metric, s.tags, ts, v);
  showErrors(errors);
  render();
}

$('host-select').addEventListener('change', (e) => {
  host = /** @type {HTMLSelectElement} */ (e.target).value;
  const url = new URL(location.href);
  url.searchParams.set('host', host);
  history.replaceState(null, '', url);
  render();
});

void loadSession();

// Subscribe first and load history meanwhile: live points that arrive during the load are kept,
// and a point present in both simply replaces itself.
connectLive({
  onPoints(points) {
    for (const p of points) add(p.metric, p.tags ?? {}, p.ts, p.value);
    render();
  },
  onState: setConnection,
  // Fill what was missed while the connection was down.
  onReconnect: () => void loadHistory(store.newest ? String(store.newest - 1000) : '10m-ago'),
});
render();
void loadHistory('10m-ago');
setInterval(render, 1000);
