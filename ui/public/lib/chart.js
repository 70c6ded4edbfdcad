/**
 * A time-series line chart drawn with d3 (loaded as the `d3` global by the page). It draws what
 * it is given over a fixed time domain; the page owns the data and the sliding window.
 *
 * @typedef {{ id: string, label: string, color: string, dashed?: boolean, area?: boolean }} SeriesStyle
 * @typedef {[number, number]} Pt
 */
const d3 = /** @type {any} */ (globalThis).d3;

const MARGIN = { top: 10, right: 16, bottom: 24, left: 60 };
let nextId = 0;

/** Puts a `null` where samples are missing, so the line breaks instead of bridging the hole. */
export function withGaps(/** @type {Pt[]} */ points) {
  if (points.length < 3) return points;
  const deltas = [];
  for (let i = 1; i < points.length; i++) deltas.push(points[i][0] - points[i - 1][0]);
  deltas.sort((a, b) => a - b);
  const gap = Math.max(3 * deltas[deltas.length >> 1], 5_000);
  /** @type {(Pt | null)[]} */
  const out = [points[0]];
  for (let i = 1; i < points.length; i++) {
    if (points[i][0] - points[i - 1][0] > gap) out.push(null);
    out.push(points[i]);
  }
  return out;
}

/**
 * `yMax` fixes the top of the y axis (100 for percent); otherwise it follows the data, at least
 * `minTop`. `unit` gives the step the ticks are round multiples of (1 GiB rather than 10⁹ bytes).
 *
 * @param {HTMLElement} root an empty element; the chart fills its width
 * @param {{
 *   series: SeriesStyle[],
 *   format: (v: number) => string,
 *   yMax?: number,
 *   minTop?: number,
 *   unit?: (max: number) => number,
 *   height?: number,
 *   label: string,
 * }} options
 */
