// The audit page: the newest changes first, from GET /api/audit.
import { loadSession, toLogin } from './lib/session.js';

const body = document.querySelector('#audit tbody');

async function show() {
  await loadSession();
  const res = await fetch('/api/audit?limit=500', { headers: { accept: 'application/json' } });
  if (res.status === 401) return toLogin();
  const entries = await res.json();
  if (!res.ok) {
    const error = document.getElementById('audit-error');
    error.textContent = entries?.error?.message ?? `HTTP ${res.status}`;
    error.hidden = false;
    return;
  }
  document.getElementById('audit-empty').hidden = entries.length > 0;
  for (const e of entries) {
    const row = document.createElement('tr');
    const cells = [
      new Date(e.ts).toLocaleString(),
      e.actor,
      e.action,
      e.target,
      e.details ? JSON.stringify(e.details) : '',
    ];
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      row.append(td);
    }
    body.append(row);
  }
}

show();
