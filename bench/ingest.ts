/**
 * `npm run bench:ingest`: the same container-metrics load into the hub and into VictoriaMetrics,
 * each a child process in a fresh temp dir, one at a time:
 *
 *   1. OpenTSDB `POST /api/put`, batches of 1,000 points over 4 keep-alive connections: points/s
 *      until the last batch is acknowledged (and, for the hub, until every point is in the
 *      store), with the CPU the server process used.
 *   2. Bytes on disk per point once ingest is over.
 *   3. A 1-hour `sum by app` range query over `container.cpu.usage`, repeated: median latency.
 *   4. The same load as telnet `put` lines over 4 TCP connections, into a fresh instance:
 *      points/s until the server counted every point as accepted.
 *
 * Phases run interleaved (hub put, VM put, hub telnet, VM telnet), each after waiting for the
 * machine's other processes to go quiet (it is shared).
 *
 * Options: --hours N (default 4), --only hub|vm, --skip-put, --skip-telnet, --skip-query, --seed N,
 * --query-runs N (default 20), --query-warmup N (untimed queries first, default 20),
 * --profile-hub DIR (run the hub under `node --cpu-prof` and print its top self-time functions),
 * --hub-dir DIR (the checkout to run the hub from), --quiet-wait S, --runs N (repeat, report
 * medians).
 * Progress goes to stderr; the table to stdout, the ratio of the hub's `/api/put` rate to
 * VictoriaMetrics' last; the figures also to bench/results/ingest-<date>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { diskAfterIngest, storeAfterStop } from './ingest/disk.ts';
import { measureGenerator, newLoad } from './ingest/generator.ts';
import { destroyAgents } from './ingest/http-client.ts';
import { assertAlive, type Instance, killAllNow, removeInstance, startSystem } from './ingest/instances.ts';
import { fail, log } from './ingest/log.ts';
import { fixed, machineCpu, selfCpu, si, sleep } from './ingest/measure.ts';
import {
  BATCH,
  CONNECTIONS,
  HOURS,
  LABEL,
  PROFILE_DIR,
  QUIET_CORES,
  QUIET_WAIT_S,
  RUNS,
  SKIP_PUT,
  SKIP_QUERY,
  SKIP_TELNET,
  SYSTEMS,
  type SystemName,
} from './ingest/options.ts';
import { hubProfile } from './ingest/profile.ts';
import { httpIngest } from './ingest/put.ts';
import { queryBench } from './ingest/query.ts';
import {
  buildReport,
  mediansOf,
  printTable,
  type Results,
  type SystemResult,
  writeReport,
} from './ingest/report.ts';
import { telnetIngest } from './ingest/telnet.ts';

/** Runs one phase of one system, recording its failure instead of ending the run. */
async function record(out: SystemResult, system: SystemName, phase: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (e) {
    const msg = `${phase}: ${(e as Error).message}`;
    out.errors.push(msg);
    log(`${LABEL[system]} ${msg}`);
  }
}

async function profileOf(out: SystemResult, inst: Instance, phase: string): Promise<void> {
  const p = await hubProfile(inst, phase).catch(() => undefined);
  if (!p) return;
  out.profiles = out.profiles ?? [];
  out.profiles.push(p);
}

/** /api/put into a fresh instance, then its bytes on disk, then the query. */
async function putPhase(system: SystemName, out: SystemResult): Promise<void> {
  await record(out, system, '/api/put', async () => {
    await waitForQuiet();
    const inst = await startSystem(system, 'put');
    log(`${LABEL[system]} started (pid ${inst.pid}, data in ${inst.dir})`);
    try {
      out.put = await httpIngest(inst);
      assertAlive(inst);
      out.disk = await diskAfterIngest(inst, out.put.points);
      log(
        `${LABEL[system]} disk: ${fixed(out.disk.all.perPoint)} bytes/point (whole data dir)` +
          (out.disk.store
            ? `, ${fixed(out.disk.store.perPoint)} bytes/point (store file + wal` +
              (out.disk.store.open > 0 ? `; ${out.disk.store.open} points not sealed yet, left out` : '') +
              ')'
            : ''),
      );
      if (!SKIP_QUERY)
        await record(out, system, 'query', async () => {
          out.query = await queryBench(inst);
        });
    } finally {
      await inst.stop();
      if (out.disk?.store && out.put) out.disk.storeStopped = await storeAfterStop(inst, out.put.points);
      await removeInstance(inst);
      await profileOf(out, inst, SKIP_QUERY ? '/api/put' : '/api/put, then the query');
    }
  });
}

