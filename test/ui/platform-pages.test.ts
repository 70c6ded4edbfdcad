/**
 * The platform pages in real Chromium: the real platform loop over the embedded store and the
 * Marathon contract server, served by the real platform routes (open mode, as a loopback hub
 * without users). A busy app shows up with its reasons and the autoscaler's decision, its
 * capacity advice is drawn, and the deploy form puts the hub's field error beside the field.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL } from '../../core/auth.ts';
import { toHubError } from '../../core/errors.ts';
import {
  containerPoints,
  type PlatformFixture,
  startPlatformFixture,
} from '../../platform/service-testing.ts';
import { createPlatformRouter } from '../../ui/api/platform-routes.ts';
import { pagesRouter } from '../../ui/pages.ts';
import { CHROMIUM, eventually, haveChromium, launchChromium, SCREENSHOT_DIR } from '../harness.ts';

const chromiumHere = haveChromium();
const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

describe.skipIf(!chromiumHere)(`platform pages${chromiumHere ? '' : ` (skipped: no ${CHROMIUM})`}`, () => {
  let fixture: PlatformFixture;
  let server: Server;
  let url = '';
  let browser: Browser;
  const audited: unknown[] = [];

  beforeAll(async () => {
    fixture = await startPlatformFixture({ marathon: true, start: Date.now() });
    const { platform, clock, store } = fixture;
    platform.start();
    const spec = {
      id: '/shop/web',
      type: 'WEB',
      image: 'registry.local/shop/web:1.0',
      cpus: 1,
      mem: 256,
      instances: 2,
      ports: [8080],
      labels: { 'obs.autoscale.mode': 'auto', 'obs.autoscale.max': '6' },
    };
    const { deploymentId } = await platform.deploy(spec);
    await eventually(async () =>
      expect(platform.deployments().find((d) => d.id === deploymentId)?.status).toBe('success'),
    );
    const tasks = await fixture.marathon!.tasks('/shop/web');
    clock.advance(60_000);
    await store.write([
      ...containerPoints(
        '/shop/web',
        tasks[0]!.id,
        'web-1',
        { cpu: 0.92, cpuLimit: 1, workingSetMiB: 96, memLimitMiB: 256 },
        clock.now(),
      ),
      ...containerPoints(
        '/shop/web',
        tasks[1]!.id,
        'web-2',
        { cpu: 0.95, cpuLimit: 1, workingSetMiB: 120, memLimitMiB: 256 },
        clock.now(),
      ),
    ]);
    await platform.evaluate();
    expect(platform.decisions({ appId: '/shop/web' }).some((d) => d.action === 'scaled')).toBe(true);

    const open: RequestHandler = (_req, res, next) => {
      res.locals['principal'] = OPEN_PRINCIPAL;
      next();
    };
    const app = express();
    app.get('/api/session', (_req, res) => {
      res.json({ authRequired: false, principal: null, csrf: null });
    });
    app.use(
      createPlatformRouter({
        platform,
        auth: { need: () => open },
        audit: { record: async (e) => void audited.push(e) },
      }),
    );
    app.use('/vendor/d3', express.static(root('node_modules/d3/dist')));
    app.use(pagesRouter(root('ui/public')), express.static(root('ui/public')));
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      const e = toHubError(err);
      res.status(e.status).json({ error: { code: e.status, message: e.message, type: e.code } });
    };
    app.use(onError);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await fixture?.close();
  });

  async function open(path: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}${path}`);
    return { page, errors };
  }

  it('lists the busy app with its reasons and the scaling decision, and opens its detail', async () => {
    const { page, errors } = await open('/apps.html');
    const row = page.locator('#apps tbody tr[data-app="/shop/web"]');
    await row.waitFor();
    expect(await row.getAttribute('data-state')).toBe('busy');
    expect(await row.locator('.health').first().textContent()).toBe('busy');
    expect(await row.locator('li[data-code="cpu_near_limit"]').textContent()).toMatch(/containers busy/);
    expect(await row.textContent()).toContain('marathon');
    expect(await row.locator('.mode').textContent()).toBe('auto');
    await expect.poll(() => page.locator('#counts').textContent()).toMatch(/1 apps · 1 busy/);
    await row.locator('.app-link').click();
    await page.locator('#containers tbody tr').first().waitFor();
    expect(await page.locator('#detail-title').textContent()).toBe('/shop/web');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'apps.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('draws the capacity advice with its usage distribution', async () => {
    const { page, errors } = await open('/capacity.html');
    const card = page.locator('.cap-card[data-app="/shop/web"]');
    await card.waitFor();
    expect(await card.locator('.dist-chart.cpu rect.bar').count()).toBeGreaterThan(0);
    expect(await card.locator('.dist-chart.mem rect.bar').count()).toBeGreaterThan(0);
    expect(await card.locator('.mark-advice').count()).toBe(2);
    expect(await card.locator('.waste').first().textContent()).toMatch(/core-h\/day (wasted|short)/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'capacity.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lists the decision with what was measured, the change and why', async () => {
    const { page, errors } = await open('/decisions.html?app=/shop/web');
    const scaled = page.locator('#decisions tbody tr[data-action="scaled"]').first();
    await scaled.waitFor();
    const text = await scaled.textContent();
    expect(text).toMatch(/CPU \d+ % vs target 60 %/);
    expect(text).toMatch(/2 → \d/);
    expect(await scaled.locator('.reason').textContent()).toMatch(/\./);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'decisions.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows the field error beside a bad cpus value, then follows a good deploy to success', async () => {
    const { page, errors } = await open('/deploy.html');
    await page.fill('#f-id', '/shop/api');
    await page.fill('#f-image', 'registry.local/shop/api:2.0');
    await page.fill('#f-cpus', 'lots');
    await page.fill('#f-ports', '8080');
    await page.click('#deploy');
    await page.locator('#err-cpus', { hasText: 'cpus' }).waitFor();
    expect(await page.locator('#f-cpus').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#err-image').textContent()).toBe('');
    expect(await page.locator('#deploy-status').textContent()).toMatch(/fix the marked fields/);

    await page.fill('#f-cpus', '0.25');
    await page.click('#deploy');
    await page.locator('#rollout-state[data-state="success"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#f-cpus').getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator('#deploy-status').textContent()).toBe('Deployed.');
    expect(audited).toContainEqual(expect.objectContaining({ action: 'app.deploy', target: '/shop/api' }));
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'deploy.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
