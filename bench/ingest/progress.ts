/** Following a count of points during a phase: progress lines, and waiting for the count to reach a total. */
import type http from 'node:http';
import type { Load } from '../load.ts';
import { scrape } from './http-client.ts';
import { assertAlive, type Instance, lastErrorLine } from './instances.ts';
import { log } from './log.ts';
import { type CpuMark, type CpuUse, cpuMark, cpuUse, type Rates, si, sleep, withRates } from './measure.ts';
import { LABEL, PROGRESS_MS, STALL_MS } from './options.ts';

/** The hub's count of points written to its store. */
export const STORED_SAMPLE = 'obs_points_stored_total';

/** Prints progress every couple of seconds until stopped. */
export function progress(
  label: string,
  total: number,
  count: () => number,
  extra?: () => Promise<string>,
): () => void {
  const t0 = performance.now();
  let lastAt = t0;
  let last = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const now = performance.now();
      const n = count();
      const more = extra ? await extra().catch((e) => ` (${(e as Error).message})`) : '';
      log(
        `${label}: ${si(n)} / ${si(total)} points (${((100 * n) / total).toFixed(0)} %), ` +
          `${si((n - last) / ((now - lastAt) / 1000))}/s now, ${si(n / ((now - t0) / 1000))}/s overall${more}`,
      );
      last = n;
      lastAt = now;
    } finally {
      busy = false;
    }
  }, PROGRESS_MS);
  return () => clearInterval(timer);
}

/** Waits until `read()` reaches `total`; fails when it stops moving for STALL_MS. */
export async function waitForCount(
  inst: Instance,
  read: () => Promise<number>,
  total: number,
  everyMs: number,
) {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    assertAlive(inst);
    const n = await read();
    if (n >= total) return n;
    if (n !== last) {
      last = n;
      movedAt = Date.now();
    } else {
      // Stalled: give up after STALL_MS, or after 15 s when the server is logging errors.
      const stalled = Date.now() - movedAt;
      const error = lastErrorLine(inst);
      if (stalled > STALL_MS || (error && stalled > 15_000))
        throw new Error(
          `${LABEL[inst.system]} stopped at ${n} of ${total} points for ${(stalled / 1000).toFixed(0)} s` +
            (error ? `; its last error: ${error}` : ''),
        );
    }
    await sleep(everyMs);
  }
}

/** Hub only: waits until its store holds every point; the CPU used from `start` until then. */
export async function waitForStored(
  inst: Instance,
  load: Load,
  label: string,
  metricsAgent: http.Agent,
  start: CpuMark,
): Promise<CpuUse & Rates> {
  let storedNow = 0;
  const stop = progress(`${label} (store)`, load.totalPoints, () => storedNow);
  try {
    await waitForCount(
      inst,
      async () => {
        storedNow = await scrape(metricsAgent, inst.apiPort, STORED_SAMPLE);
        return storedNow;
      },
      load.totalPoints,
      100,
    );
  } finally {
    stop();
  }
  const storedUse = cpuUse(start, await cpuMark(inst.pid));
  const stored = withRates(storedUse, load.emitted);
  log(
    `${label}: every point stored after ${storedUse.seconds.toFixed(1)} s: ${si(stored.pointsPerSec)} points/s`,
  );
  return stored;
}