/** Telnet `put` lines into a fresh instance. */
async function telnetPhase(system: SystemName, out: SystemResult): Promise<void> {
  await record(out, system, 'telnet', async () => {
    await waitForQuiet();
    const inst = await startSystem(system, 'telnet');
    log(`${LABEL[system]} started (pid ${inst.pid}, data in ${inst.dir})`);
    try {
      out.telnet = await telnetIngest(inst);
    } finally {
      await removeInstance(inst);
      await profileOf(out, inst, 'telnet');
    }
  });
}

/**
 * This machine is shared: before a phase, waits (up to --quiet-wait seconds) until the other
 * processes use less than QUIET_CORES over 3 s, so both systems start from a similar machine.
 */
async function waitForQuiet(): Promise<void> {
  const deadline = Date.now() + QUIET_WAIT_S * 1000;
  for (let i = 0; ; i++) {
    const a = { machine: await machineCpu(), self: selfCpu(), at: performance.now() };
    await sleep(3_000);
    const seconds = (performance.now() - a.at) / 1000;
    const others = ((await machineCpu()) - a.machine - (selfCpu() - a.self)) / seconds;
    if (others < QUIET_CORES) return;
    if (Date.now() >= deadline) {
      log(`other processes still use ${others.toFixed(2)} cores; going on`);
      return;
    }
    if (i % 5 === 0) log(`other processes use ${others.toFixed(2)} cores; waiting for a quieter machine`);
  }
}

/** Every phase of every system, --runs times. */
async function runAll(): Promise<Results[]> {
  // Interleaved (hub, vm, hub, vm), so that a change in the machine's other load hits both.
  const runs: Results[] = [];
  for (let run = 0; run < RUNS; run++) {
    if (RUNS > 1) log(`run ${run + 1} of ${RUNS}`);
    const results: Results = {};
    runs.push(results);
    for (const s of SYSTEMS) results[s] = { errors: [] };
    if (!SKIP_PUT) for (const s of SYSTEMS) await putPhase(s, results[s]!);
    if (!SKIP_TELNET) for (const s of SYSTEMS) await telnetPhase(s, results[s]!);
  }
  return runs;
}

async function main(): Promise<void> {
  if (SYSTEMS.includes('vm')) {
    try {
      execFileSync('victoria-metrics', ['-version'], { stdio: 'ignore' });
    } catch {
      fail('victoria-metrics is not installed: apt-get install -y victoria-metrics (or run with --only hub)');
    }
  }
  if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
  const startedAt = new Date();
  const loadBefore = loadavg();
  const probe = newLoad('json');
  log(
    `load: ${probe.series} series, ${probe.steps} steps of 10 s (${HOURS} h ending now), ${si(probe.totalPoints)} points, ` +
      `batches of ${BATCH} over ${CONNECTIONS} connections; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`,
  );
  const generator = { json: measureGenerator('json'), telnet: measureGenerator('telnet') };
  log(
    `generator alone: ${si(generator.json.pointsPerSec)} points/s as JSON (${si(generator.json.bytes / generator.json.seconds)}B/s), ` +
      `${si(generator.telnet.pointsPerSec)} points/s as telnet lines`,
  );

  const runs = await runAll();
  destroyAgents();
  const results = mediansOf(runs, SYSTEMS);
  const report = buildReport({ startedAt, loadBefore, probe, generator, runs, results });
  await writeReport(report, startedAt);

  printTable(report, results);
}

main().then(
  () => {
    killAllNow();
    process.exit(0);
  },
  (e: unknown) => {
    log(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    killAllNow();
    process.exit(1);
  },
);
