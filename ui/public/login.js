// The login form: posts the credentials as JSON; the hub answers with an HTTP-only session cookie.
const form = document.getElementById('login');
const error = document.getElementById('login-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const data = new FormData(form);
  const res = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: data.get('user'), password: data.get('password') }),
  });
  if (res.ok) {
    const next = new URLSearchParams(location.search).get('next');
    location.href = next?.startsWith('/') && !next.startsWith('//') ? next : '/';
    return;
  }
  const body = await res.json().catch(() => null);
  error.textContent = body?.error?.message ?? `Login failed (HTTP ${res.status})`;
  error.hidden = false;
});
