/**
 * The Capacity page: per app, today's setting against the advisor's recommendation (with its
 * confidence bounds), the waste or shortfall per day, and the usage distributions behind the
 * advice drawn with d3, from GET /api/platform/advice and /api/platform/apps. Polls every 5 s;
 * `?app=/project/app` shows one app.
 */
import { $, el, getJson, num, poll } from './apps-common.js';

const d3 = /** @type {any} */ (globalThis).d3;
const only = new URLSearchParams(location.search).get('app');
const W = 420;
const H = 150;
const M = { top: 10, right: 12, bottom: 30, left: 40 };

/**
 * A histogram of the evidence on a log axis: bars for the usage shares, a dashed line at today's
 * setting, the advice as a green line over its confidence band.
 */
function distChart(
  /** @type {string} */ label,
  /** @type {{ le: number, weight: number }[]} */ buckets,
  /** @type {{ current: number, advice: number, low: number, high: number, unit: string }} */ m,
) {
  const box = el('figure', `dist-chart ${m.unit === 'MiB' ? 'mem' : 'cpu'}`);
  box.append(el('figcaption', 'muted', label));
  const data = buckets.filter((b) => b.weight > 0 && b.le > 0);
  // The axis spans what was used, today's setting and the advice; wide early bounds are clipped
  // (the figures beside the chart give them in full).
  const values = [...data.map((b) => b.le), ...data.map((b) => b.le / 1.05), m.current, m.advice].filter(
    (v) => v > 0,
  );
  if (values.length === 0) return box;
  const lo = Math.min(...values) / 1.6;
  const hi = Math.max(...values) * 1.6;
  const x = d3
    .scaleLog()
    .domain([lo, hi])
    .range([M.left, W - M.right])
    .clamp(true);
  const y = d3
    .scaleLinear()
    .domain([0, Math.max(0.01, d3.max(data, (/** @type {any} */ b) => b.weight) ?? 0)])
    .nice()
    .range([H - M.bottom, M.top]);
  const svg = d3
    .select(box)
    .append('svg')
    .attr('viewBox', `0 0 ${W} ${H}`)
    .attr('role', 'img')
    .attr('aria-label', `${label}: advice ${num(m.advice)} ${m.unit}, today ${num(m.current)} ${m.unit}`);
  svg
    .append('rect')
    .attr('class', 'band')
    .attr('x', x(Math.max(lo, m.low)))
    .attr('width', Math.max(1, x(Math.min(hi, m.high)) - x(Math.max(lo, m.low))))
    .attr('y', M.top)
    .attr('height', H - M.bottom - M.top);
  svg
    .append('g')
    .selectAll('rect')
    .data(data)
    .join('rect')
    .attr('class', 'bar')
    .attr('x', (/** @type {any} */ b) => x(b.le / 1.05))
    .attr('width', (/** @type {any} */ b) => Math.max(4, x(b.le) - x(b.le / 1.05)))
    .attr('y', (/** @type {any} */ b) => y(b.weight))
    .attr('height', (/** @type {any} */ b) => y(0) - y(b.weight))
    .append('title')
    .text((/** @type {any} */ b) => `≤ ${num(b.le)} ${m.unit}: ${num(b.weight * 100)} % of samples`);
  /** A vertical line with its label on its own row, on the side with room. */
  const mark = (
    /** @type {number} */ v,
    /** @type {string} */ cls,
    /** @type {string} */ text,
    /** @type {number} */ row,
  ) => {
    if (!(v > 0)) return;
    const at = x(v);
    svg
      .append('line')
      .attr('class', cls)
      .attr('x1', at)
      .attr('x2', at)
      .attr('y1', M.top)
      .attr('y2', H - M.bottom);
    const right = at + 80 < W - M.right;
    svg
      .append('text')
      .attr('x', right ? at + 4 : at - 4)
      .attr('y', M.top + 10 + row * 13)
      .attr('text-anchor', right ? 'start' : 'end')
      .text(text);
  };
  mark(m.current, 'mark-current', `today ${num(m.current)}`, 0);
  mark(m.advice, 'mark-advice', `advice ${num(m.advice)}`, 1);
  svg
    .append('g')
    .attr('transform', `translate(0,${H - M.bottom})`)
    .call(d3.axisBottom(x).ticks(5, '~g'))
    .append('text')
    .attr('x', W - M.right)
    .attr('y', 26)
    .attr('text-anchor', 'end')
    .text(m.unit);
  svg.append('g').attr('transform', `translate(${M.left},0)`).call(d3.axisLeft(y).ticks(3, '.0%'));
  return box;
}

