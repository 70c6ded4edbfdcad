import { appendFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MetricPoint } from '../core/model.ts';
import { tempDir } from '../test/harness.ts';
import { openSpool } from './spool.ts';

const batch = (i: number, n = 3): MetricPoint[] =>
  Array.from({ length: n }, (_, k) => ({ metric: 'm', tags: { b: String(i) }, ts: 1_000 * i + k, value: k }));

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

async function dir() {
  const t = await tempDir('obs-spool-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function drainAll(spool: Awaited<ReturnType<typeof openSpool>>): Promise<MetricPoint[][]> {
  const out: MetricPoint[][] = [];
  for (let b = await spool.peek(); b !== undefined; b = await spool.peek()) {
    out.push(b);
    await spool.ack();
  }
  return out;
}

describe('spool', () => {
  it('gives batches back in order across segments and a reopen', async () => {
    const d = await dir();
    let spool = await openSpool({ dir: d, maxBytes: 1_000_000, segmentBytes: 200 });
    for (let i = 0; i < 10; i++) await spool.append(batch(i));
    expect((await readdir(d)).filter((n) => n.endsWith('.spool')).length).toBeGreaterThan(2);
    expect(await spool.peek()).toEqual(batch(0));
    await spool.ack();
    await spool.ack();
    spool = await openSpool({ dir: d, maxBytes: 1_000_000, segmentBytes: 200 });
    expect(spool.stats().batches).toBe(8);
    expect(await drainAll(spool)).toEqual(Array.from({ length: 8 }, (_, i) => batch(i + 2)));
    expect(spool.stats()).toMatchObject({ batches: 0, bytes: 0 });
  });

  it('drops the oldest segment when full, and counts the points', async () => {
    const d = await dir();
    const spool = await openSpool({ dir: d, maxBytes: 1_000, segmentBytes: 250 });
    for (let i = 0; i < 30; i++) await spool.append(batch(i));
    const s = spool.stats();
    expect(s.bytes).toBeLessThanOrEqual(1_000);
    expect(s.droppedPoints).toBeGreaterThan(0);
    const left = await drainAll(spool);
    expect(left.length * 3 + s.droppedPoints).toBe(90);
    expect(left[left.length - 1]).toEqual(batch(29));
  });

  it('cuts a batch torn by a crash, and the next batch stays whole', async () => {
    const d = await dir();
    let spool = await openSpool({ dir: d, maxBytes: 100_000 });
    await spool.append(batch(1));
    const name = (await readdir(d)).find((n) => n.endsWith('.spool'))!;
    await appendFile(join(d, name), '[["m",{"b":"2"},20');
    spool = await openSpool({ dir: d, maxBytes: 100_000 });
    await spool.append(batch(3));
    expect(await drainAll(spool)).toEqual([batch(1), batch(3)]);
  });
});
