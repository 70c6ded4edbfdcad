/**
 * The Containers page's chart cards and number formats: a titled d3 line chart with its legend
 * and current value, CPU and memory against their limits, and the three nginx charts of a
 * vhost → upstream pair.
 */
import { createLineChart } from './lib/chart.js';
import { bytesParts, format, rateParts } from './lib/format.js';

export const cssVar = (/** @type {string} */ name) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim();
/** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} children */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export const fmtBytes = (/** @type {number} */ v) => format(bytesParts(v));
export const fmtRate = (/** @type {number} */ v) => format(rateParts(v));
export const fmtCores = (/** @type {number} */ v) =>
  Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 1)} cores` : '–';
export const fmtPercent = (/** @type {number} */ v) =>
  Number.isFinite(v) ? `${v.toFixed(v < 10 ? 1 : 0)} %` : '–';
export const fmtReqs = (/** @type {number} */ v) =>
  Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 0)} req/s` : '–';
export const fmtCount = (/** @type {number} */ v) => (Number.isFinite(v) ? `${Math.round(v)} resp` : '–');
export const fmtSeconds = (/** @type {number} */ v) =>
  !Number.isFinite(v) ? '–' : v < 1 ? `${(v * 1000).toFixed(v < 0.01 ? 1 : 0)} ms` : `${v.toFixed(2)} s`;
export const unitOf = (/** @type {number} */ base) => (/** @type {number} */ v) =>
  base ** Math.max(0, Math.floor(Math.log(v) / Math.log(base)));

/**
 * A titled chart card, created once and redrawn on each render.
 * @param {HTMLElement} parent
 * @param {{ title: string, series: { id: string, label: string, color: string, dashed?: boolean, area?: boolean }[], format: (v: number) => string, yMax?: number, minTop?: number, unit?: (v: number) => number, height?: number, small?: boolean }} o
 */
export function chartCard(parent, o) {
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

export const colors = {
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

export const cpuChart = (/** @type {HTMLElement} */ parent, small = false) =>
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
export const memChart = (/** @type {HTMLElement} */ parent, small = false) =>
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

/** `used / limit` as text: "0.42 cores of 1.00", "312 MiB of 512 MiB · 61 %". */
export function ofLimit(
  /** @type {number | undefined} */ used,
  /** @type {number | undefined} */ limit,
  /** @type {(v: number) => string} */ f,
) {
  if (used === undefined) return '–';
  if (!limit) return f(used);
  return `${f(used)} of ${f(limit)} · ${fmtPercent((100 * used) / limit)}`;
}

/** The Requests, Latency and 5xx charts of one vhost → upstream pair. */
export function nginxCharts(/** @type {HTMLElement} */ parent) {
  return {
    req: chartCard(parent, {
      title: 'Requests',
      small: true,
      series: [{ id: 'req', label: 'requests', color: colors.req, area: true }],
      format: fmtReqs,
      minTop: 1,
    }),
    lat: chartCard(parent, {
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
    err: chartCard(parent, {
      title: '5xx',
      small: true,
      series: [{ id: 'err', label: '5xx responses', color: colors.err, area: true }],
      format: fmtCount,
      minTop: 1,
    }),
  };
}

/** The four charts of one container: CPU and memory against their limits, network, throttling. */
export function containerChartsIn(/** @type {HTMLElement} */ parent) {
  return {
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
}
