// The service map: services and the calls between them from GET /api/v2/dependencies over a
// lookback, laid out by a d3 force simulation (run to rest before drawing). Edge labels give
// calls and errors; edge colour and width follow error rate and call count.
import { loadSession, toLogin } from './lib/session.js';

const d3 = window.d3;
const svg = d3.select('#map');
const $ = (id) => document.getElementById(id);

const errorColour = d3
  .scaleLinear()
  .domain([0, 0.05, 0.5])
  .range(['#8a939c', '#e8a33d', '#d1242f'])
  .clamp(true);

async function load() {
  $('error').hidden = true;
  const lookback = Number($('lookback').value);
  const res = await fetch(`/api/v2/dependencies?endTs=${Date.now()}&lookback=${lookback}`, {
    headers: { accept: 'application/json' },
  });
  if (res.status === 401) return toLogin();
  const body = await res.json();
  if (!res.ok) {
    $('error').textContent = body?.error?.message ?? `HTTP ${res.status}`;
    $('error').hidden = false;
    return;
  }
  draw(body);
}

function draw(links) {
  const node = svg.node();
  const width = node.clientWidth || 1200;
  const height = node.clientHeight || 560;
  svg.attr('viewBox', `0 0 ${width} ${height}`).selectAll('*').remove();
  $('map-empty').hidden = links.length > 0;

  const byName = new Map();
  const nodeOf = (name) => {
    if (!byName.has(name)) byName.set(name, { id: name, calls: 0, errors: 0, out: 0 });
    return byName.get(name);
  };
  const edges = links.map((l) => {
    const source = nodeOf(l.parent);
    const target = nodeOf(l.child);
    target.calls += l.callCount;
    target.errors += l.errorCount ?? 0;
    source.out += l.callCount;
    return { source, target, calls: l.callCount, errors: l.errorCount ?? 0 };
  });
  const nodes = [...byName.values()];
  const totalCalls = edges.reduce((s, e) => s + e.calls, 0);
  const totalErrors = edges.reduce((s, e) => s + e.errors, 0);
  $('summary').textContent =
    `${nodes.length} services, ${edges.length} edges, ${totalCalls} calls, ${totalErrors} errors`;

  // Seed x by depth from the callers, so calls flow left to right.
  const depth = new Map(nodes.map((n) => [n.id, 0]));
  for (let k = 0; k < nodes.length; k++)
    for (const e of edges)
      if (e.source !== e.target)
        depth.set(
          e.target.id,
          Math.max(depth.get(e.target.id), Math.min(depth.get(e.source.id) + 1, nodes.length)),
        );
  const maxDepth = Math.max(1, ...depth.values());
  const xOf = (n) => 80 + (depth.get(n.id) / maxDepth) * (width - 160);
  nodes.forEach((n, i) => {
    n.x = xOf(n);
    n.y = height / 2 + (i % 2 ? 1 : -1) * 30 * i;
  });

  const widthScale = d3
    .scaleSqrt()
    .domain([1, d3.max(edges, (e) => e.calls) || 1])
    .range([1.5, 7]);
  const sim = d3
    .forceSimulation(nodes)
    .force('link', d3.forceLink(edges).distance(180).strength(0.3))
    .force('charge', d3.forceManyBody().strength(-900))
    .force('x', d3.forceX(xOf).strength(0.4))
    .force('y', d3.forceY(height / 2).strength(0.08))
    .force('collide', d3.forceCollide(50))
    .stop();
  for (let i = 0; i < 300; i++) sim.tick();
  for (const n of nodes) {
    n.x = Math.max(60, Math.min(width - 60, n.x));
    n.y = Math.max(40, Math.min(height - 40, n.y));
  }

  const defs = svg.append('defs');
  const markerId = (e) => `arrow-${edges.indexOf(e)}`;
  for (const e of edges)
    defs
      .append('marker')
      .attr('id', markerId(e))
      .attr('viewBox', '0 -5 10 10')
      .attr('refX', 10)
      .attr('markerUnits', 'userSpaceOnUse')
      .attr('markerWidth', 12)
      .attr('markerHeight', 12)
      .attr('orient', 'auto')
      .append('path')
      .attr('d', 'M0,-5L10,0L0,5')
      .attr('fill', errorColour(e.calls ? e.errors / e.calls : 0));

  const R = 22;
  const edgeGroups = svg
    .append('g')
    .selectAll('g')
    .data(edges)
    .join('g')
    .attr('class', 'edge')
    .attr('data-parent', (e) => e.source.id)
    .attr('data-child', (e) => e.target.id)
    .attr('data-calls', (e) => e.calls)
    .attr('data-errors', (e) => e.errors);
  edgeGroups
    .append('path')
    .attr('d', (e) => {
      if (e.source === e.target) {
        const { x, y } = e.source;
        return `M${x - 10},${y - R} C${x - 50},${y - 90} ${x + 50},${y - 90} ${x + 10},${y - R}`;
      }
      const dx = e.target.x - e.source.x;
      const dy = e.target.y - e.source.y;
      const len = Math.hypot(dx, dy) || 1;
      const [ux, uy] = [dx / len, dy / len];
      const sx = e.source.x + ux * R;
      const sy = e.source.y + uy * R;
      const tx = e.target.x - ux * (R + 2);
      const ty = e.target.y - uy * (R + 2);
      // A slight curve, so that a → b and b → a do not overlap.
      const mx = (sx + tx) / 2 - uy * 24;
      const my = (sy + ty) / 2 + ux * 24;
      e.lx = (sx + tx) / 2 - uy * 34;
      e.ly = (sy + ty) / 2 + ux * 34 + 4;
      return `M${sx},${sy} Q${mx},${my} ${tx},${ty}`;
    })
    .attr('stroke', (e) => errorColour(e.calls ? e.errors / e.calls : 0))
    .attr('stroke-width', (e) => widthScale(Math.max(1, e.calls)))
    .attr('marker-end', (e) => `url(#${markerId(e)})`);
  edgeGroups
    .append('text')
    .attr('class', 'edge-label')
    .attr('x', (e) => (e.source === e.target ? e.source.x : e.lx))
    .attr('y', (e) => (e.source === e.target ? e.source.y - 80 : e.ly))
    .attr('text-anchor', 'middle')
    .text((e) => {
      const rate = e.calls ? (100 * e.errors) / e.calls : 0;
      return `${e.calls} call${e.calls === 1 ? '' : 's'} · ${e.errors} err (${rate.toFixed(rate > 0 && rate < 10 ? 1 : 0)} %)`;
    })
    .append('title')
    .text((e) => `${e.source.id} → ${e.target.id}`);

  const colour = d3.scaleOrdinal(d3.schemeTableau10);
  const nodeGroups = svg
    .append('g')
    .selectAll('g')
    .data(nodes)
    .join('g')
    .attr('class', 'node')
    .attr('data-service', (n) => n.id)
    .attr('transform', (n) => `translate(${n.x},${n.y})`);
  nodeGroups
    .append('circle')
    .attr('r', R)
    .attr('fill', (n) => colour(n.id));
  nodeGroups
    .append('text')
    .attr('class', 'node-label')
    .attr('y', R + 16)
    .attr('text-anchor', 'middle')
    .text((n) => n.id);
  nodeGroups
    .append('title')
    .text((n) => `${n.id}: ${n.calls} calls in, ${n.errors} errors, ${n.out} calls out`);
  nodeGroups.style('cursor', 'pointer').on('click', (_ev, n) => {
    location.href = `/traces.html?service=${encodeURIComponent(n.id)}`;
  });
}

$('lookback').addEventListener('change', load);
window.addEventListener('resize', load);

await loadSession();
load();
