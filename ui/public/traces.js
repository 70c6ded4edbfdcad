// The traces page: search (GET /api/traces/search, services from GET /api/v2/services), then one
// trace (GET /api/traces/:id, rows in tree order with skew-corrected starts) as a virtualised
// waterfall with a span detail panel. URL state: ?trace=ID.

import { loadSession, toLogin } from './lib/session.js';
import { createWaterfall, fmtDuration } from './lib/waterfall.js';

const $ = (id) => document.getElementById(id);
const form = $('search');
const resultsBody = document.querySelector('#results tbody');

function showError(message) {
  const el = $('error');
  el.textContent = message ?? '';
  el.hidden = !message;
}

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (res.status === 401) {
    toLogin();
    throw new Error('Authentication required');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'data') Object.assign(e.dataset, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

const quote = (v) => (/^[^\s()"=!<>]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`);

// ------------------------------------------------------------------ search

async function loadServices() {
  const services = await getJson('/api/v2/services');
  const select = $('service');
  for (const s of services.sort()) select.append(el('option', { value: s, textContent: s }));
}

function buildQuery() {
  const parts = [];
  const q = $('q').value.trim();
  if (q) parts.push(`(${q})`);
  const service = $('service').value;
  if (service) parts.push(`service=${quote(service)}`);
  let min = $('min-duration').value.trim();
  if (min) {
    if (/^\d+(\.\d+)?$/.test(min)) min += 'ms';
    parts.push(`duration>=${min}`);
  }
  return parts.join(' AND ');
}

let searchSeq = 0;

async function search() {
  const seq = ++searchSeq;
  showError('');
  const end = Date.now();
  const params = new URLSearchParams({
    start: String(end - Number($('lookback').value)),
    end: String(end),
    limit: '50',
  });
  const q = buildQuery();
  if (q) params.set('q', q);
  let body;
  try {
    body = await getJson(`/api/traces/search?${params}`);
  } catch (e) {
    if (seq === searchSeq) showError(e.message);
    return;
  }
  // An older search that answers late must not overwrite a newer one.
  if (seq !== searchSeq) return;
  const traces = body.traces.sort((a, b) => b.start - a.start);
  resultsBody.replaceChildren(
    ...traces.map((t) => {
      const link = el('a', {
        href: `?trace=${t.traceId}`,
        textContent: t.traceId.slice(0, 16),
        title: t.traceId,
      });
      const tr = el(
        'tr',
        { class: t.errorCount > 0 ? 't-result error' : 't-result', data: { traceId: t.traceId } },
        el('td', { textContent: new Date(t.start / 1000).toLocaleString() }),
        el('td', {}, link),
        el('td', {}, el('strong', { textContent: t.rootService ?? '(unknown)' }), ` ${t.rootName ?? ''}`),
        el('td', { class: 'num', textContent: String(t.spanCount) }),
        el('td', { class: 'num', textContent: fmtDuration(t.duration) }),
        el('td', { class: 'num t-errors', textContent: t.errorCount > 0 ? String(t.errorCount) : '' }),
      );
      return tr;
    }),
  );
  $('results-empty').hidden = traces.length > 0;
  $('meta').textContent = `${traces.length} trace${traces.length === 1 ? '' : 's'}${q ? ` for ${q}` : ''}`;
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (new URLSearchParams(location.search).has('trace')) history.pushState(null, '', location.pathname);
  showResults();
  search();
});

resultsBody.addEventListener('click', (ev) => {
  const tr = ev.target.closest('tr[data-trace-id]');
  if (!tr) return;
  ev.preventDefault();
  history.pushState(null, '', `?trace=${tr.dataset.traceId}`);
  openTrace(tr.dataset.traceId);
});

// ------------------------------------------------------------------ one trace

const waterfall = createWaterfall({
  scroll: $('wf-scroll'),
  spacer: $('wf-spacer'),
  axis: $('axis'),
  minimap: $('minimap'),
  onSelect: showDetail,
});

function showResults() {
  $('results-panel').hidden = false;
  $('trace-view').hidden = true;
}

$('back').addEventListener('click', () => {
  history.pushState(null, '', location.pathname);
  showResults();
  if (resultsBody.children.length === 0) search();
});

async function openTrace(id) {
  showError('');
  let trace;
  try {
    trace = await getJson(`/api/traces/${encodeURIComponent(id)}`);
  } catch (e) {
    showError(`Trace ${id}: ${e.message}`);
    showResults();
    return;
  }
  $('results-panel').hidden = true;
  $('trace-view').hidden = false;
  $('trace-title').textContent = `${trace.rootService ?? '(unknown)'}: ${trace.rootName ?? ''}`;
  const meta = [
    `trace ${trace.traceId}`,
    new Date(trace.start / 1000).toLocaleString(),
    fmtDuration(trace.duration),
    `${trace.spanCount} spans`,
    `${trace.services.length} services`,
  ];
  if (trace.errorCount) meta.push(`${trace.errorCount} errors`);
  if (trace.skewedCount) meta.push(`${trace.skewedCount} skew-corrected`);
  if (trace.orphanCount) meta.push(`${trace.orphanCount} missing parents`);
  if (!trace.complete) meta.push('still receiving spans');
  $('trace-meta').replaceChildren(...meta.map((m) => el('span', { textContent: m })));
  $('trace-view').dataset.traceId = trace.traceId;
  $('detail').replaceChildren(el('p', { class: 'empty', textContent: 'Select a span to see its details.' }));
  document.title = `Trace ${trace.traceId.slice(0, 16)} · obs`;
  waterfall.show(trace);
}

function showDetail(r, i) {
  const d = $('detail');
  d.dataset.spanId = r.spanId;
  const dl = el('dl', { class: 't-kv' });
  const add = (k, v) => {
    if (v === undefined || v === null || v === '') return;
    dl.append(el('dt', { textContent: k }), el('dd', { textContent: String(v) }));
  };
  add('service', r.service);
  add('kind', r.kind);
  add('span id', r.spanId);
  add('parent id', r.parentId);
  add('duration', fmtDuration(r.duration));
  add(
    'start (adjusted)',
    `+${fmtDuration(waterfall.offset(r.adjustedStart))} · ${new Date(r.adjustedStart / 1000).toISOString()}`,
  );
  add('start (raw)', new Date(r.start / 1000).toISOString());
  add('local ip', r.localIp ? `${r.localIp}${r.localPort ? `:${r.localPort}` : ''}` : undefined);
  const peer = [r.peerIp, r.peerPort].filter((x) => x !== undefined).join(':');
  add('peer', [r.remoteService, peer].filter(Boolean).join(' @ ') || undefined);
  add('critical path', waterfall.isCritical(i) ? 'yes' : undefined);

  const head = el(
    'div',
    { class: 't-detail-head' },
    el('span', { class: 'wf-dot', style: `background:${waterfall.colourOf(r.service)}` }),
    el('h3', { textContent: r.name }),
  );
  const parts = [head];
  if (r.error) parts.push(el('p', { class: 't-badge error', textContent: 'error' }));
  if (r.skew)
    parts.push(
      el('p', {
        class: 't-badge skew',
        textContent: `⇆ clock skew: shifted by ${r.skew > 0 ? '+' : '−'}${fmtDuration(Math.abs(r.skew))} (raw → adjusted)`,
      }),
    );
  if (r.placeholder)
    parts.push(el('p', { class: 't-badge', textContent: 'placeholder: this span never arrived' }));
  parts.push(dl);

  const tags = Object.entries(r.tags ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  parts.push(el('h4', { textContent: `Tags (${tags.length})` }));
  if (tags.length > 0) {
    const table = el('table', { class: 't-tags' });
    for (const [k, v] of tags)
      table.append(el('tr', {}, el('th', { textContent: k }), el('td', { textContent: v })));
    parts.push(table);
  }
  const anns = r.annotations ?? [];
  parts.push(el('h4', { textContent: `Annotations (${anns.length})` }));
  if (anns.length > 0)
    parts.push(
      el(
        'ul',
        { class: 't-anns' },
        ...anns.map((a) =>
          el('li', {}, el('code', { textContent: `+${fmtDuration(a.ts - r.start)}` }), ` ${a.value}`),
        ),
      ),
    );
  d.replaceChildren(...parts);
}

// ------------------------------------------------------------------ start

function route() {
  const id = new URLSearchParams(location.search).get('trace');
  if (id) openTrace(id);
  else {
    showResults();
    search();
  }
}

window.addEventListener('popstate', route);

async function start() {
  await loadSession();
  try {
    await loadServices();
  } catch (e) {
    showError(e.message);
  }
  const service = new URLSearchParams(location.search).get('service');
  if (service) $('service').value = service;
  route();
}

start();
