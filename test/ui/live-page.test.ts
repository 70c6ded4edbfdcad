/**
 * The Overview page in real Chromium: history from `/api/query`, then live points pushed over
 * socket.io, with no polling by the page.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { MetricPoint, PointColumns } from '../../core/model.ts';
import { columnsOf } from '../../pipeline/codec/point-columns.ts';
import { CHROMIUM, haveChromium, launchChromium } from '../harness.ts';
import { type PageServer, startPageServer } from './page-server.ts';

const chromiumHere = haveChromium();

const GiB = 1024 ** 3;
const HOST = 'hub-1';
const STEP = 10_000;
const HISTORY_POINTS = 54; // 9 minutes at one point per 10 s

/** Nine minutes of history for HOST, two interfaces, plus a second host the page must not mix in. */
function cannedHistory(now: number): MetricPoint[] {
  const points: MetricPoint[] = [];
  const t0 = Math.floor(now / STEP) * STEP - (HISTORY_POINTS - 1) * STEP;
  for (let i = 0; i < HISTORY_POINTS; i++) {
    const ts = t0 + i * STEP;
    const host = { host: HOST, dc: 'par1' };
    points.push(
      { metric: 'host.cpu.usage', tags: host, ts, value: 20 + 10 * Math.sin(i / 5) },
      { metric: 'host.cpu.cores', tags: host, ts, value: 8 },
      { metric: 'host.load.1m', tags: host, ts, value: 1.25 },
      { metric: 'host.mem.used', tags: host, ts, value: 6 * GiB + i * 0.01 * GiB },
      { metric: 'host.mem.total', tags: host, ts, value: 16 * GiB },
      { metric: 'host.net.rx_bytes', tags: { ...host, iface: 'eth0' }, ts, value: 1_000_000 },
      { metric: 'host.net.rx_bytes', tags: { ...host, iface: 'eth1' }, ts, value: 500_000 },
      { metric: 'host.net.tx_bytes', tags: { ...host, iface: 'eth0' }, ts, value: 200_000 },
      { metric: 'host.net.tx_bytes', tags: { ...host, iface: 'eth1' }, ts, value: 50_000 },
    );
  }
  return points;
}

