/**
 * `kill -9` of a real hub process right after 2xx answers: after a restart every acknowledged
 * point is stored, and stored once (counted in the DuckDB file itself, not through the query
 * API, which would hide duplicates).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckPoints } from '../pipeline/store/embedded/duck-points.ts';
import { eventually, exited, postJson, spawnHub, tempDir } from './harness.ts';

const T0 = Date.now() - 3_600_000;

describe('kill -9 of the hub', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterAll(async () => cleanup?.());

  it('loses no acknowledged point and writes none twice', async () => {
    const tmp = await tempDir('obs-crash-');
    cleanup = tmp.cleanup;
    const first = await spawnHub(tmp.dir);
    const acked: number[] = [];
    let stop = false;
    // Four writers, each sending batches of 200 points with distinct timestamps.
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let b = 0; !stop; b++) {
        const batch = Array.from({ length: 200 }, (_, i) => ({
          metric: 'crash.test',
          timestamp: T0 + (w * 1_000_000 + b * 200 + i),
          value: i,
          tags: { writer: String(w) },
        }));
        try {
          const r = await postJson(`${first.url}api/put`, batch);
          if (r.status === 204) acked.push(...batch.map((p) => p.timestamp));
        } catch {
          return; // the hub died under this request: not acknowledged
        }
      }
    });
    await eventually(async () => expect(acked.length).toBeGreaterThan(5_000), 30_000);
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await exited(first.child);

    const second = await spawnHub(tmp.dir);
    const wanted = new Set(acked);
    await eventually(async () => {
      const r = await postJson(`${second.url}api/query`, {
        start: T0,
        end: T0 + 10_000_000,
        msResolution: true,
        queries: [{ metric: 'crash.test', aggregator: 'sum', downsample: '0all-count' }],
      });
      expect((r.body as any[])[0].dps[String(T0)]).toBeGreaterThanOrEqual(wanted.size);
    }, 30_000);
    second.child.kill('SIGTERM');
    await exited(second.child);

    const duck = await DuckPoints.open(join(tmp.dir, 'metrics', 'metrics.duckdb'));
    const ids = (await duck.loadSeries()).filter((s) => s.metric === 'crash.test').map((s) => s.id);
    expect(ids).toHaveLength(4);
    const stored = await duck.readRaw(ids, T0, T0 + 10_000_000);
    await duck.close();
    const seen = new Map<number, number>();
    for (const ts of stored.ts) seen.set(ts, (seen.get(ts) ?? 0) + 1);
    const missing = acked.filter((ts) => !seen.has(ts));
    const twice = [...seen.values()].filter((n) => n > 1).length;
    expect(missing).toEqual([]);
    expect(twice).toBe(0);
    expect(acked.length).toBeGreaterThan(5_000);
  }, 120_000);
});
