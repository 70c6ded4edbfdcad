/**
 * The Containers page in real Chromium against a real hub: container and nginx points written
 * through POST /api/put, apps → app → container, charts drawn from /api/query, then a new point
 * pushed live over socket.io (project room `project:shop`) without the page asking again.
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

const MiB = 1024 ** 2;
const STEP = 10_000;
const HISTORY = 30; // five minutes at one point per 10 s
const CONTAINERS = ['cart-1', 'cart-2'];
const VHOST = 'cart.shop.example';

type Put = { metric: string; timestamp: number; value: number; tags: Record<string, string> };

function containerPoints(container: string, ts: number, i: number): Put[] {
  const tags = { project: 'shop', app: 'cart', task: `${container}.task`, container, host: 'node-1' };
  const k = container === 'cart-1' ? 1 : 2;
  return [
    ['container.cpu.usage', 0.2 * k + 0.1 * Math.sin(i / 4)],
    ['container.cpu.limit', 1],
    ['container.cpu.throttled', 0.02 * k],
    ['container.mem.working_set', (150 + 2 * i) * k * MiB],
    ['container.mem.limit', 512 * MiB],
    ['container.net.rx_bytes', 40_000 * k],
    ['container.net.tx_bytes', 15_000 * k],
  ].map(([metric, value]) => ({ metric: metric as string, timestamp: ts, value: value as number, tags }));
}

function nginxPoints(ts: number, i: number): Put[] {
  const pair = { project: 'shop', vhost: VHOST, upstream: 'cart', host: 'node-1' };
  return [
    { metric: 'nginx.requests', timestamp: ts, value: 40 + (i % 5), tags: { ...pair, status_class: '2xx' } },
    { metric: 'nginx.requests', timestamp: ts, value: 1, tags: { ...pair, status_class: '5xx' } },
    { metric: 'nginx.status.5xx', timestamp: ts, value: 10, tags: pair },
    { metric: 'nginx.request_time.p50', timestamp: ts, value: 0.012, tags: pair },
    { metric: 'nginx.request_time.p90', timestamp: ts, value: 0.045, tags: pair },
    { metric: 'nginx.request_time.p99', timestamp: ts, value: 0.2, tags: pair },
  ];
}

describe.skipIf(!chromiumHere)(
  `Containers page in Chromium${chromiumHere ? '' : ` (skipped: no ${CHROMIUM})`}`,
  () => {
    let hub: TestHub;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];
    const requests: string[] = [];
    let t0 = 0;

    const put = async (points: Put[]) => {
      const r = await postJson(`${hub.url}api/put`, points);
      expect(r.status).toBe(204);
    };

    beforeAll(async () => {
      hub = await startTestHub();
      t0 = Math.floor(Date.now() / STEP) * STEP - (HISTORY - 1) * STEP;
      const points: Put[] = [];
      for (let i = 0; i < HISTORY; i++) {
        const ts = t0 + i * STEP;
        for (const c of CONTAINERS) points.push(...containerPoints(c, ts, i));
        points.push(...nginxPoints(ts, i));
      }
      await put(points);
      // The ingest stores asynchronously: wait until the newest point can be read back.
      await eventually(async () => {
        const res = await fetch(
          `${hub.url}api/query?start=10m-ago&ms=true&m=${encodeURIComponent('avg:nginx.request_time.p99{project=shop}')}`,
        );
        const body = (await res.json()) as { dps: Record<string, number> }[];
        expect(Object.keys(body[0]?.dps ?? {})).toHaveLength(HISTORY);
      });
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text());
      });
      page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await hub?.stop();
    });

    it('lists the apps with their current CPU and memory', async () => {
      await page.goto(`${hub.url}containers.html`);
      await page.locator('#connection[data-state="live"]').waitFor();
      const row = page.locator('#apps-table tr[data-app="cart"][data-project="shop"]');
      await row.locator('td.c-cpu', { hasText: 'cores' }).waitFor();
      expect(await row.locator('td.num').textContent()).toBe('2');
      // Both containers' latest values, summed: CPU 0.2 + 0.4 (± the sine), memory (208 + 416) MiB.
      expect(await row.locator('td.c-cpu').textContent()).toMatch(/of 2\.00 cores/);
      expect(await row.locator('td.c-mem').textContent()).toContain('624 MiB of 1.00 GiB');
      expect(requests.some((r) => r.startsWith('GET /api/search/lookup'))).toBe(true);
      expect(pageErrors).toEqual([]);
    });

    it('goes to the containers of the app, with small charts and nginx', async () => {
      await page.locator('#apps-table a', { hasText: 'cart' }).click();
      await page.waitForURL(/\?project=shop&app=cart$/);
      for (const c of CONTAINERS)
        await page.locator(`.c-card[data-container="${c}"] .c-chart[data-empty="false"]`).first().waitFor();
      expect(await page.locator('.c-card').count()).toBe(2);
      const cpuLine = page.locator('.c-card[data-container="cart-1"] path.line[data-series="usage"]');
      expect(await cpuLine.getAttribute('data-points')).toBe(String(HISTORY));
      await page.locator(`.c-nginx[data-vhost="${VHOST}"] .c-chart[data-empty="false"]`).first().waitFor();
      expect(pageErrors).toEqual([]);
    });

    it('shows one container: CPU vs limit, memory vs limit, network, throttling, nginx', async () => {
      await page.locator('.c-card-title a', { hasText: 'cart-2' }).click();
      await page.waitForURL(/\?project=shop&app=cart&container=cart-2$/);
      const charts = page.locator('#container-charts .c-chart');
      await page.locator('#container-charts .c-chart[data-empty="false"]').nth(3).waitFor();
      expect(await charts.count()).toBe(4);
      for (const series of ['usage', 'ws', 'rx', 'tx', 'throttled']) {
        const line = page.locator(`#container-charts path.line[data-series="${series}"]`).first();
        expect(await line.getAttribute('data-points')).toBe(String(HISTORY));
        expect((await line.getAttribute('d'))?.length).toBeGreaterThan(100);
      }
      expect(await page.locator('#container-charts path.line[data-series="limit"]').count()).toBe(2);
      expect(await page.locator('.c-chart[data-chart="Memory"] .c-now').textContent()).toBe(
        `${(2 * (150 + 2 * (HISTORY - 1))).toFixed(0)} MiB of 512 MiB · 81 %`,
      );
      expect(await page.locator('.c-chart[data-chart="CPU throttling"] .c-now').textContent()).toBe('4.0 %');

      const nginx = page.locator(`.c-nginx[data-vhost="${VHOST}"][data-upstream="cart"]`);
      await nginx.locator('.c-chart[data-empty="false"]').nth(2).waitFor();
      expect(await nginx.locator('path.line[data-series="p99"]').getAttribute('data-points')).toBe(
        String(HISTORY),
      );
      expect(await nginx.locator('.c-chart[data-chart="Latency"] .c-now').textContent()).toBe('p99 200 ms');
      expect(await nginx.locator('.c-chart[data-chart="Requests"] .c-now').textContent()).toMatch(/req\/s$/);
      expect(pageErrors).toEqual([]);
    });

    it('shows a newly put point live, without asking the server again', async () => {
      await page.locator('#connection[data-state="live"]').waitFor();
      const before = requests.length;
      const ts = t0 + HISTORY * STEP;
      await put([
        {
          metric: 'container.cpu.usage',
          timestamp: ts,
          value: 0.87,
          tags: { project: 'shop', app: 'cart', task: 'cart-2.task', container: 'cart-2', host: 'node-1' },
        },
        // Another project's point: not pushed to this page's room.
        {
          metric: 'container.cpu.usage',
          timestamp: ts,
          value: 0.5,
          tags: { project: 'blog', app: 'cart', container: 'cart-2', host: 'node-1' },
        },
      ]);
      const cpuNow = page.locator('.c-chart[data-chart="CPU"] .c-now');
      await cpuNow.filter({ hasText: /^0\.87 cores of 1\.00 cores/ }).waitFor({ timeout: 10_000 });
      expect(
        await page.locator('#container-charts path.line[data-series="usage"]').getAttribute('data-points'),
      ).toBe(String(HISTORY + 1));
      expect(requests.slice(before)).toEqual([]);

      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'containers.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    });
  },
);
