/**
 * The Alerts page: the rule engine's active alerts (firing, pending, no data) from GET /api/alerts,
 * with who acknowledged them (from the notification pipeline's groups), links to silence them,
 * and the history of one rule or app from GET /api/alerts/history. Polls every 10 s.
 */
import { ago } from './lib/format.js';
import { csrfHeaders, loadSession, toLogin } from './lib/session.js';

const REFRESH_MS = 10_000;
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const body = /** @type {HTMLElement} */ (document.querySelector('#alerts tbody'));
const stateFilter = /** @type {HTMLSelectElement} */ ($('state-filter'));
const textFilter = /** @type {HTMLInputElement} */ ($('text-filter'));

/** @type {any[]} */
let alerts = [];
/** @type {Map<string, { by: string, at: number }>} */
let acks = new Map();
let updatedAt = 0;
let loaded = false;

const params = new URLSearchParams(location.search);
if (params.get('state')) stateFilter.value = params.get('state') ?? '';
if (params.get('q')) textFilter.value = params.get('q') ?? '';

/** Fetches JSON; a 401 goes to the login page, other failures throw with the hub's message. */
async function getJson(/** @type {string} */ url, /** @type {RequestInit} */ init = {}) {
  const res = await fetch(url, { ...init, headers: { accept: 'application/json', ...(init.headers ?? {}) } });
  if (res.status === 401) {
    toLogin();
    throw new Error('Not logged in');
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new Error(data?.error?.message ?? `HTTP ${res.status}`);
  return data;
}

function showError(/** @type {string | null} */ message) {
  const notice = $('alerts-error');
  notice.textContent = message ?? '';
  notice.hidden = !message;
}

/** `{room="a",severity="page"}` lines for the silence form. */
function matcherLines(/** @type {Record<string, string>} */ labels) {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n');
}

function chips(/** @type {Record<string, string>} */ labels, skip = 'alertname') {
  const box = document.createElement('div');
  box.className = 'chips';
  for (const [k, v] of Object.entries(labels)) {
    if (k === skip) continue;
    const chip = document.createElement('span');
    chip.className = 'chip';
    const key = document.createElement('b');
    key.textContent = `${k}=`;
    chip.append(key, v);
    box.append(chip);
  }
  return box;
}

function badge(/** @type {string} */ state) {
  const b = document.createElement('span');
  b.className = 'badge';
  b.dataset.state = state;
  b.textContent = state === 'nodata' ? 'no data' : state;
  return b;
}

function formatValue(/** @type {number | null} */ v) {
  if (v === null || v === undefined) return '–';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : String(Number(v.toPrecision(4)));
}

function timeCell(/** @type {number} */ ts) {
  const td = document.createElement('td');
  const t = document.createElement('time');
  t.dateTime = new Date(ts).toISOString();
  t.title = new Date(ts).toLocaleString();
  t.dataset.ts = String(ts);
  t.textContent = ago(Date.now() - ts);
  td.append(t);
  return td;
}

function matchesText(/** @type {any} */ a, /** @type {string} */ text) {
  if (!text) return true;
  const hay = [a.rule, a.state, ...Object.entries(a.labels).map(([k, v]) => `${k}=${v}`)]
    .join(' ')
    .toLowerCase();
  return text
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => hay.includes(word.replace(/"/g, '')));
}

async function acknowledge(/** @type {any} */ alert, /** @type {HTMLButtonElement} */ button) {
  button.disabled = true;
  try {
    const ack = await getJson(`/api/alerts/${encodeURIComponent(alert.fingerprint)}/ack`, {
      method: 'POST',
      headers: csrfHeaders(),
    });
    acks.set(alert.fingerprint, { by: ack.by, at: ack.at });
    showError(null);
    render();
  } catch (e) {
    showError(`Could not acknowledge ${alert.rule}: ${/** @type {Error} */ (e).message}`);
    button.disabled = false;
  }
}

function render() {
  const state = stateFilter.value;
  const text = textFilter.value.trim();
  const shown = alerts.filter((a) => (!state || a.state === state) && matchesText(a, text));
  body.textContent = '';
  for (const a of shown) {
    const row = document.createElement('tr');
    row.dataset.fingerprint = a.fingerprint;
    row.dataset.state = a.state;
    const stateTd = document.createElement('td');
    stateTd.append(badge(a.state));
    const ruleTd = document.createElement('td');
    const ruleLink = document.createElement('a');
    ruleLink.href = '#history';
    ruleLink.className = 'rule-link';
    ruleLink.textContent = a.rule;
    ruleLink.title = 'Show the history of this rule';
    ruleLink.addEventListener('click', (ev) => {
      ev.preventDefault();
      showHistory('rule', a.rule);
    });
    ruleTd.append(ruleLink);
    if (a.annotations?.summary) {
      const summary = document.createElement('div');
      summary.className = 'muted';
      summary.textContent = a.annotations.summary;
      ruleTd.append(summary);
    }
    const labelsTd = document.createElement('td');
    labelsTd.append(chips(a.labels));
    const valueTd = document.createElement('td');
    valueTd.className = 'num';
    valueTd.textContent = a.nodata ? 'no data' : formatValue(a.value);
    const actions = document.createElement('td');
    const box = document.createElement('div');
    box.className = 'actions';
    const silence = document.createElement('a');
    silence.className = 'btn';
    silence.textContent = 'Silence…';
    silence.href = `/silences.html?${new URLSearchParams({ matchers: matcherLines(a.labels), comment: `${a.rule}: ` })}`;
    box.append(silence);
    const ack = acks.get(a.fingerprint);
    if (ack) {
      const who = document.createElement('span');
      who.className = 'acked';
      who.textContent = `✓ acknowledged by ${ack.by}`;
      who.title = new Date(ack.at).toLocaleString();
      box.append(who);
    } else if (a.state === 'firing' || a.state === 'nodata') {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn';
      button.textContent = 'Acknowledge';
      button.addEventListener('click', () => acknowledge(a, button));
      box.append(button);
    }
    actions.append(box);
    row.append(stateTd, ruleTd, labelsTd, valueTd, timeCell(a.startsAt ?? a.since), actions);
    body.append(row);
  }
  const empty = $('alerts-empty');
  empty.hidden = !loaded || shown.length > 0;
  empty.textContent =
    alerts.length === 0 ? 'Nothing is firing, pending or without data.' : 'No alert matches the filters.';
  const count = (/** @type {string} */ s) => alerts.filter((a) => a.state === s).length;
  $('counts').textContent =
    `${count('firing')} firing · ${count('pending')} pending · ${count('nodata')} no data`;
}

function tick() {
  if (updatedAt) $('updated').textContent = `updated ${ago(Date.now() - updatedAt)}`;
  for (const t of document.querySelectorAll('time[data-ts]')) {
    const el = /** @type {HTMLElement} */ (t);
    if (el.closest('#alerts')) el.textContent = ago(Date.now() - Number(el.dataset.ts));
  }
}

async function refresh() {
  try {
    const [active, groups] = await Promise.all([
      getJson('/api/alerts'),
      getJson('/api/alert-groups').catch(() => []),
    ]);
    alerts = active.sort(
      (/** @type {any} */ a, /** @type {any} */ b) =>
        ['firing', 'nodata', 'pending'].indexOf(a.state) - ['firing', 'nodata', 'pending'].indexOf(b.state) ||
        b.since - a.since,
    );
    const next = new Map();
    for (const g of groups)
      for (const a of g.alerts) if (a.acknowledged) next.set(a.fingerprint, a.acknowledged);
    // Keeps an ack just made until the pipeline reports it.
    for (const [fp, ack] of acks)
      if (!next.has(fp) && alerts.some((a) => a.fingerprint === fp)) next.set(fp, ack);
    acks = next;
    updatedAt = Date.now();
    loaded = true;
    showError(null);
    render();
    fillKeys();
  } catch (e) {
    showError(`Could not load alerts: ${/** @type {Error} */ (e).message}`);
  }
  tick();
}

// ------------------------------------------------------------ history

const historyKind = /** @type {HTMLSelectElement} */ ($('history-kind'));
const historyKey = /** @type {HTMLInputElement} */ ($('history-key'));
const historySince = /** @type {HTMLSelectElement} */ ($('history-since'));
/** @type {string[]} */
let ruleNames = [];

function fillKeys() {
  const list = $('history-keys');
  const names =
    historyKind.value === 'rule'
      ? [...new Set([...ruleNames, ...alerts.map((a) => a.rule)])]
      : [...new Set(alerts.map((a) => a.labels.app).filter(Boolean))];
  list.textContent = '';
  for (const n of names.sort()) {
    const o = document.createElement('option');
    o.value = n;
    list.append(o);
  }
}

async function showHistory(/** @type {string} */ kind, /** @type {string} */ key) {
  historyKind.value = kind;
  historyKey.value = key;
  const table = $('history');
  const empty = $('history-empty');
  if (!key) {
    table.hidden = true;
    empty.hidden = false;
    empty.textContent = 'Pick a rule (or click one above) or an app to see its transitions.';
    return;
  }
  const q = new URLSearchParams({ [kind]: key, since: historySince.value, limit: '200' });
  try {
    const entries = await getJson(`/api/alerts/history?${q}`);
    const tbody = /** @type {HTMLElement} */ (table.querySelector('tbody'));
    tbody.textContent = '';
    for (const e of entries.sort((/** @type {any} */ a, /** @type {any} */ b) => b.ts - a.ts)) {
      const row = document.createElement('tr');
      const when = document.createElement('td');
      when.textContent = new Date(e.ts).toLocaleString();
      const rule = document.createElement('td');
      rule.textContent = e.rule;
      const labels = document.createElement('td');
      labels.append(chips(e.labels));
      const change = document.createElement('td');
      change.append(badge(e.from), ' → ', badge(e.to));
      const value = document.createElement('td');
      value.textContent = e.nodata ? 'no data' : formatValue(e.value);
      row.append(when, rule, labels, change, value);
      tbody.append(row);
    }
    table.hidden = entries.length === 0;
    empty.hidden = entries.length > 0;
    empty.textContent = `No transitions of ${kind} "${key}" in the last ${historySince.selectedOptions[0]?.textContent}.`;
    table.scrollIntoView?.({ block: 'nearest' });
  } catch (e) {
    showError(`Could not load the history: ${/** @type {Error} */ (e).message}`);
  }
}

$('history-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  showHistory(historyKind.value, historyKey.value.trim());
});
historyKind.addEventListener('change', fillKeys);
stateFilter.addEventListener('change', render);
textFilter.addEventListener('input', render);

async function start() {
  const session = await loadSession();
  if (session.authRequired && !session.principal) return;
  getJson('/api/rules')
    .then((r) => {
      ruleNames = r.rules.map((/** @type {any} */ x) => x.name);
      fillKeys();
    })
    .catch(() => {});
  await refresh();
  setInterval(refresh, REFRESH_MS);
  setInterval(tick, 1000);
  const rule = params.get('rule');
  const app = params.get('app');
  if (rule) showHistory('rule', rule);
  else if (app) showHistory('app', app);
}

start();
