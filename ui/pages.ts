/**
 * The pages' shared navigation, written once. Each page's HTML holds an empty
 * `<nav class="nav" aria-label="Pages"></nav>`; the hub fills it with these links (the page's own
 * marked `aria-current`) when it serves the page, so a new page is one line here instead of an
 * edit to every HTML file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RequestHandler, Router } from 'express';

/** The navigation, in order: where each page lives and its link text. */
export const PAGES: readonly { readonly href: string; readonly label: string }[] = [
  { href: '/', label: 'Overview' },
  { href: '/alerts.html', label: 'Alerts' },
  { href: '/silences.html', label: 'Silences' },
  { href: '/containers.html', label: 'Containers' },
  { href: '/traces.html', label: 'Traces' },
  { href: '/service-map.html', label: 'Service map' },
  { href: '/apps.html', label: 'Apps' },
  { href: '/capacity.html', label: 'Capacity' },
  { href: '/decisions.html', label: 'Decisions' },
  { href: '/deploy.html', label: 'Deploy' },
  { href: '/audit.html', label: 'Audit' },
];

const EMPTY_NAV = /<nav class="nav" aria-label="Pages">\s*<\/nav>/;

/** The page's HTML with its navigation filled in; HTML without the empty nav comes back as it was. */
export function withNavigation(html: string, href: string): string {
  return html.replace(EMPTY_NAV, (empty) => {
    const links = PAGES.map(
      (p) => `<a href="${p.href}"${p.href === href ? ' aria-current="page"' : ''}>${p.label}</a>`,
    );
    return empty.replace(/\s*<\/nav>$/, `\n        ${links.join('\n        ')}\n      </nav>`);
  });
}

/**
 * Serves every HTML page of `publicDir` with its navigation filled in (rendered once, here);
 * everything else is left to the static files handler after it.
 */
export function pagesRouter(publicDir: string): Router {
  const router = Router();
  for (const file of readdirSync(publicDir).filter((f) => f.endsWith('.html'))) {
    const href = file === 'index.html' ? '/' : `/${file}`;
    const html = withNavigation(readFileSync(join(publicDir, file), 'utf8'), href);
    const send: RequestHandler = (_req, res) => {
      res.type('html').set('Cache-Control', 'no-cache').send(html);
    };
    router.get(`/${file}`, send);
    if (href === '/') router.get('/', send);
  }
  return router;
}