function wasteText(/** @type {number} */ v, /** @type {string} */ unit) {
  const span = el('span', 'waste', v >= 0 ? `${num(v)} ${unit}/day wasted` : `${num(-v)} ${unit}/day short`);
  span.dataset.sign = v >= 0 ? 'waste' : 'shortfall';
  return span;
}

function figures(/** @type {any} */ a) {
  const grid = el('div', 'cap-figures');
  grid.append(
    el('span', 'head', ''),
    el('span', 'head', 'today'),
    el('span', 'head', 'advice'),
    el('span', 'head', 'bounds'),
  );
  const b = a.bounds;
  grid.append(
    el('span', '', 'CPU per instance'),
    el('span', '', num(a.current.cpus)),
    el('b', '', num(a.recommended.cpus)),
  );
  grid.append(el('span', 'muted', `${num(b.cpus.low)} – ${num(b.cpus.high)}`));
  grid.append(
    el('span', '', 'memory (MiB)'),
    el('span', '', num(a.current.mem)),
    el('b', '', num(a.recommended.mem)),
  );
  grid.append(el('span', 'muted', `${num(b.mem.low)} – ${num(b.mem.high)}`));
  grid.append(
    el('span', '', 'instances'),
    el('span', '', String(a.current.instances)),
    el('b', '', String(a.recommended.instances)),
    el('span', ''),
  );
  const box = el('div');
  box.append(grid);
  const w = el('p');
  w.append(wasteText(a.waste.coreHoursPerDay, 'core-h'), ' · ', wasteText(a.waste.gibHoursPerDay, 'GiB-h'));
  box.append(w);
  const hours = a.historyMs / 3_600_000;
  box.append(
    el(
      'p',
      'muted',
      `${a.samples} samples over ${hours >= 1 ? `${num(hours)} h` : `${Math.round(a.historyMs / 60_000)} min`}; the bounds narrow as history grows.`,
    ),
  );
  return box;
}

function card(/** @type {any} */ a) {
  const panel = el('article', 'p-panel cap-card');
  panel.dataset.app = a.appId;
  const h = el('h2');
  const link = /** @type {HTMLAnchorElement} */ (el('a', '', a.appId));
  link.href = `/apps.html?app=${encodeURIComponent(a.appId)}`;
  h.append(link);
  const grid = el('div', 'cap-grid');
  const charts = el('div');
  charts.append(
    distChart('CPU per instance (cores): share of samples', a.evidence.cpu, {
      current: a.current.cpus,
      advice: a.recommended.cpus,
      low: a.bounds.cpus.low,
      high: a.bounds.cpus.high,
      unit: 'cores',
    }),
    distChart('Memory per instance (working set, MiB): share of samples', a.evidence.mem, {
      current: a.current.mem,
      advice: a.recommended.mem,
      low: a.bounds.mem.low,
      high: a.bounds.mem.high,
      unit: 'MiB',
    }),
  );
  grid.append(figures(a), charts);
  panel.append(h, grid);
  return panel;
}

async function load() {
  const advice = /** @type {any[]} */ (await getJson('/api/platform/advice')).filter(
    (a) => !only || a.appId === only,
  );
  advice.sort((a, b) => a.appId.localeCompare(b.appId));
  $('capacity').replaceChildren(...advice.map(card));
  $('capacity-empty').hidden = advice.length > 0;
}

poll(load);
