/**
 * A trace waterfall that stays smooth on very large traces: the rows (in tree order, from
 * GET /api/traces/:id) are virtualised — only the rows in view (plus a few) are in the DOM, each a
 * fixed height, over a spacer as tall as all visible rows. Subtrees collapse and expand; the
 * critical path (from a root, the child that ends last, recursively) is highlighted; a minimap
 * canvas shows the whole trace with the window in view.
 */

export const ROW_HEIGHT = 24;
const OVERSCAN = 8;
const PALETTE = [
  '#4e79a7',
  '#f28e2c',
  '#59a14f',
  '#76b7b2',
  '#edc949',
  '#af7aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ab',
  '#2f6690',
];

/** Microseconds as a short duration. */
export function fmtDuration(us) {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${+(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  if (us < 60_000_000) return `${+(us / 1_000_000).toFixed(2)} s`;
  return `${+(us / 60_000_000).toFixed(1)} min`;
}

/** Per row: the index after its subtree, whether it has children, and the critical path. */
export function analyse(rows) {
  const n = rows.length;
  const subtreeEnd = new Int32Array(n);
  const stack = [];
  for (let i = 0; i < n; i++) {
    while (stack.length > 0 && rows[stack[stack.length - 1]].depth >= rows[i].depth)
      subtreeEnd[stack.pop()] = i;
    stack.push(i);
  }
  for (const i of stack) subtreeEnd[i] = n;
  const end = (i) => rows[i].adjustedStart + rows[i].duration;
  const critical = new Uint8Array(n);
  // The root that ends last, then down: the child that ends last.
  let cur = -1;
  for (let i = 0; i < n; i = subtreeEnd[i]) if (cur < 0 || end(i) > end(cur)) cur = i;
  while (cur >= 0) {
    critical[cur] = 1;
    let next = -1;
    for (let j = cur + 1; j < subtreeEnd[cur]; j = subtreeEnd[j])
      if (next < 0 || end(j) >= end(next)) next = j;
    cur = next;
  }
  return { subtreeEnd, critical };
}

export function createWaterfall({ scroll, spacer, axis, minimap, onSelect }) {
  let rows = [];
  let info = { subtreeEnd: new Int32Array(0), critical: new Uint8Array(0) };
  let collapsed = new Set();
  let visible = [];
  let t0 = 0;
  let total = 1;
  let selected = -1;
  let colours = new Map();
  let frame = 0;

  const colourOf = (service) => colours.get(service) ?? '#888';

  function computeVisible() {
    visible = [];
    for (let i = 0; i < rows.length; ) {
      visible.push(i);
      i = collapsed.has(i) ? info.subtreeEnd[i] : i + 1;
    }
    spacer.style.height = `${visible.length * ROW_HEIGHT}px`;
    scroll.dataset.visibleRows = String(visible.length);
  }

  function rowElement(i, pos) {
    const r = rows[i];
    const el = document.createElement('div');
    el.className = 'wf-row';
    if (r.error) el.classList.add('error');
    if (info.critical[i]) el.classList.add('critical');
    if (i === selected) el.classList.add('selected');
    if (r.placeholder) el.classList.add('placeholder');
    el.style.top = `${pos * ROW_HEIGHT}px`;
    el.dataset.index = String(i);
    el.dataset.spanId = r.spanId;
    el.dataset.depth = String(r.depth);
    el.dataset.service = r.service;
    if (r.error) el.dataset.error = 'true';

    const label = document.createElement('div');
    label.className = 'wf-label';
    label.style.paddingLeft = `${6 + Math.min(r.depth, 40) * 12}px`;
    const hasKids = info.subtreeEnd[i] > i + 1;
    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.className = 'wf-toggle';
    if (hasKids) {
      const isCollapsed = collapsed.has(i);
      toggle.textContent = isCollapsed ? '▸' : '▾';
      toggle.setAttribute('aria-expanded', String(!isCollapsed));
      toggle.title = `${isCollapsed ? 'Expand' : 'Collapse'} ${info.subtreeEnd[i] - i - 1} spans`;
      el.dataset.collapsed = String(isCollapsed);
    } else toggle.disabled = true;
    const dot = document.createElement('span');
    dot.className = 'wf-dot';
    dot.style.background = colourOf(r.service);
    const svc = document.createElement('span');
    svc.className = 'wf-service';
    svc.textContent = r.service;
    const name = document.createElement('span');
    name.className = 'wf-name';
    name.textContent = r.name;
    label.append(toggle, dot, svc, name);
    label.title = `${r.service}: ${r.name}`;

    const lane = document.createElement('div');
    lane.className = 'wf-lane';
    const bar = document.createElement('div');
    bar.className = 'wf-bar';
    const left = ((r.adjustedStart - t0) / total) * 100;
    const width = (r.duration / total) * 100;
    bar.style.left = `${Math.max(0, Math.min(100, left))}%`;
    bar.style.width = `max(2px, ${Math.max(0, Math.min(100 - left, width))}%)`;
    bar.style.background = r.error ? 'var(--t-error)' : colourOf(r.service);
    const dur = document.createElement('span');
    dur.className = 'wf-dur';
    dur.textContent = fmtDuration(r.duration);
    if (left > 70) dur.classList.add('left');
    dur.style.left = left > 70 ? `calc(${left}% - 4px)` : `calc(${left + width}% + 4px)`;
    lane.append(bar, dur);
    if (r.skew) {
      const mark = document.createElement('span');
      mark.className = 'wf-skew';
      mark.title = `clock skew corrected by ${fmtDuration(Math.abs(r.skew))}`;
      mark.textContent = '⇆';
      label.append(mark);
    }
    el.append(label, lane);
    return el;
  }

  function render() {
    frame = 0;
    const top = scroll.scrollTop;
    const height = scroll.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(visible.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const frag = document.createDocumentFragment();
    for (let p = first; p < last; p++) frag.append(rowElement(visible[p], p));
    spacer.replaceChildren(frag);
    drawMinimapWindow(
      Math.floor(top / ROW_HEIGHT),
      Math.min(visible.length, Math.ceil((top + height) / ROW_HEIGHT)),
    );
  }

  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(render);
  };
  scroll.addEventListener('scroll', schedule);
  window.addEventListener('resize', () => {
    drawMinimap();
    schedule();
  });

  spacer.addEventListener('click', (ev) => {
    const rowEl = ev.target.closest('.wf-row');
    if (!rowEl) return;
    const i = Number(rowEl.dataset.index);
    if (ev.target.closest('.wf-toggle')) {
      toggleRow(i);
      return;
    }
    select(i);
  });

  function toggleRow(i) {
    if (info.subtreeEnd[i] <= i + 1) return;
    if (collapsed.has(i)) collapsed.delete(i);
    else collapsed.add(i);
    computeVisible();
    drawMinimap();
    render();
  }

  function select(i) {
    selected = i;
    render();
    onSelect?.(rows[i], i);
  }

  // ---------------------------------------------------------------- axis and minimap

  function drawAxis() {
    axis.replaceChildren();
    const lane = document.createElement('div');
    lane.className = 'wf-axis-lane';
    for (let k = 0; k <= 4; k++) {
      const tick = document.createElement('span');
      tick.className = 'wf-tick';
      tick.style.left = `${k * 25}%`;
      tick.textContent = fmtDuration((total * k) / 4);
      lane.append(tick);
    }
    const label = document.createElement('div');
    label.className = 'wf-axis-label';
    label.textContent = 'service · span';
    axis.append(label, lane);
  }

  let mini = null;
  function drawMinimap() {
    const ctx = minimap.getContext('2d');
    const w = minimap.clientWidth || 800;
    const h = minimap.height;
    minimap.width = w;
    ctx.clearRect(0, 0, w, h);
    const n = visible.length;
    if (n === 0) return;
    // One pixel line per row bucket: draw each visible row's bar at its row position.
    const step = Math.max(1, Math.floor(n / (h * 4)));
    for (let p = 0; p < n; p += step) {
      const r = rows[visible[p]];
      const x = ((r.adjustedStart - t0) / total) * w;
      const bw = Math.max(1, (r.duration / total) * w);
      const y = (p / n) * h;
      ctx.fillStyle = r.error ? '#d1242f' : info.critical[visible[p]] ? '#1c2128' : colourOf(r.service);
      ctx.fillRect(x, y, bw, Math.max(1, h / n));
    }
    mini = ctx.getImageData(0, 0, w, h);
  }

  function drawMinimapWindow(a, b) {
    if (!mini) return;
    const ctx = minimap.getContext('2d');
    ctx.putImageData(mini, 0, 0);
    const n = visible.length || 1;
    const h = minimap.height;
    ctx.fillStyle = 'rgba(11, 92, 173, 0.15)';
    ctx.strokeStyle = 'rgba(11, 92, 173, 0.8)';
    const y = (a / n) * h;
    const hh = Math.max(2, ((b - a) / n) * h);
    ctx.fillRect(0, y, minimap.width, hh);
    ctx.strokeRect(0.5, y + 0.5, minimap.width - 1, hh - 1);
  }

  function scrollToMini(ev) {
    const rect = minimap.getBoundingClientRect();
    const frac = (ev.clientY - rect.top) / rect.height;
    scroll.scrollTop = frac * visible.length * ROW_HEIGHT - scroll.clientHeight / 2;
  }
  minimap.addEventListener('mousedown', (ev) => {
    scrollToMini(ev);
    const move = (e) => scrollToMini(e);
    const up = () => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  });

  return {
    /** Shows a trace: `trace` as GET /api/traces/:id answers. */
    show(trace) {
      rows = trace.spans;
      info = analyse(rows);
      collapsed = new Set();
      selected = -1;
      t0 = trace.start;
      let end = trace.end ?? trace.start + trace.duration;
      for (const r of rows) end = Math.max(end, r.adjustedStart + r.duration);
      total = Math.max(1, end - t0);
      colours = new Map();
      for (const r of rows)
        if (!colours.has(r.service)) colours.set(r.service, PALETTE[colours.size % PALETTE.length]);
      scroll.scrollTop = 0;
      computeVisible();
      drawAxis();
      drawMinimap();
      render();
    },
    colourOf,
    select,
    toggle: toggleRow,
    get rows() {
      return rows;
    },
    isCritical: (i) => info.critical[i] === 1,
    offset: (us) => us - t0,
  };
}
