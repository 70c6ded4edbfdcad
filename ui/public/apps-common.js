/**
 * What the platform pages share: fetching JSON from the hub (a 401 goes to the login page),
 * the error notice, health and action badges, times and numbers, and polling.
 */
import { ago, bytesParts, format } from './lib/format.js';
import { csrfHeaders, loadSession, toLogin } from './lib/session.js';

export const REFRESH_MS = 5_000;
export const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Fetches JSON; failures throw an Error carrying the hub's message and field details. */
export async function getJson(/** @type {string} */ url, /** @type {RequestInit} */ init = {}) {
  const headers = {
    accept: 'application/json',
    ...(init.body ? { 'content-type': 'application/json' } : {}),
  };
  const res = await fetch(url, {
    ...init,
    headers: {
      ...headers,
      ...(init.method && init.method !== 'GET' ? csrfHeaders() : {}),
      ...(init.headers ?? {}),
    },
  });
  if (res.status === 401) {
    toLogin();
    throw new Error('Not logged in');
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const err = /** @type {Error & { details?: { field: string, message: string }[], status?: number }} */ (
      new Error(data?.error?.message ?? `HTTP ${res.status}`)
    );
    err.details = data?.error?.details ?? [];
    err.status = res.status;
    throw err;
  }
  return data;
}

export function showError(/** @type {string | null} */ message) {
  const notice = $('page-error');
  notice.textContent = message ?? '';
  notice.hidden = !message;
}

export function el(
  /** @type {string} */ tag,
  /** @type {string} */ className = '',
  /** @type {string} */ text = '',
) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

/** A pill with the state as text; colour comes from `data-state` (or `data-action`). */
export function badge(/** @type {string} */ state, /** @type {'state' | 'action'} */ kind = 'state') {
  const b = el('span', 'health', state);
  b.dataset[kind] = state;
  return b;
}

/** The health state and its reasons, for a table cell. */
export function healthCell(
  /** @type {{ state: string, reasons: { code: string, message: string }[], since?: number }} */ h,
) {
  const td = el('td', 'health-cell');
  td.append(badge(h.state));
  if (h.since) {
    td.append(el('span', 'muted', ` since ${new Date(h.since).toLocaleTimeString()}`));
  }
  if (h.reasons.length > 0) {
    const ul = el('ul', 'reasons');
    for (const r of h.reasons) {
      const li = el('li', '', r.message);
      li.dataset.code = r.code;
      ul.append(li);
    }
    td.append(ul);
  }
  return td;
}

export function timeCell(/** @type {number} */ ts) {
  const td = el('td');
  const t = document.createElement('time');
  t.dateTime = new Date(ts).toISOString();
  t.title = new Date(ts).toLocaleString();
  t.textContent = ago(Date.now() - ts);
  td.append(t);
  return td;
}

/** Up to 3 significant digits, no trailing zeros. */
export function num(/** @type {number | null | undefined} */ v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(digits)));
}

export const bytes = (/** @type {number | undefined} */ v) => (v === undefined ? '–' : format(bytesParts(v)));

/** `/project/app` → the API path of that app. */
export const appPath = (/** @type {string} */ id) =>
  `/api/platform/apps/${id.split('/').filter(Boolean).map(encodeURIComponent).join('/')}`;

/** Loads the session, then calls `load` now and every `REFRESH_MS`; shows when it last worked. */
export async function poll(/** @type {() => Promise<void>} */ load, everyMs = REFRESH_MS) {
  await loadSession();
  const run = async () => {
    try {
      await load();
      showError(null);
      $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      showError(`Could not load: ${/** @type {Error} */ (e).message}`);
    }
  };
  await run();
  setInterval(run, everyMs);
}
