/**
 * The Traces and Service map pages in real Chromium against a real hub: a web → api → db trace
 * with an error span and a skewed clock, posted through POST /api/v2/spans, is found, opened as a
 * waterfall (tree order, error marked, collapse, span detail); a 20,000-span trace keeps fewer
 * than 200 rows in the DOM and scrolls to its last span; the service map shows the three services
 * and their edges with call counts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  eventually,
  haveChromium,
  launchChromium,
  postJson,
  SCREENSHOT_DIR,
  startTestHub,
  type TestHub,
} from '../harness.ts';

const chromiumHere = haveChromium();
const DOCS = SCREENSHOT_DIR;

const NOW_US = Date.now() * 1000;
const T1 = 'a1a1a1a1a1a1a1a1b2b2b2b2b2b2b2b2';
const BIG = 'c3c3c3c3c3c3c3c3d4d4d4d4d4d4d4d4';
const BIG_SPANS = 20_000;
const id = (n: number) => n.toString(16).padStart(16, '0');

/** web → api (clock 2 s behind, fails) → db; and web → api again. */
const trace1 = [
  {
    traceId: T1,
    id: id(1),
    name: 'get /checkout',
    kind: 'SERVER',
    timestamp: NOW_US,
    duration: 20_000,
    localEndpoint: { serviceName: 'web', ipv4: '10.0.0.1' },
    tags: { 'http.path': '/checkout' },
  },
  {
    traceId: T1,
    id: id(2),
    parentId: id(1),
    name: 'get /cart',
    kind: 'CLIENT',
    timestamp: NOW_US + 1000,
    duration: 8000,
    localEndpoint: { serviceName: 'web', ipv4: '10.0.0.1' },
    remoteEndpoint: { serviceName: 'api', ipv4: '10.0.0.2', port: 8080 },
  },
  {
    traceId: T1,
    id: id(3),
    parentId: id(2),
    name: 'get /cart',
    kind: 'SERVER',
    timestamp: NOW_US + 1500 - 2_000_000,
    duration: 7000,
    localEndpoint: { serviceName: 'api', ipv4: '10.0.0.2', port: 8080 },
    tags: { 'http.status_code': '500', error: 'cart exploded' },
    annotations: [{ timestamp: NOW_US + 2000 - 2_000_000, value: 'retried' }],
  },
  {
    traceId: T1,
    id: id(4),
    parentId: id(3),
    name: 'select cart',
    kind: 'CLIENT',
    timestamp: NOW_US + 2000 - 2_000_000,
    duration: 3000,
    localEndpoint: { serviceName: 'api', ipv4: '10.0.0.2' },
    remoteEndpoint: { serviceName: 'db', ipv4: '10.0.0.9', port: 5432 },
  },
  {
    traceId: T1,
    id: id(5),
    parentId: id(1),
    name: 'post /pay',
    kind: 'CLIENT',
    timestamp: NOW_US + 10_000,
    duration: 9000,
    localEndpoint: { serviceName: 'web', ipv4: '10.0.0.1' },
    remoteEndpoint: { serviceName: 'api', ipv4: '10.0.0.2', port: 8080 },
  },
];

/** A root with 20,000 − 1 spans below it: 199 chains of 100 plus a tail, in the worker service. */
function bigTrace() {
  const spans = [];
  spans.push({
    traceId: BIG,
    id: id(1),
    name: 'batch',
    kind: 'SERVER',
    timestamp: NOW_US - 60_000_000,
    duration: 10_000_000,
    localEndpoint: { serviceName: 'worker' },
  });
  for (let n = 2; n <= BIG_SPANS; n++)
    spans.push({
      traceId: BIG,
      id: id(n),
      parentId: n % 100 === 2 ? id(1) : id(n - 1),
      name: `step ${n}`,
      timestamp: NOW_US - 60_000_000 + n * 400,
      duration: 300,
      localEndpoint: { serviceName: 'worker' },
    });
  return spans;
}

