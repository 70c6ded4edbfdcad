/**
 * The log store on a real OpenSearch node at 127.0.0.1:9200 (`scripts/engines/opensearch.sh
 * start`): the LogStore contract, and a replay after a crash that must leave one copy of each
 * record although the engine keeps no checkpoint. Each run uses its own index prefix and deletes
 * its indices and template at the end.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../core/clock.ts';
import { silentLogger } from '../../core/logger.ts';
import type { LogRecord } from '../../core/model.ts';
import { createEmbeddedBus } from '../../pipeline/bus/embedded/embedded-bus.ts';
import { runLogStoreContract } from '../../pipeline/logs/contract.ts';
import { createExternalLogStore, type ExternalLogStore } from '../../pipeline/logs/external-log-store.ts';
import { createLogIngest } from '../../pipeline/logs/log-ingest.ts';
import { engineSkip, OPENSEARCH } from '../engines.ts';
import { tempDir } from '../harness.ts';

const NODE = OPENSEARCH;
const PREFIX = `obs-logs-it-${randomBytes(4).toString('hex')}`;

const skip = (await engineSkip('the OpenSearch log store tests', ['opensearch'])) !== undefined;

const open = (): ExternalLogStore =>
  createExternalLogStore({
    kind: 'opensearch',
    url: NODE,
    indexPrefix: PREFIX,
    refresh: 'wait_for',
    replicas: 0,
    clock: systemClock,
    logger: silentLogger,
  });

afterAll(async () => {
  if (skip) return;
  await fetch(`${NODE}/${PREFIX}-*?expand_wildcards=all`, { method: 'DELETE' });
  await fetch(`${NODE}/_index_template/${PREFIX}-logs`, { method: 'DELETE' });
});

describe.skipIf(skip)('OpenSearch', () => {
  runLogStoreContract('OpenSearch', async () => {
    let store = open();
    return {
      store,
      async reopen() {
        await store.close();
        store = open();
        return store;
      },
      cleanup: () => store.close(),
    };
  });

  it('stores each record once when a restarted hub writes a batch again', async () => {
    const tmp = await tempDir('obs-logs-os-');
    const source = `replay-${randomBytes(4).toString('hex')}`;
    const records: LogRecord[] = [1, 2, 3].map((n) => ({
      ts: Date.UTC(2026, 0, 2) + n,
      source,
      fields: { n },
    }));
    const run = async (crash: boolean) => {
      const bus = await createEmbeddedBus({ dir: `${tmp.dir}/bus`, pollMs: 20 });
      const real = open();
      let written = 0;
      const ingest = createLogIngest({
        bus,
        logger: silentLogger,
        store: {
          ...real,
          async write(batch, checkpoint) {
            await real.write(batch, checkpoint);
            written += batch.length;
            if (crash) throw new Error('killed after the engine stored, before the bus committed');
          },
        },
      });
      await ingest.start();
      if (crash) await ingest.publish(records);
      await vi.waitFor(() => expect(written).toBe(3), { timeout: 20_000, interval: 20 });
      await ingest.stop();
      await bus.close();
      await real.close();
    };
    await run(true);
    await run(false);
    const store = open();
    const range = { source, start: Date.UTC(2026, 0, 2), end: Date.UTC(2026, 0, 2) + 10, limit: 10 };
    expect(await store.search(range)).toEqual([records[2], records[1], records[0]]);
    await store.close();
    await tmp.cleanup();
  });

  it("limits a search to the caller's projects", async () => {
    const store = open();
    const source = `scoped-${randomBytes(4).toString('hex')}`;
    const ts = Date.UTC(2026, 0, 2, 5);
    const alpha: LogRecord = { ts, source, fields: { project: 'alpha' } };
    const beta: LogRecord = { ts: ts + 1, source, fields: { project: 'beta' } };
    await store.write([alpha, beta]);
    const q = { source, start: ts, end: ts + 10, limit: 10 };
    expect(await store.search({ ...q, projects: ['alpha'] })).toEqual([alpha]);
    expect(await store.search({ ...q, projects: [] })).toEqual([]);
    await store.close();
  });
});
