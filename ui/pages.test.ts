import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGES, pagesRouter, withNavigation } from './pages.ts';

const PUBLIC = fileURLToPath(new URL('./public', import.meta.url));
const links = (html: string) => [...html.matchAll(/<nav[^>]*>([\s\S]*?)<\/nav>/g)].map((m) => m[1] ?? '');

describe('page navigation', () => {
  let server: ReturnType<ReturnType<typeof express>['listen']>;
  let base = '';
  beforeAll(async () => {
    const app = express();
    app.use(pagesRouter(PUBLIC), express.static(PUBLIC));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('lists every page with a nav, and every such page is in the list', () => {
    const withNav = readdirSync(PUBLIC).filter(
      (f) => f.endsWith('.html') && readFileSync(`${PUBLIC}/${f}`, 'utf8').includes('aria-label="Pages"'),
    );
    const listed = PAGES.map((p) => (p.href === '/' ? 'index.html' : p.href.slice(1)));
    expect(withNav.sort()).toEqual([...listed].sort());
  });

  it.each(PAGES.map((p) => [p.href, p.label]))(
    'serves %s with every link and itself marked current',
    async (href, label) => {
      const res = await fetch(`${base}${href}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      const [nav] = links(await res.text());
      expect(nav?.match(/<a /g)).toHaveLength(PAGES.length);
      expect(nav).toContain(`<a href="${href}" aria-current="page">${label}</a>`);
      expect(nav?.match(/aria-current/g)).toHaveLength(1);
    },
  );

  it('leaves a page without the empty nav (the login page) and other files as they are', async () => {
    const login = await (await fetch(`${base}/login.html`)).text();
    expect(login).toBe(readFileSync(`${PUBLIC}/login.html`, 'utf8'));
    expect(withNavigation('<p>no nav</p>', '/')).toBe('<p>no nav</p>');
    expect((await fetch(`${base}/style.css`)).status).toBe(200);
  });
});
