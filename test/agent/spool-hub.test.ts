import { afterAll, describe, expect, it } from 'vitest';
import { createShipper, httpSend } from '../../collector/shipper.ts';
import { openSpool } from '../../collector/spool.ts';
import { FakeClock } from '../../core/clock.ts';
import { silentLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/model.ts';
import { freePort, startTestHub, type TestHub, tempDir } from '../harness.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('agent spool against a real hub', () => {
  it('keeps every point while the hub is down and delivers them once, in order', async () => {
    const port = await freePort();
    const spoolDir = await tempDir('obs-agent-spool-');
    cleanups.push(spoolDir.cleanup);
    const clock = new FakeClock(Date.now());
    const spool = await openSpool({ dir: spoolDir.dir, maxBytes: 10_000_000 });
    const shipper = createShipper({
      send: httpSend({ hub: `http://127.0.0.1:${port}` }),
      spool,
      clock,
      logger: silentLogger,
    });
    const t0 = Date.now() - 60_000;
    const sent: number[] = [];
    const batchAt = (i: number): MetricPoint[] =>
      Array.from({ length: 50 }, (_, k) => {
        const ts = t0 + i * 50 + k;
        sent.push(ts);
        return { metric: 'agent.spooled', tags: { host: 'node-1' }, ts, value: i };
      });

    for (let i = 0; i < 40; i++) await shipper.ship(batchAt(i)); // the hub is down
    expect(shipper.stats()).toMatchObject({ spooledBatches: 40, sentBatches: 0, droppedPoints: 0 });

    const hub: TestHub = await startTestHub({ port });
    cleanups.push(() => hub.stop());
    const stored: number[] = [];
    hub.ingest.onStored((batch) => {
      for (let i = 0; i < batch.series.length; i++)
        if (batch.series[i]!.metric === 'agent.spooled') stored.push(batch.ts[i]!);
    });
    await shipper.drain();
    await shipper.ship(batchAt(40)); // after the backlog, a fresh batch goes straight through
    expect(shipper.stats()).toMatchObject({ spooledBatches: 0, sentBatches: 41 });
    for (let i = 0; i < 200 && stored.length < sent.length; i++) await new Promise((r) => setTimeout(r, 25));
    expect(stored).toEqual(sent);
    shipper.stop();
  });
});
