/** Logging in through the page in real Chromium, against a real hub with a user. */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identitiesPath } from '../../bin/hub.ts';
import { systemClock } from '../../core/clock.ts';
import { openIdentityStore } from '../../ui/auth/identity-store.ts';
import { CHROMIUM, haveChromium, launchChromium, startTestHub, type TestHub, tempDir } from '../harness.ts';

const chromiumHere = haveChromium();

describe.skipIf(!chromiumHere)(`login page${chromiumHere ? '' : ` (skipped: no ${CHROMIUM})`}`, () => {
  let hub: TestHub;
  let browser: Browser;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const tmp = await tempDir('obs-login-');
    cleanup = tmp.cleanup;
    const ids = await openIdentityStore({ path: identitiesPath(tmp.dir), clock: systemClock });
    await ids.addUser({ name: 'ops', password: 'ops-password', admin: true });
    hub = await startTestHub({ dataDir: tmp.dir });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    await cleanup?.();
  });

  it('sends a logged-out visitor to the login page, then back to the overview; the audit page shows the login', async () => {
    const page = await browser.newPage();
    await page.goto(hub.url);
    await page.waitForURL(/\/login\.html\?next=/);
    await page.fill('#user-name', 'ops');
    await page.fill('#password', 'wrong-password');
    await page.click('button[type=submit]');
    await page.locator('#login-error').waitFor();
    expect(await page.locator('#login-error').textContent()).toMatch(/Wrong user name or password/);
    await page.fill('#password', 'ops-password');
    await page.click('button[type=submit]');
    await page.waitForURL(hub.url);
    await page.locator('.user-name', { hasText: 'ops' }).waitFor();
    await page.goto(`${hub.url}audit.html`);
    await page.locator('#audit tbody tr').first().waitFor();
    const rows = await page.locator('#audit tbody tr').allTextContents();
    expect(rows.some((r) => r.includes('login.failed'))).toBe(true);
    expect(rows[0]).toContain('login');
  }, 60_000);
});