describe.skipIf(!chromiumHere)(
  `Traces pages in Chromium${chromiumHere ? '' : ` (skipped: no ${CHROMIUM})`}`,
  () => {
    let hub: TestHub;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      hub = await startTestHub();
      expect((await postJson(`${hub.url}api/v2/spans`, trace1)).status).toBe(202);
      const big = bigTrace();
      for (let i = 0; i < big.length; i += 2000)
        expect((await postJson(`${hub.url}api/v2/spans`, big.slice(i, i + 2000))).status).toBe(202);
      await eventually(async () => {
        const r = await fetch(`${hub.url}api/v2/trace/${T1}`);
        expect(r.status).toBe(200);
        expect(await r.json()).toHaveLength(5);
      });
      await eventually(async () => {
        const r = await fetch(`${hub.url}api/traces/${BIG}`);
        expect(r.status).toBe(200);
        expect(((await r.json()) as { spanCount: number }).spanCount).toBe(BIG_SPANS);
      }, 30_000);
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text());
      });
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await hub?.stop();
    });

    it('searches by service and opens the trace as a waterfall in tree order', async () => {
      await page.goto(`${hub.url}traces.html`);
      await page.locator('#service option[value="api"]').waitFor({ state: 'attached' });
      await page.selectOption('#service', 'api');
      await page.fill('#q', 'error');
      // The page lists recent traces on load; wait for that, then for the answer to this search.
      await page.locator('#results tr[data-trace-id]').first().waitFor();
      await page.click('#search button[type="submit"]');
      await page.locator('#meta', { hasText: '1 trace for (error) AND service=api' }).waitFor();
      const row = page.locator(`#results tr[data-trace-id="${T1}"]`);
      await row.waitFor();
      expect(await page.locator('#results tbody tr').count()).toBe(1);
      expect(await row.textContent()).toContain('web get /checkout');
      expect(await row.locator('.t-errors').textContent()).toBe('1');

      await row.click();
      await page.waitForURL(new RegExp(`\\?trace=${T1}$`));
      const rows = page.locator('#wf-spacer .wf-row');
      await rows.nth(4).waitFor();
      expect(await rows.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.spanId))).toEqual([
        id(1),
        id(2),
        id(3),
        id(4),
        id(5),
      ]);
      expect(await rows.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.depth))).toEqual([
        '0',
        '1',
        '2',
        '3',
        '1',
      ]);
      // The error span is marked; the critical path is root → post /pay (ends last).
      expect(
        await page
          .locator('.wf-row.error')
          .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.spanId)),
      ).toEqual([id(3)]);
      expect(
        await page
          .locator('.wf-row.critical')
          .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.spanId)),
      ).toEqual([id(1), id(5)]);
      expect(pageErrors).toEqual([]);
    });

    it('opens a span in the detail panel with tags, annotations, peer and skew', async () => {
      await page.locator(`.wf-row[data-span-id="${id(3)}"] .wf-name`).click();
      const detail = page.locator('#detail');
      await detail.locator('h3', { hasText: 'get /cart' }).waitFor();
      const text = (await detail.textContent()) ?? '';
      expect(text).toContain('cart exploded');
      expect(text).toContain('http.status_code');
      expect(text).toContain('retried');
      expect(text).toContain('clock skew');
      expect(text).toContain('start (raw)');
      await page.locator(`.wf-row[data-span-id="${id(4)}"] .wf-name`).click();
      await detail.locator('h3', { hasText: 'select cart' }).waitFor();
      expect(await detail.textContent()).toContain('db @ 10.0.0.9:5432');
      mkdirSync(DOCS, { recursive: true });
      await page.screenshot({ path: join(DOCS, 'waterfall.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    });

    it('collapses and expands a subtree', async () => {
      const rows = page.locator('#wf-spacer .wf-row');
      await page.locator(`.wf-row[data-span-id="${id(2)}"] .wf-toggle`).click();
      await eventually(async () => expect(await rows.count()).toBe(3));
      expect(await page.locator(`.wf-row[data-span-id="${id(2)}"]`).getAttribute('data-collapsed')).toBe(
        'true',
      );
      await page.locator(`.wf-row[data-span-id="${id(2)}"] .wf-toggle`).click();
      await eventually(async () => expect(await rows.count()).toBe(5));
    });

    it('keeps a 20,000-span trace virtualised and scrolls to its last span', async () => {
      await page.goto(`${hub.url}traces.html?trace=${BIG}`);
      const scroll = page.locator(`#wf-scroll[data-visible-rows="${BIG_SPANS}"]`);
      await scroll.waitFor({ timeout: 30_000 });
      await page.locator('#wf-spacer .wf-row').first().waitFor();
      const count = await page.locator('#wf-spacer .wf-row').count();
      expect(count).toBeGreaterThan(10);
      expect(count).toBeLessThan(200);
      expect(await page.locator('.wf-row').first().getAttribute('data-span-id')).toBe(id(1));
      await page.locator('#wf-scroll').evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      // Tree order: the last chain (n = 19902…20000) ends with span 20000.
      await page.locator(`.wf-row[data-span-id="${id(BIG_SPANS)}"]`).waitFor();
      expect(await page.locator('#wf-spacer .wf-row').count()).toBeLessThan(200);
      expect(pageErrors).toEqual([]);
    });

    it('draws the service map with call counts on the edges', async () => {
      await eventually(async () => {
        const r = await fetch(`${hub.url}api/v2/dependencies?endTs=${Date.now()}&lookback=3600000`);
        expect((await r.json()) as unknown[]).toHaveLength(2);
      }, 30_000);
      await page.goto(`${hub.url}service-map.html`);
      await page.locator('#map .node').nth(2).waitFor();
      const services = await page
        .locator('#map .node')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-service')).sort());
      expect(services).toEqual(['api', 'db', 'web']);
      const webApi = page.locator('#map .edge[data-parent="web"][data-child="api"]');
      expect(await webApi.getAttribute('data-calls')).toBe('2');
      expect(await webApi.locator('text').textContent()).toMatch(/^2 calls · 1 err \(50 %\)/);
      const apiDb = page.locator('#map .edge[data-parent="api"][data-child="db"]');
      expect(await apiDb.locator('text').textContent()).toMatch(/^1 call · 0 err \(0 %\)/);
      await page.screenshot({ path: join(DOCS, 'service-map.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    });
  },
);
