/**
 * Takes a screenshot of a page that is already being served, in headless Chromium.
 *
 *   npx tsx scripts/screenshot.ts <url> <output.png> [--wait-for <css selector>] [--width 1280]
 *     [--height 900] [--settle 1500] [--chromium /usr/bin/chromium]
 *
 * It starts no server: point it at `npm start` or `test/ui/demo-server.ts`.
 */
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'wait-for': { type: 'string' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '900' },
    settle: { type: 'string', default: '1500' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const [url, output] = positionals;
if (!url || !output) {
  process.stderr.write(
    'usage: screenshot.ts <url> <output.png> [--wait-for <selector>] [--width N] [--height N]\n',
  );
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: values.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({
    viewport: { width: Number(values.width), height: Number(values.height) },
    deviceScaleFactor: 1,
  });
  await page.goto(url, { waitUntil: 'load' });
  if (values['wait-for']) await page.locator(values['wait-for']).first().waitFor({ timeout: 30_000 });
  await page.waitForTimeout(Number(values.settle));
  await page.screenshot({ path: output, fullPage: true });
  process.stdout.write(`${output}\n`);
} finally {
  await browser.close();
}
