/**
 * The Alerts and Silences pages in real Chromium against a real hub with a rule and a webhook:
 * a point over the threshold shows up firing, is acknowledged, then silenced from its row.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertingHub, startAlertingHub } from '../alerting-fixture.ts';
import {
  CHROMIUM,
  haveChromium,
  launchChromium,
  postJson,
  SCREENSHOT_DIR,
  type TestHub,
} from '../harness.ts';

const chromiumHere = haveChromium();

describe.skipIf(!chromiumHere)(`alerts pages${chromiumHere ? '' : ` (skipped: no ${CHROMIUM})`}`, () => {
  let hub: TestHub;
  let browser: Browser;
  let fixture: AlertingHub;

  beforeAll(async () => {
    fixture = await startAlertingHub();
    hub = fixture.hub;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await fixture?.stop();
  });

  it('shows the firing alert, acknowledges it, and silences it from its row with a preview', async () => {
    const put = await postJson(`${hub.url}api/put`, {
      metric: 'e2e.temp',
      timestamp: Date.now(),
      value: 72.5,
      tags: { room: 'a' },
    });
    expect(put.status).toBe(204);

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${hub.url}alerts.html`);
    // The page polls every 10 s; reloading gets there sooner once the rule has fired.
    const row = page.locator('#alerts tbody tr[data-state="firing"]', { hasText: 'HotRoom' });
    for (let i = 0; i < 30 && (await row.count()) === 0; i++) {
      await page.waitForTimeout(1000);
      if ((await row.count()) === 0) await page.reload();
    }
    await row.waitFor({ timeout: 5000 });
    expect(await row.locator('.badge').textContent()).toBe('firing');
    expect(await row.textContent()).toContain('room=a');
    expect(await row.textContent()).toContain('72.5');
    await expect.poll(() => page.locator('#updated').textContent()).toMatch(/updated/);
    expect(await page.locator('#alerts-empty').isHidden()).toBe(true);

    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.locator('.acked', { hasText: 'acknowledged by' }).waitFor();

    await row.locator('.rule-link').click();
    await page.locator('#history tbody tr', { hasText: 'firing' }).first().waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'alerts.png'), fullPage: true });

    await row.getByRole('link', { name: 'Silence…' }).click();
    await page.waitForURL(/\/silences\.html\?/);
    // The page's script fills the matchers from the URL after load: wait for it, not for the URL.
    await expect.poll(() => page.locator('#matchers').inputValue()).toContain('room="a"');
    const preview = page.locator('#preview li', { hasText: 'HotRoom' });
    await preview.waitFor();
    expect(await preview.textContent()).toContain('room=a');

    await page.fill('#comment', 'HotRoom: checking the air conditioning');
    await page.click('#create');
    await page.locator('#silences-ok', { hasText: 'created' }).waitFor();
    const silence = page.locator('#silences tbody tr[data-state="active"]', { hasText: 'room="a"' });
    await silence.waitFor();
    expect(await silence.textContent()).toContain('checking the air conditioning');
    await page.locator('#preview li', { hasText: 'already silenced' }).waitFor();

    await silence.getByRole('button', { name: 'Expire' }).click();
    await page.locator('#silences tbody tr[data-state="expired"]', { hasText: 'room="a"' }).waitFor();
    expect(errors).toEqual([]);
  }, 90_000);
});