describe.skipIf(!chromiumHere)(
  `Overview page in Chromium${chromiumHere ? '' : ` (skipped: no ${CHROMIUM})`}`,
  () => {
    const clock = new FakeClock(Date.now());
    const listeners = new Set<(batch: PointColumns) => void>();
    let history: MetricPoint[] = [];
    let server: PageServer;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    const feed = (points: MetricPoint[]) => {
      for (const l of listeners) l(columnsOf(points));
      clock.advance(2000); // the live push's interval
    };
    const queries = () => server.requests.filter((r) => r.startsWith('GET /api/query'));
    const text = async (selector: string) => (await page.locator(selector).textContent())?.trim();

    beforeAll(async () => {
      history = cannedHistory(Date.now());
      server = await startPageServer({
        history: () => history,
        subscribe: (l) => {
          listeners.add(l);
          return () => listeners.delete(l);
        },
        clock,
      });
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    const open = async (path = '/') => {
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text());
      });
      await page.clock.install();
      await page.goto(server.url + path);
    };

    it('draws the history from /api/query', async () => {
      await open();
      await page.locator('#connection[data-state="live"]').waitFor();
      await page.locator('#cpu-card[data-empty="false"]').waitFor();

      const asked = queries();
      expect(asked).toHaveLength(7);
      for (const q of asked) {
        const url = new URL(q.slice(4), 'http://x');
        expect(url.searchParams.get('start')).toBe('10m-ago');
        expect(url.searchParams.get('ms')).toBe('true');
        expect(url.searchParams.get('m')).toContain('{host=*');
      }

      const cpuLine = page.locator('path.line[data-series="cpu"]');
      expect(await cpuLine.getAttribute('data-points')).toBe(String(HISTORY_POINTS));
      expect((await cpuLine.getAttribute('d'))?.length).toBeGreaterThan(100);
      for (const series of ['used', 'total', 'rx', 'tx'])
        expect(await page.locator(`path.line[data-series="${series}"]`).getAttribute('data-points')).toBe(
          String(HISTORY_POINTS),
        );

      const lastCpu = 20 + 10 * Math.sin((HISTORY_POINTS - 1) / 5);
      expect(await text('#cpu-value')).toBe(lastCpu.toFixed(0));
      expect(await text('#cpu-caption')).toBe('busy · 8 cores · load 1.25');
      expect(await text('#mem-value')).toBe('6.53');
      expect(await text('#mem-unit')).toBe('GiB');
      expect(await text('#mem-caption')).toBe('used of 16.0 GiB · 41 %');
      expect(`${await text('#rx-value')} ${await text('#rx-unit')}`).toBe('1.50 MB/s');
      expect(`${await text('#tx-value')} ${await text('#tx-unit')}`).toBe('250 kB/s');
      expect(await text('#net-caption')).toBe('eth0 + eth1');
      expect(await text('#host-name')).toBe(HOST);
      expect(await page.locator('.empty').first().isVisible()).toBe(false);
      expect(await page.locator('.axis-x .tick').count()).toBeGreaterThan(3);
      expect(pageErrors).toEqual([]);
    });

    it('shows a pushed point without asking the server again', async () => {
      const before = server.requests.length;
      const ts = Date.now();
      const tags = { host: HOST, dc: 'par1' };
      feed([
        { metric: 'host.cpu.usage', tags, ts, value: 87 },
        { metric: 'host.mem.used', tags, ts, value: 12 * GiB },
        { metric: 'host.net.rx_bytes', tags: { ...tags, iface: 'eth0' }, ts, value: 40_000_000 },
        { metric: 'host.net.rx_bytes', tags: { ...tags, iface: 'eth1' }, ts, value: 2_000_000 },
        { metric: 'container.cpu.usage', tags: { ...tags, container: 'x' }, ts, value: 1 },
      ]);
      await page.locator('#cpu-value', { hasText: /^87$/ }).waitFor();
      expect(await page.locator('path.line[data-series="cpu"]').getAttribute('data-points')).toBe(
        String(HISTORY_POINTS + 1),
      );
      expect(await text('#mem-value')).toBe('12.0');
      expect(`${await text('#rx-value')} ${await text('#rx-unit')}`).toBe('42.0 MB/s');

      // Run the page's timers for half a minute: a polling page would ask the server now.
      await page.clock.runFor(30_000);
      expect(await page.locator('#connection').getAttribute('data-state')).toBe('live');
      expect(server.requests.slice(before)).toEqual([]);
      expect(pageErrors).toEqual([]);
    });

    it('says so while reconnecting, and fills the gap from /api/query when back', async () => {
      await page.evaluate(() => {
        const el = document.getElementById('connection')!;
        const seen: string[] = [];
        (window as unknown as { seenStates: string[] }).seenStates = seen;
        new MutationObserver(() => seen.push(el.dataset['state']!)).observe(el, { attributes: true });
      });
      const before = queries().length;
      server.io.disconnectSockets(true);
      await page.clock.runFor(6_000); // socket.io's reconnection delay is 1 to 5 s
      await page.locator('#connection[data-state="live"]').waitFor();
      expect(await page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates)).toContain(
        'reconnecting',
      );
      await expect.poll(() => queries().length).toBe(before + 7);
      const start = new URL(queries().at(-1)!.slice(4), 'http://x').searchParams.get('start');
      expect(Number(start)).toBeGreaterThan(Date.now() - 60_000);
      await page.close();
    });

    it('shows the empty state until the first point arrives', async () => {
      history = [];
      await open();
      await page.locator('#connection[data-state="live"]').waitFor();
      await expect.poll(() => queries().length).toBeGreaterThanOrEqual(7);
      const empty = page.locator('#cpu-card .empty');
      expect(await empty.isVisible()).toBe(true);
      expect(await text('#cpu-card .empty')).toBe('waiting for the first points…');
      expect(await text('#cpu-value')).toBe('–');
      expect(await text('#updated')).toBe('no data yet');

      feed([{ metric: 'host.cpu.usage', tags: { host: 'edge-7' }, ts: Date.now(), value: 3.25 }]);
      await page.locator('#cpu-card[data-empty="false"]').waitFor();
      expect(await text('#cpu-value')).toBe('3.3');
      expect(await text('#host-name')).toBe('edge-7');
      expect(await page.locator('#mem-card .empty').isVisible()).toBe(true);
      await page.close();
    });

    it('formats values in human units', async () => {
      await open();
      const cases: [string, number | null, string][] = [
        ['percentParts', 0, '0.0 %'],
        ['percentParts', 4.24, '4.2 %'],
        ['percentParts', 99.6, '100 %'],
        ['percentParts', null, '–'],
        ['bytesParts', 512, '512 B'],
        ['bytesParts', 1536, '1.50 KiB'],
        ['bytesParts', 6.5 * GiB, '6.50 GiB'],
        ['bytesParts', 16 * GiB, '16.0 GiB'],
        ['bytesParts', 2.5 * 1024 * GiB, '2.50 TiB'],
        ['rateParts', 0, '0 B/s'],
        ['rateParts', 999, '999 B/s'],
        ['rateParts', 1_500_000, '1.50 MB/s'],
        ['rateParts', 125_000_000, '125 MB/s'],
        ['rateParts', 2_000_000_000, '2.00 GB/s'],
        ['rateParts', Number.NaN, '–'],
      ];
      // A string, so that vitest's transform does not rewrite the dynamic import.
      const got = await page.evaluate(`import('/lib/format.js').then((f) =>
      ${JSON.stringify(cases)}.map(([fn, v]) => f.format(f[fn](v ?? (fn === 'rateParts' ? NaN : null)))))`);
      expect(got).toEqual(cases.map((c) => c[2]));
      await page.close();
    });

    it('reads OpenTSDB answers in seconds or ms and merges history with live points', async () => {
      await open();
      const got = await page.evaluate(`Promise.all([import('/lib/tsdb.js'), import('/lib/series-store.js')])
      .then(([tsdb, { createSeriesStore }]) => {
        const parsed = tsdb.parseQueryResponse([
          { metric: 'm', tags: { host: 'a' }, aggregateTags: [], dps: { 1700000010: 2, 1700000000: 1 } },
          { metric: 'm', tags: { host: 'b' }, aggregateTags: [], dps: { 1700000000000: 5, 1700000001000: null } },
        ]);
        const store = createSeriesStore(60000);
        store.add('n', { host: 'a', iface: 'eth0' }, 1000, 1);
        store.add('n', { host: 'a', iface: 'eth1' }, 1000, 2);
        store.add('n', { host: 'a', iface: 'eth0' }, 3000, 4);
        store.add('n', { host: 'a', iface: 'eth0' }, 2000, 3);
        store.add('n', { host: 'a', iface: 'eth0' }, 3000, 5);
        store.add('n', { host: 'z', iface: 'eth0' }, 1000, 100);
        return {
          url: tsdb.queryUrl({ metric: 'host.cpu.usage', aggregator: 'avg', tags: { host: '*' } }, '10m-ago'),
          parsed: parsed.map((s) => s.points),
          sum: store.sum('n', { host: 'a' }),
          ifaces: store.tagValuesWhere('n', 'iface', { host: 'a' }),
        };
      })`);
      expect(got).toEqual({
        url: '/api/query?start=10m-ago&ms=true&m=avg%3Ahost.cpu.usage%7Bhost%3D*%7D',
        parsed: [
          [
            [1_700_000_000_000, 1],
            [1_700_000_010_000, 2],
          ],
          [[1_700_000_000_000, 5]],
        ],
        sum: [
          [1000, 3],
          [2000, 3],
          [3000, 5],
        ],
        ifaces: ['eth0', 'eth1'],
      });
      await page.close();
    });
  },
);