export function createLineChart(root, options) {
  const height = options.height ?? 190;
  const clipId = `chart-clip-${nextId++}`;
  const svg = d3.select(root).append('svg').attr('class', 'chart-svg').attr('role', 'img');
  svg.attr('aria-label', options.label);
  const clipRect = svg.append('defs').append('clipPath').attr('id', clipId).append('rect');
  const grid = svg.append('g').attr('class', 'grid');
  const xAxis = svg.append('g').attr('class', 'axis axis-x');
  const yAxis = svg.append('g').attr('class', 'axis axis-y');
  const plot = svg.append('g').attr('clip-path', `url(#${clipId})`);
  const layers = options.series.map((style) => ({
    style,
    area: style.area ? plot.append('path').attr('class', 'area').attr('fill', style.color) : null,
    line: plot
      .append('path')
      .attr('class', style.dashed ? 'line dashed' : 'line')
      .attr('stroke', style.color)
      .attr('data-series', style.id),
    head: plot.append('circle').attr('class', 'head').attr('r', 3).attr('fill', style.color),
    marker: svg.append('circle').attr('class', 'marker').attr('r', 3.5).attr('stroke', style.color),
  }));
  const rule = svg.append('line').attr('class', 'hover-rule');
  const overlay = svg.append('rect').attr('class', 'overlay');
  const tip = d3.select(root).append('div').attr('class', 'tooltip');
  hideHover();

  /** @type {{ data: Map<string, Pt[]>, domain: [number, number] } | null} */
  let current = null;
  /** @type {any} */
  let scales = null;
  /** @type {number | null} */
  let hoverTs = null;

  function render() {
    if (!current) return;
    const width = Math.max(root.clientWidth, 240);
    const bottom = height - MARGIN.bottom;
    const right = width - MARGIN.right;
    svg.attr('width', width).attr('height', height).attr('viewBox', `0 0 ${width} ${height}`);
    clipRect
      .attr('x', MARGIN.left)
      .attr('y', 0)
      .attr('width', right - MARGIN.left + 4)
      .attr('height', bottom + 1);

    const [t0, t1] = current.domain;
    const visible = new Map(
      [...current.data].map(([id, pts]) => [id, pts.filter((p) => p[0] >= t0 - 60_000 && p[0] <= t1)]),
    );
    let max = 0;
    for (const pts of visible.values()) for (const p of pts) if (p[1] > max) max = p[1];
    const x = d3.scaleTime().domain([t0, t1]).range([MARGIN.left, right]);
    const { top, ticks: yTicks } = yScale(max);
    const y = d3.scaleLinear().domain([0, top]).range([bottom, MARGIN.top]);
    scales = { x, y, visible };

    grid
      .selectAll('line')
      .data(yTicks)
      .join('line')
      .attr('x1', MARGIN.left)
      .attr('x2', right)
      .attr('y1', (/** @type {number} */ v) => Math.round(y(v)) + 0.5)
      .attr('y2', (/** @type {number} */ v) => Math.round(y(v)) + 0.5);
    xAxis.attr('transform', `translate(0,${bottom})`).call(
      d3
        .axisBottom(x)
        .ticks(width < 520 ? 4 : 8)
        .tickFormat(d3.timeFormat('%H:%M'))
        .tickSizeOuter(0),
    );
    yAxis
      .attr('transform', `translate(${MARGIN.left},0)`)
      .call(d3.axisLeft(y).tickValues(yTicks).tickFormat(tickLabel).tickSize(0).tickPadding(8))
      .call((/** @type {any} */ g) => g.select('.domain').remove());

    const line = d3
      .line()
      .defined((/** @type {Pt | null} */ d) => d !== null)
      .x((/** @type {Pt} */ d) => x(d[0]))
      .y((/** @type {Pt} */ d) => y(d[1]));
    const area = d3
      .area()
      .defined((/** @type {Pt | null} */ d) => d !== null)
      .x((/** @type {Pt} */ d) => x(d[0]))
      .y0(bottom)
      .y1((/** @type {Pt} */ d) => y(d[1]));
    for (const layer of layers) {
      const pts = visible.get(layer.style.id) ?? [];
      const gapped = withGaps(pts);
      layer.line.attr('d', pts.length ? line(gapped) : null).attr('data-points', pts.length);
      layer.area?.attr('d', pts.length ? area(gapped) : null);
      const last = pts[pts.length - 1];
      layer.head
        .attr('display', last ? null : 'none')
        .attr('cx', last ? x(last[0]) : 0)
        .attr('cy', last ? y(last[1]) : 0);
    }
    overlay
      .attr('x', MARGIN.left)
      .attr('y', MARGIN.top)
      .attr('width', right - MARGIN.left)
      .attr('height', bottom - MARGIN.top);
    if (hoverTs !== null) showHover(hoverTs);
  }

  /** The top of the y axis and its ticks, round in the chart's unit. @param {number} max */
  function yScale(max) {
    if (options.yMax !== undefined) return { top: options.yMax, ticks: d3.ticks(0, options.yMax, 4) };
    const want = Math.max(max * 1.1, options.minTop ?? 0) || 1;
    const unit = options.unit?.(want) ?? 1;
    const [, top] = d3.nice(0, want / unit, 4);
    return { top: top * unit, ticks: d3.ticks(0, top, 4).map((/** @type {number} */ t) => t * unit) };
  }

  /** Axis labels without trailing zeros: "10 GiB", "1.5 MB/s". @param {number} v */
  function tickLabel(v) {
    if (v === 0) return '0';
    const [num, ...unit] = options.format(v).split(' ');
    return [num.includes('.') ? num.replace(/\.?0+$/, '') : num, ...unit].join(' ');
  }

  function hideHover() {
    rule.style('display', 'none');
    tip.style('display', 'none');
    for (const l of layers) l.marker.style('display', 'none');
  }

  /** @param {number} ts */
  function showHover(ts) {
    if (!scales) return;
    const { x, y, visible } = scales;
    const bisect = d3.bisector((/** @type {Pt} */ d) => d[0]).center;
    /** @type {{ layer: any, p: Pt }[]} */
    const rows = [];
    let anchor = null;
    for (const layer of layers) {
      const pts = visible.get(layer.style.id) ?? [];
      if (!pts.length) continue;
      const p = pts[bisect(pts, ts)];
      anchor ??= p[0];
      rows.push({ layer, p });
    }
    if (anchor === null) return hideHover();
    const ax = x(anchor);
    rule.style('display', null).attr('x1', ax).attr('x2', ax).attr('y1', MARGIN.top).attr('y2', y(0));
    for (const l of layers) l.marker.style('display', 'none');
    for (const { layer, p } of rows)
      layer.marker.style('display', null).attr('cx', x(p[0])).attr('cy', y(p[1]));
    tip.style('display', null).html('');
    tip
      .append('div')
      .attr('class', 'tooltip-time')
      .text(d3.timeFormat('%H:%M:%S')(new Date(anchor)));
    for (const { layer, p } of rows) {
      const row = tip.append('div').attr('class', 'tooltip-row');
      row.append('span').attr('class', 'swatch').style('background', layer.style.color);
      row.append('span').text(layer.style.label);
      row.append('strong').text(options.format(p[1]));
    }
    const tipWidth = tip.node().offsetWidth;
    const left = ax + 14 + tipWidth > root.clientWidth ? ax - 14 - tipWidth : ax + 14;
    tip.style('left', `${left}px`).style('top', `${MARGIN.top}px`);
  }

  overlay
    .on('pointermove', (/** @type {PointerEvent} */ event) => {
      if (!scales) return;
      hoverTs = +scales.x.invert(d3.pointer(event)[0]);
      showHover(hoverTs);
    })
    .on('pointerleave', () => {
      hoverTs = null;
      hideHover();
    });

  new ResizeObserver(() => render()).observe(root);

  return {
    /**
     * Draws `data` (series id → time-ordered points) over `domain` (epoch ms).
     * @param {Map<string, Pt[]>} data @param {[number, number]} domain
     */
    draw(data, domain) {
      current = { data, domain };
      render();
    },
  };
}
