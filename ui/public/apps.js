/**
 * The Apps page: every app of the caller's projects with its orchestrator, instances, health
 * (with the reasons behind it) and autoscaling mode, from GET /api/platform/apps, polled every
 * 5 s. A click on a row (or `?app=/project/app`) shows the app's containers and setting.
 */
import { $, appPath, badge, bytes, el, getJson, healthCell, num, poll } from './apps-common.js';

const body = /** @type {HTMLElement} */ (document.querySelector('#apps tbody'));
/** @type {string | null} */
let selected = new URLSearchParams(location.search).get('app');

function modeCell(/** @type {any} */ app) {
  const td = el('td');
  const p = app.policy;
  td.append(el('span', 'mode', p.mode));
  if (p.mode !== 'off')
    td.append(el('div', 'muted', `${p.min}–${p.max}, CPU target ${Math.round(p.targetCpu * 100)} %`));
  for (const e of app.policyErrors ?? []) td.append(el('div', 'error-text', `${e.field}: ${e.message}`));
  return td;
}

function decisionCell(/** @type {any} */ r) {
  const td = el('td');
  if (!r) return td;
  td.append(badge(r.action, 'action'), ` ${r.current} → ${r.desired}`);
  td.append(el('div', 'muted', r.reason));
  if (r.error) td.append(el('div', 'error-text', r.error));
  return td;
}

function row(/** @type {any} */ app) {
  const tr = el('tr', 'clickable');
  tr.dataset.app = app.id;
  tr.dataset.state = app.health.state;
  tr.setAttribute('aria-selected', String(app.id === selected));
  const name = el('td');
  const link = /** @type {HTMLAnchorElement} */ (el('a', 'app-link', app.id));
  link.href = `?app=${encodeURIComponent(app.id)}`;
  name.append(link);
  const tasks = app.tasks.filter((/** @type {any} */ t) => t.state === 'running').length;
  const inst = el('td', 'num', `${tasks} / ${app.instances}`);
  inst.title = `${tasks} running of ${app.instances} wanted`;
  if (app.deployments.length > 0) inst.append(el('div', 'muted', 'deploying'));
  tr.append(
    name,
    el('td', '', app.type),
    el('td', '', app.orchestrator),
    inst,
    healthCell(app.health),
    modeCell(app),
    decisionCell(app.lastDecision),
  );
  tr.addEventListener('click', (e) => {
    e.preventDefault();
    select(app.id);
  });
  return tr;
}

function dl(/** @type {[string, string][]} */ pairs) {
  const d = el('dl');
  for (const [k, v] of pairs) d.append(el('dt', '', k), el('dd', '', v));
  return d;
}

async function showDetail() {
  const panel = $('detail');
  if (!selected) {
    panel.hidden = true;
    return;
  }
  const app = await getJson(appPath(selected));
  panel.hidden = false;
  $('detail-title').textContent = app.id;
  const s = app.spec;
  $('detail-body').replaceChildren(
    dl([
      ['type', s.type],
      ['image', s.image ?? '–'],
      ['per instance', `${num(s.cpus)} CPU, ${s.mem} MiB`],
      ['instances', String(s.instances)],
      ['orchestrator', app.orchestrator],
    ]),
    dl([
      ['health', app.health.state],
      ['autoscale', app.policy.mode],
      ['deployments', app.deployments.join(', ') || 'none'],
      [
        'advice',
        app.advice
          ? `${num(app.advice.recommended.cpus)} CPU, ${Math.round(app.advice.recommended.mem)} MiB`
          : 'not yet',
      ],
    ]),
  );
  const tbody = /** @type {HTMLElement} */ (document.querySelector('#containers tbody'));
  tbody.replaceChildren(
    ...app.containers.map((/** @type {any} */ c) => {
      const tr = el('tr');
      const u = c.usage;
      const cpu = `${num(u.cpu)}${u.cpuLimit ? ` of ${num(u.cpuLimit)}` : ''}`;
      const mem = `${bytes(u.workingSet)}${u.memLimit ? ` of ${bytes(u.memLimit)}` : ''}`;
      tr.append(
        el('td', '', c.container),
        el('td', '', c.task ?? '–'),
        el('td', 'num', cpu),
        el('td', 'num', mem),
        healthCell(c.verdict),
      );
      return tr;
    }),
  );
  /** @type {HTMLAnchorElement} */ ($('detail-capacity')).href =
    `/capacity.html?app=${encodeURIComponent(app.id)}`;
  /** @type {HTMLAnchorElement} */ ($('detail-decisions')).href =
    `/decisions.html?app=${encodeURIComponent(app.id)}`;
}

function select(/** @type {string} */ id) {
  selected = id;
  history.replaceState(null, '', `?app=${encodeURIComponent(id)}`);
  for (const tr of body.querySelectorAll('tr'))
    tr.setAttribute('aria-selected', String(tr.dataset.app === id));
  showDetail().catch((e) => {
    $('detail').hidden = true;
    $('page-error').textContent = `Could not load ${id}: ${e.message}`;
    $('page-error').hidden = false;
  });
}

async function load() {
  const apps = await getJson('/api/platform/apps');
  body.replaceChildren(...apps.map(row));
  $('apps-empty').hidden = apps.length > 0;
  const by = (/** @type {string} */ s) => apps.filter((/** @type {any} */ a) => a.health.state === s).length;
  $('counts').textContent =
    `${apps.length} apps · ${by('busy')} busy · ${by('unhealthy')} unhealthy · ${by('idle')} idle`;
  if (selected) await showDetail();
}

poll(load);
