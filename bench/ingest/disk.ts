/** Phase 2: bytes on disk per point once ingest is over and the data dir has settled. */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { newAgent, request, scrape } from './http-client.ts';
import type { Instance } from './instances.ts';
import { log } from './log.ts';
import { diskUsage, fixed, sleep } from './measure.ts';
import { HUB_MAINTENANCE_MS } from './options.ts';

export type DiskResult = {
  settleSeconds: number;
  /** The whole data dir (hub: bus + store; VictoriaMetrics: -storageDataPath). */
  all: { apparent: number; allocated: number; perPoint: number };
  /**
   * Hub only: metrics.duckdb + metrics.duckdb.wal, per point sealed into it: the points the store
   * took (the load's and the hub's own self-monitoring) less the `open` ones, still gathering
   * into chunks and durable on the bus only. NaN when none is sealed yet (a short load).
   */
  store?: {
    apparent: number;
    allocated: number;
    perPoint: number;
    duckdb: number;
    wal: number;
    open: number;
  };
  /** Hub only: the store file once the hub stopped cleanly, which seals every open chunk. */
  storeStopped?: { allocated: number; perPoint: number };
  /** Hub only: the bus directory. */
  bus?: { apparent: number; allocated: number };
};

export async function diskAfterIngest(inst: Instance, points: number): Promise<DiskResult> {
  const t0 = performance.now();
  if (inst.system === 'vm') await vmFlush(inst, points);
  if (inst.system === 'hub') await hubMaintenance(inst);
  const usage = await settledUsage(inst.dir);
  const result: DiskResult = {
    settleSeconds: (performance.now() - t0) / 1000,
    all: { ...usage, perPoint: usage.allocated / points },
  };
  if (inst.system === 'hub') {
    result.store = await hubStoreUsage(inst);
    result.bus = await diskUsage(join(inst.dir, 'bus'));
  }
  return result;
}

async function vmFlush(inst: Instance, points: number): Promise<void> {
  // force_flush only starts the flush: 1.79 keeps recent rows in in-memory parts that reach
  // disk a few seconds later. Wait until the parts on disk (named rows_blocks_min_max_id) hold
  // every row, then for the size to settle.
  const agent = newAgent();
  const r = await request(agent, inst.apiPort, 'GET', '/internal/force_flush');
  if (r.status !== 200) throw new Error(`force_flush answered ${r.status}`);
  for (let i = 0; i < 240 && (await vmRowsOnDisk(inst.dir)) < points; i++) await sleep(500);
  agent.destroy();
}

async function hubMaintenance(inst: Instance): Promise<void> {
  // The hub's store rolls raw points up into 1 m and 1 h tables in its maintenance, every
  // 60 s from its start: measure after the first one that began once every point was stored,
  // as the store then stays (10 s allowed for the hub's start-up and the run itself).
  const up = performance.now() - inst.spawnedAt;
  const wait = (Math.floor(up / HUB_MAINTENANCE_MS) + 1) * HUB_MAINTENANCE_MS + 10_000 - up;
  log(`hub: waiting ${(wait / 1000).toFixed(0)} s for the store's next maintenance (roll-ups)`);
  await sleep(wait);
}

async function settledUsage(dir: string): Promise<{ apparent: number; allocated: number }> {
  // Let merges (VictoriaMetrics), roll-ups and checkpoints (DuckDB) settle: at least 6 s, then
  // until three readings 2 s apart agree, 60 s at most.
  let usage = await diskUsage(dir);
  let same = 0;
  for (let waited = 0; waited < 60_000; waited += 2_000) {
    await sleep(2_000);
    const next = await diskUsage(dir);
    same = next.allocated === usage.allocated ? same + 1 : 0;
    usage = next;
    if (waited >= 4_000 && same >= 2) break;
  }
  return usage;
}

/** The hub's store file and WAL, per point sealed into them. */
async function hubStoreUsage(inst: Instance): Promise<DiskResult['store']> {
  const duck = await diskUsage(join(inst.dir, 'metrics', 'metrics.duckdb'));
  const wal = existsSync(join(inst.dir, 'metrics', 'metrics.duckdb.wal'))
    ? await diskUsage(join(inst.dir, 'metrics', 'metrics.duckdb.wal'))
    : { apparent: 0, allocated: 0 };
  const allocated = duck.allocated + wal.allocated;
  const agent = newAgent();
  const open = await scrape(agent, inst.apiPort, 'obs_store_open_points');
  const sealed = (await scrape(agent, inst.apiPort, 'obs_points_stored_total')) - open;
  agent.destroy();
  return {
    apparent: duck.apparent + wal.apparent,
    allocated,
    perPoint: sealed > 0 ? allocated / sealed : Number.NaN,
    duckdb: duck.allocated,
    wal: wal.allocated,
    open,
  };
}

/** The hub's store file (and WAL) after a clean stop: every point is in it then. */
export async function storeAfterStop(
  inst: Instance,
  points: number,
): Promise<{ allocated: number; perPoint: number }> {
  let allocated = 0;
  for (const name of ['metrics.duckdb', 'metrics.duckdb.wal']) {
    const path = join(inst.dir, 'metrics', name);
    if (existsSync(path)) allocated += (await diskUsage(path)).allocated;
  }
  const perPoint = allocated / points;
  log(`hub store after a clean stop (every point sealed): ${fixed(perPoint)} bytes/point`);
  return { allocated, perPoint };
}

/** Rows in VictoriaMetrics' data parts on disk, from the part directory names. */
async function vmRowsOnDisk(dir: string): Promise<number> {
  let rows = 0;
  for (const kind of ['small', 'big']) {
    const base = join(dir, 'data', kind);
    const partitions = await readdir(base).catch(() => [] as string[]);
    for (const p of partitions) {
      const parts = await readdir(join(base, p)).catch(() => [] as string[]);
      for (const part of parts) {
        const m = /^(\d+)_\d+_/.exec(part);
        if (m) rows += Number(m[1]);
      }
    }
  }
  return rows;
}
