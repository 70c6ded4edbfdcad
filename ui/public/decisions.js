/**
 * The Decisions page: what the autoscaler decided for each app, with what it measured against
 * which target, the instance counts and why, from GET /api/platform/decisions. Polls every 5 s;
 * `?app=/project/app` shows one app.
 */
import { $, badge, el, getJson, num, poll, timeCell } from './apps-common.js';

const body = /** @type {HTMLElement} */ (document.querySelector('#decisions tbody'));
const appInput = /** @type {HTMLInputElement} */ ($('decision-app'));
appInput.value = new URLSearchParams(location.search).get('app') ?? '';

/** "cpu 0.93 vs 0.6": what was measured against its target, in the metric's unit. */
function measured(/** @type {any} */ r) {
  const td = el('td');
  if (r.observed === null || r.observed === undefined) {
    td.append(el('span', 'muted', `${r.metric}: no data`));
    return td;
  }
  const pct = (/** @type {number} */ v) => `${Math.round(v * 100)} %`;
  const unit =
    r.metric === 'cpu'
      ? `CPU ${pct(r.observed)} vs target ${pct(r.target)}`
      : r.metric === 'latency'
        ? `p99 ${num(r.observed)} s vs ${num(r.target)} s`
        : `${num(r.observed)} req/s per instance vs ${num(r.target)}`;
  td.textContent = unit;
  return td;
}

function row(/** @type {any} */ r) {
  const tr = el('tr');
  tr.dataset.app = r.appId;
  tr.dataset.action = r.action;
  const app = el('td');
  const link = /** @type {HTMLAnchorElement} */ (el('a', '', r.appId));
  link.href = `/apps.html?app=${encodeURIComponent(r.appId)}`;
  app.append(link);
  const action = el('td');
  action.append(badge(r.error ? 'error' : r.action, r.error ? 'state' : 'action'));
  const why = el('td', 'reason', r.reason);
  if (r.error) why.append(el('div', 'error-text', r.error));
  tr.append(
    timeCell(r.ts),
    app,
    el('td', 'mode', r.mode),
    measured(r),
    el('td', 'num', r.current === r.desired ? String(r.current) : `${r.current} → ${r.desired}`),
    action,
    why,
  );
  return tr;
}

async function load() {
  const app = appInput.value.trim();
  const q = new URLSearchParams({ limit: '300', ...(app ? { app } : {}) });
  const list = await getJson(`/api/platform/decisions?${q}`);
  body.replaceChildren(...list.map(row));
  $('decisions-empty').hidden = list.length > 0;
}

$('decision-filter').addEventListener('submit', (e) => {
  e.preventDefault();
  const app = appInput.value.trim();
  history.replaceState(null, '', app ? `?app=${encodeURIComponent(app)}` : location.pathname);
  load().catch(() => undefined);
});

poll(load);
