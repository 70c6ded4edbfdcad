/**
 * The caller's session: sends a logged-out user to the login page, shows who is logged in, and
 * gives the CSRF token that state-changing requests made with the session cookie must carry.
 */

let current = null;

/** @returns {Promise<{ authRequired: boolean, principal: null | { name: string, kind: string, scopes: string[] }, csrf: string | null }>} */
export async function loadSession() {
  const res = await fetch('/api/session', { headers: { accept: 'application/json' } });
  current = await res.json();
  if (current.authRequired && !current.principal) {
    toLogin();
    return current;
  }
  renderUser(current);
  return current;
}

export function toLogin() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.href = `/login.html?next=${next}`;
}

/** Headers for a POST/PUT/DELETE made with the session cookie. */
export function csrfHeaders() {
  return current?.csrf ? { 'x-csrf-token': current.csrf } : {};
}

function renderUser(session) {
  const slot = document.getElementById('user');
  if (!slot) return;
  slot.textContent = '';
  if (!session.authRequired) {
    slot.title = 'No users are configured: this loopback hub is open to this machine';
    slot.append('open mode');
    return;
  }
  const name = document.createElement('span');
  name.className = 'user-name';
  name.textContent = session.principal.name;
  const out = document.createElement('button');
  out.type = 'button';
  out.className = 'link-button';
  out.textContent = 'log out';
  out.addEventListener('click', async () => {
    await fetch('/api/logout', { method: 'POST', headers: csrfHeaders() });
    toLogin();
  });
  slot.append(name, out);
}
