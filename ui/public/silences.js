/**
 * The Silences page: the list from GET /api/silences (active, pending, expired) with an expire
 * button (DELETE), and a form to create one (POST) with a live preview of the firing alerts its
 * matchers catch (GET /api/silences/preview). `?matchers=…&comment=…` prefill the form.
 */
import { csrfHeaders, loadSession, toLogin } from './lib/session.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const form = /** @type {HTMLFormElement} */ ($('silence-form'));
const matchersInput = /** @type {HTMLTextAreaElement} */ ($('matchers'));
const startsInput = /** @type {HTMLInputElement} */ ($('starts'));
const endsInput = /** @type {HTMLInputElement} */ ($('ends'));
const durationInput = /** @type {HTMLSelectElement} */ ($('duration'));
const commentInput = /** @type {HTMLInputElement} */ ($('comment'));
const stateFilter = /** @type {HTMLSelectElement} */ ($('state-filter'));
const UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** @type {any[]} */
let silences = [];

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

function notice(/** @type {string} */ id, /** @type {string | null} */ message) {
  $(id).textContent = message ?? '';
  $(id).hidden = !message;
}

/** A `datetime-local` value for an instant, in local time. */
function localInput(/** @type {number} */ ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function durationMs(/** @type {string} */ text) {
  const m = /^(\d+)([mhdw])$/.exec(text);
  return m ? Number(m[1]) * UNITS[/** @type {keyof typeof UNITS} */ (m[2])] : null;
}

/** Matcher lines, blank lines and a trailing comma dropped. */
function matcherLines() {
  return matchersInput.value
    .split('\n')
    .map((l) => l.trim().replace(/,$/, ''))
    .filter(Boolean);
}

function startMs() {
  return startsInput.value ? new Date(startsInput.value).getTime() : Date.now();
}

function syncEnd() {
  const d = durationMs(durationInput.value);
  if (d !== null) endsInput.value = localInput(startMs() + d);
}

function chipOf(/** @type {string} */ text) {
  const chip = document.createElement('span');
  chip.className = 'chip';
  chip.textContent = text;
  return chip;
}

function matcherText(/** @type {{ name: string, value: string, isRegex: boolean, isEqual: boolean }} */ m) {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

// ------------------------------------------------------------ preview

let previewSeq = 0;
let previewTimer = 0;

async function preview() {
  const seq = ++previewSeq;
  const lines = matcherLines();
  const list = $('preview');
  const status = $('preview-status');
  if (lines.length === 0) {
    list.textContent = '';
    status.textContent = 'Type matchers to see what they would silence.';
    return;
  }
  try {
    const q = new URLSearchParams({ matchers: `{${lines.join(',')}}` });
    const answer = await getJson(`/api/silences/preview?${q}`);
    if (seq !== previewSeq) return;
    list.textContent = '';
    for (const a of answer.alerts) {
      const li = document.createElement('li');
      li.dataset.fingerprint = a.fingerprint;
      const name = document.createElement('strong');
      name.textContent = a.labels.alertname ?? a.fingerprint;
      li.append(name);
      for (const [k, v] of Object.entries(a.labels)) if (k !== 'alertname') li.append(chipOf(`${k}=${v}`));
      if (a.silencedBy?.length) {
        const s = document.createElement('span');
        s.className = 'muted';
        s.textContent = 'already silenced';
        li.append(s);
      }
      list.append(li);
    }
    const n = answer.alerts.length;
    status.textContent =
      n === 0
        ? 'No firing alert matches these matchers now.'
        : `${n} firing alert${n === 1 ? '' : 's'} match${n === 1 ? 'es' : ''} ${answer.matchers.join(', ')}:`;
  } catch (e) {
    if (seq !== previewSeq) return;
    list.textContent = '';
    status.textContent = `Matchers not valid: ${/** @type {Error} */ (e).message}`;
  }
}

function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = window.setTimeout(preview, 250);
}

// ------------------------------------------------------------ list

function render() {
  const state = stateFilter.value;
  const body = /** @type {HTMLElement} */ (document.querySelector('#silences tbody'));
  body.textContent = '';
  const shown = silences.filter((s) => !state || s.status.state === state);
  for (const s of shown) {
    const row = document.createElement('tr');
    row.dataset.id = s.id;
    row.dataset.state = s.status.state;
    const stateTd = document.createElement('td');
    const b = document.createElement('span');
    b.className = 'badge';
    b.dataset.state = s.status.state;
    b.textContent = s.status.state;
    stateTd.append(b);
    const matchersTd = document.createElement('td');
    const chips = document.createElement('div');
    chips.className = 'chips';
    for (const m of s.matchers) chips.append(chipOf(matcherText(m)));
    matchersTd.append(chips);
    const starts = document.createElement('td');
    starts.textContent = new Date(s.startsAt).toLocaleString();
    const ends = document.createElement('td');
    ends.textContent = s.endsAt ? new Date(s.endsAt).toLocaleString() : '—';
    if (s.recurrence)
      ends.textContent += ` (${s.recurrence.weekdays.join(',') || 'daily'} ${s.recurrence.startTime}–${s.recurrence.endTime} ${s.recurrence.timeZone})`;
    const by = document.createElement('td');
    by.textContent = s.createdBy;
    const comment = document.createElement('td');
    comment.textContent = s.comment;
    const actions = document.createElement('td');
    if (s.status.state !== 'expired') {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn';
      button.textContent = 'Expire';
      button.addEventListener('click', () => expire(s, button));
      actions.append(button);
    }
    row.append(stateTd, matchersTd, starts, ends, by, comment, actions);
    body.append(row);
  }
  const empty = $('silences-empty');
  empty.hidden = shown.length > 0;
  empty.textContent = silences.length === 0 ? 'No silences yet.' : `No ${state} silences.`;
}

async function load() {
  try {
    const list = await getJson('/api/silences');
    const order = { active: 0, pending: 1, expired: 2 };
    silences = list.sort(
      (/** @type {any} */ a, /** @type {any} */ b) =>
        order[/** @type {keyof typeof order} */ (a.status.state)] -
          order[/** @type {keyof typeof order} */ (b.status.state)] ||
        Date.parse(b.updatedAt) - Date.parse(a.updatedAt),
    );
    render();
  } catch (e) {
    notice('silences-error', `Could not load silences: ${/** @type {Error} */ (e).message}`);
  }
}

async function expire(/** @type {any} */ s, /** @type {HTMLButtonElement} */ button) {
  button.disabled = true;
  try {
    await getJson(`/api/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE', headers: csrfHeaders() });
    notice('silences-error', null);
    notice('silences-ok', `Silence ${s.id} expired.`);
    await load();
    schedulePreview();
  } catch (e) {
    button.disabled = false;
    notice('silences-error', `Could not expire the silence: ${/** @type {Error} */ (e).message}`);
  }
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const lines = matcherLines();
  const startsAt = startMs();
  const endsAt = endsInput.value ? new Date(endsInput.value).getTime() : null;
  if (endsAt === null) return notice('silences-error', 'Give an end or a duration.');
  const button = /** @type {HTMLButtonElement} */ ($('create'));
  button.disabled = true;
  try {
    const answer = await getJson('/api/silences', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...csrfHeaders() },
      body: JSON.stringify({
        matchers: lines,
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(endsAt).toISOString(),
        comment: commentInput.value.trim(),
      }),
    });
    notice('silences-error', null);
    notice('silences-ok', `Silence ${answer.silenceID} created.`);
    await load();
    await preview();
  } catch (e) {
    notice('silences-ok', null);
    notice('silences-error', `Could not create the silence: ${/** @type {Error} */ (e).message}`);
  } finally {
    button.disabled = false;
  }
});

matchersInput.addEventListener('input', schedulePreview);
durationInput.addEventListener('change', syncEnd);
startsInput.addEventListener('change', syncEnd);
endsInput.addEventListener('input', () => {
  durationInput.value = '';
});
stateFilter.addEventListener('change', render);

async function start() {
  const session = await loadSession();
  if (session.authRequired && !session.principal) return;
  const params = new URLSearchParams(location.search);
  const prefill = params.getAll('matchers').join('\n');
  // `{a="b",c="d"}` (as an alert's link or Alertmanager writes it) becomes one matcher per line.
  matchersInput.value = /^\{.*\}$/s.test(prefill.trim())
    ? prefill
        .trim()
        .slice(1, -1)
        .replace(/,\s*(?=[A-Za-z_][\w.]*\s*(=|!=|=~|!~)")/g, '\n')
    : prefill;
  if (params.get('comment')) commentInput.value = params.get('comment') ?? '';
  if (params.get('duration')) durationInput.value = params.get('duration') ?? '2h';
  startsInput.value = localInput(Date.now());
  syncEnd();
  if (params.get('state')) stateFilter.value = params.get('state') ?? '';
  await Promise.all([load(), preview()]);
}

start();
