/**
 * The Deploy page: a form for an app (type, image, command, resources, instances, ports, health
 * check, labels) sent to POST /api/platform/apps. The hub validates it; each refused field's
 * message is shown beside that field. An accepted deployment is then followed until it succeeds
 * or fails (GET /api/platform/deployments, every second), and the recent deployments are listed.
 */
import { $, badge, el, getJson, poll, timeCell } from './apps-common.js';

const form = /** @type {HTMLFormElement} */ ($('deploy-form'));
const value = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(id)).value.trim();
const FIELDS = [
  'id',
  'type',
  'image',
  'cmd',
  'schedule',
  'cpus',
  'mem',
  'instances',
  'ports',
  'healthCheck',
  'labels',
];
/** @type {string | null} */
let following = null;

/** A number when the text is one; otherwise the text, so the hub names the field and what is wrong. */
function numberOr(/** @type {string} */ text) {
  return text !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
}

function labelsOf(/** @type {string} */ text) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    if (eq < 0) out[t] = '';
    else out[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
  }
  return out;
}

function specOf() {
  /** @type {Record<string, unknown>} */
  const spec = {
    id: value('f-id'),
    type: value('f-type'),
    cpus: numberOr(value('f-cpus')),
    mem: numberOr(value('f-mem')),
    instances: numberOr(value('f-instances')),
  };
  for (const [key, id] of [
    ['image', 'f-image'],
    ['cmd', 'f-cmd'],
    ['schedule', 'f-schedule'],
  ])
    if (value(id)) spec[key] = value(id);
  const ports = value('f-ports');
  if (ports)
    spec.ports = ports
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(numberOr);
  const protocol = value('f-healthCheck');
  if (protocol) {
    const path = value('f-hc-path');
    spec.healthCheck =
      protocol === 'COMMAND'
        ? { protocol, command: path }
        : protocol === 'HTTP'
          ? { protocol, path: path || '/', portIndex: 0 }
          : { protocol, portIndex: 0 };
  }
  const labels = value('f-labels');
  if (labels) spec.labels = labelsOf(labels);
  return spec;
}

function clearErrors() {
  for (const f of FIELDS) {
    $(`err-${f}`).textContent = '';
    $(`f-${f}`).removeAttribute('aria-invalid');
  }
}

/** `labels.obs.autoscale.max` → `labels`, `ports[1]` → `ports`, `healthCheck.path` → `healthCheck`. */
const slotOf = (/** @type {string} */ field) => field.split(/[.[]/)[0] ?? field;

function showFieldErrors(/** @type {{ field: string, message: string }[]} */ details) {
  const unplaced = [];
  for (const d of details) {
    const slot = slotOf(d.field);
    if (!FIELDS.includes(slot)) {
      unplaced.push(`${d.field}: ${d.message}`);
      continue;
    }
    const box = $(`err-${slot}`);
    box.textContent = box.textContent ? `${box.textContent}; ${d.message}` : d.message;
    $(`f-${slot}`).setAttribute('aria-invalid', 'true');
  }
  return unplaced;
}

function renderRollout(/** @type {any} */ d) {
  $('rollout-panel').hidden = false;
  $('rollout-title').textContent = `Rollout of ${d.appId} (${d.id})`;
  const state = $('rollout-state');
  state.textContent = d.status;
  state.dataset.state = d.status;
  $('rollout-message').textContent = d.message;
  $('rollout-steps').replaceChildren(
    ...d.steps.map((/** @type {any} */ s) =>
      el('li', '', `${new Date(s.ts).toLocaleTimeString()} ${s.message}`),
    ),
  );
}

async function follow(/** @type {string} */ id) {
  following = id;
  while (following === id) {
    const list = await getJson('/api/platform/deployments').catch(() => []);
    const d = list.find((/** @type {any} */ x) => x.id === id);
    if (d) renderRollout(d);
    if (d && d.status !== 'running') {
      $('deploy-status').textContent = d.status === 'success' ? 'Deployed.' : `Failed: ${d.message}`;
      following = null;
      await loadDeployments();
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors();
  const button = /** @type {HTMLButtonElement} */ ($('deploy'));
  button.disabled = true;
  $('deploy-status').textContent = 'Sending…';
  try {
    const result = await getJson('/api/platform/apps', { method: 'POST', body: JSON.stringify(specOf()) });
    if (result?.deploymentId) {
      $('deploy-status').textContent = 'Accepted: following the rollout…';
      follow(result.deploymentId).catch(() => undefined);
    } else $('deploy-status').textContent = 'Accepted.';
  } catch (err) {
    const error = /** @type {Error & { details?: { field: string, message: string }[] }} */ (err);
    const unplaced = showFieldErrors(error.details ?? []);
    $('deploy-status').textContent =
      (error.details ?? []).length > 0
        ? `Not deployed: fix the marked fields${unplaced.length ? ` (${unplaced.join('; ')})` : ''}.`
        : `Not deployed: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});

async function loadDeployments() {
  const list = await getJson('/api/platform/deployments');
  const body = /** @type {HTMLElement} */ (document.querySelector('#deployments tbody'));
  body.replaceChildren(
    ...list.slice(0, 50).map((/** @type {any} */ d) => {
      const tr = el('tr');
      tr.dataset.id = d.id;
      const status = el('td');
      status.append(badge(d.status));
      tr.append(
        timeCell(d.startedAt),
        el('td', '', d.appId),
        el('td', '', d.orchestrator),
        status,
        el('td', '', d.message),
      );
      return tr;
    }),
  );
  $('deployments-empty').hidden = list.length > 0;
}

poll(loadDeployments);
