/**
 * End to end, as `npm start` runs it: the real hub with its local agent, the Overview page in
 * real Chromium showing this machine's CPU, memory and network, then moving with pushed points.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, haveChromium, launchChromium, startTestHub, type TestHub } from '../harness.ts';

const chromiumHere = haveChromium();

describe.skipIf(!chromiumHere)(
  `the hub's live page${chromiumHere ? '' : ` (skipped: no ${CHROMIUM})`}`,
  () => {
    let hub: TestHub;
    let browser: Browser;

    beforeAll(async () => {
      hub = await startTestHub({ agent: { enabled: true, interval: 500, tags: { host: 'e2e-host' } } });
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await hub?.stop();
    });

    it('shows the machine live: history first, then pushed points', async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(hub.url);
      await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
      await page.locator('#cpu-card[data-empty="false"]').waitFor({ timeout: 15_000 });
      await page.locator('#mem-card[data-empty="false"]').waitFor({ timeout: 15_000 });
      expect(await page.locator('#host-name').textContent()).toBe('e2e-host');
      const cpu = Number(await page.locator('#cpu-value').textContent());
      expect(cpu).toBeGreaterThanOrEqual(0);
      expect(cpu).toBeLessThanOrEqual(100);
      const line = page.locator('path.line[data-series="cpu"]');
      const before = Number(await line.getAttribute('data-points'));
      // The agent samples every 500 ms and the hub pushes every 2 s: the line grows without a reload.
      await page.waitForFunction(
        (n) =>
          Number(document.querySelector('path.line[data-series="cpu"]')?.getAttribute('data-points')) > n + 2,
        before,
        { timeout: 15_000 },
      );
      expect(errors).toEqual([]);
    }, 60_000);
  },
);
