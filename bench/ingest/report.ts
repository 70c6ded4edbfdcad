/**
 * What a run reports: the figures of each system (medians over the runs), the results file in
 * bench/results/, and the table on stdout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Load } from '../load.ts';
import { median } from '../stats.ts';
import type { DiskResult } from './disk.ts';
import type { GeneratorResult } from './generator.ts';
import { log } from './log.ts';
import { fixed, si } from './measure.ts';
import { BATCH, CONNECTIONS, HOURS, HUB_DIR, ROOT, RUNS, SEED, type SystemName } from './options.ts';
import type { ProfileTop } from './profile.ts';
import type { PutResult } from './put.ts';
import type { QueryResult } from './query.ts';
import type { TelnetResult } from './telnet.ts';

export type SystemResult = {
  put?: PutResult;
  disk?: DiskResult;
  query?: QueryResult;
  telnet?: TelnetResult;
  profiles?: ProfileTop[];
  errors: string[];
};

export type Results = Partial<Record<SystemName, SystemResult>>;

/** Each figure is the median over the runs; errors and profiles of every run are kept. */
export function mediansOf(runs: Results[], systems: SystemName[]): Results {
  const results: Results = {};
  for (const s of systems) {
    const all = runs.map((r) => r[s]!);
    results[s] = {
      ...(medianTree(all) as SystemResult),
      errors: all.flatMap((r, i) => r.errors.map((e) => (RUNS > 1 ? `run ${i + 1}: ${e}` : e))),
      profiles: all.flatMap((r) => r.profiles ?? []),
    };
  }
  return results;
}

/** The median of every number found at the same place in each object (runs missing it left out). */
function medianTree(xs: unknown[]): unknown {
  const present = xs.filter((x) => x !== undefined && x !== null);
  if (present.length === 0) return undefined;
  if (present.every((x) => typeof x === 'number')) return median(present as number[]);
  if (present.every((x) => typeof x === 'object' && !Array.isArray(x))) {
    const keys = new Set(present.flatMap((x) => Object.keys(x as object)));
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = medianTree(present.map((x) => (x as Record<string, unknown>)[k]));
    return out;
  }
  return present[0];
}

/** The results file's content; the machine's load average and the versions are read now. */
export function buildReport(run: {
  startedAt: Date;
  loadBefore: number[];
  probe: Load;
  generator: { json: GeneratorResult; telnet: GeneratorResult };
  runs: Results[];
  results: Results;
}) {
  const { startedAt, loadBefore, probe, generator, runs, results } = run;
  const loadAfter = loadavg();
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `npm run bench:ingest${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      loadBefore,
      loadAfter,
      node: process.version,
    },
    versions: { hub: hubVersion(), victoriaMetrics: versionOfVm() },
    load: {
      series: probe.series,
      steps: probe.steps,
      hours: HOURS,
      points: probe.totalPoints,
      batchSize: BATCH,
      connections: CONNECTIONS,
      seed: SEED,
    },
    generator,
    runs: RUNS,
    /** Medians over the runs (the same as the one run when --runs 1). */
    hub: results.hub,
    victoriaMetrics: results.vm,
    eachRun: RUNS > 1 ? runs.map((r) => ({ hub: r.hub, victoriaMetrics: r.vm })) : undefined,
  };
}

/** Writes the report to bench/results/ingest-<date>.json. */
export async function writeReport(report: object, startedAt: Date): Promise<void> {
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `ingest-${startedAt.toISOString().replace(/:/g, '-').replace(/\..*/, '')}.json`);
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
  log(`results written to ${file}`);
}

function versionOfVm(): string {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'victoria-metrics'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}
/** Which hub ran: the checkout, its commit and the files changed since. */
function hubVersion(): { dir: string; commit: string; changed: string[] } {
  const git = (...a: string[]) =>
    execFileSync('git', a, { cwd: HUB_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const changed = git('status', '--porcelain', '--untracked-files=no')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.slice(3));
    return { dir: HUB_DIR, commit: git('rev-parse', '--short', 'HEAD'), changed };
  } catch {
    const stamp = join(HUB_DIR, 'COMMIT');
    return {
      dir: HUB_DIR,
      commit: existsSync(stamp) ? `${readFileSyncUtf8(stamp)} (exported)` : 'unknown',
      changed: [],
    };
  }
}
function readFileSyncUtf8(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

// ---------------------------------------------------------------------------------------------
// The table

type Row = [string, string, string, string];
type Format = (x: number | undefined) => string;
/** Adds a row: the hub's figure, VictoriaMetrics', and (unless told not to) their ratio. */
type Add = (
  name: string,
  a: number | undefined,
  b: number | undefined,
  f: Format,
  withRatio?: boolean,
) => void;

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}x` : '';
const rate: Format = (x) => (x === undefined ? '—' : `${si(x)}`);
const ms: Format = (x) => (x === undefined ? '—' : `${x.toFixed(1)} ms`);
const cores: Format = (x) => fixed(x, 2);
const share: Format = (x) => (x === undefined || Number.isNaN(x) ? '—' : `${Math.round(x * 100)} %`);
const mib: Format = (x) => (x === undefined ? '—' : `${(x / 1048576).toFixed(0)} MiB`);
const secs: Format = (x) => (x === undefined ? '—' : `${x.toFixed(1)} s`);

function adder(rows: Row[]): Add {
  return (name, a, b, f, withRatio = true) => {
    rows.push([name, f(a), f(b), withRatio ? ratio(a, b) : '']);
  };
}

export function printTable(
  report: {
    load: { points: number };
    generator: { json: GeneratorResult; telnet: GeneratorResult };
    versions: { hub: { dir: string; commit: string; changed: string[] }; victoriaMetrics: string };
  },
  r: Results,
): void {
  const h = r.hub;
  const v = r.vm;
  const rows: Row[] = [['', 'hub', 'victoria-metrics', 'hub/vm']];
  putRows(rows, h, v);
  queryRows(rows, h, v);
  telnetRows(rows, h, v);

  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
  );
  const out: string[] = [];
  out.push('');
  out.push(
    `load: ${si(report.load.points)} points (3,000 series × 10 s × ${HOURS} h), batches of ${BATCH}, ${CONNECTIONS} connections; ` +
      `generator alone ${si(report.generator.json.pointsPerSec)} points/s (JSON), ${si(report.generator.telnet.pointsPerSec)} points/s (telnet)`,
  );
  const hv = report.versions.hub;
  if (RUNS > 1) out.push(`every figure is the median of ${RUNS} runs`);
  out.push(
    `hub ${hv.commit}${hv.changed.length > 0 ? ` + uncommitted changes to ${hv.changed.length} files` : ''} (${hv.dir}), ` +
      `victoria-metrics ${report.versions.victoriaMetrics}`,
  );
  out.push(...lines);
  for (const [name, res] of Object.entries(r))
    for (const e of res?.errors ?? []) out.push(`${name} failed: ${e}`);
  if (h?.telnet?.storedError) out.push(`hub telnet: not every point was stored: ${h.telnet.storedError}`);
  for (const p of h?.profiles ?? []) out.push(...profileLines(p));
  const last = ratio(h?.put?.ack.pointsPerSec, v?.put?.ack.pointsPerSec);
  out.push(`ratio hub/victoria-metrics /api/put points/s: ${last || 'n/a'}`);
  process.stdout.write(out.join('\n') + '\n');
}

function putRows(rows: Row[], h: SystemResult | undefined, v: SystemResult | undefined): void {
  const add = adder(rows);
  add('/api/put points/s (to last ack)', h?.put?.ack.pointsPerSec, v?.put?.ack.pointsPerSec, rate);
  add('/api/put points/s (to all stored)', h?.put?.stored?.pointsPerSec, v?.put?.ack.pointsPerSec, rate);
  add('/api/put seconds (to last ack)', h?.put?.ack.seconds, v?.put?.ack.seconds, secs, false);
  add('/api/put seconds (to all stored)', h?.put?.stored?.seconds, undefined, secs, false);
  add('/api/put server cores (to last ack)', h?.put?.ack.serverCores, v?.put?.ack.serverCores, cores);
  add('/api/put server cores (to all stored)', h?.put?.stored?.serverCores, undefined, cores, false);
  add('/api/put hub main thread busy (to last ack)', h?.put?.ack.serverMainBusy, undefined, share, false);
  add(
    '/api/put points per server CPU-second',
    h?.put?.stored?.pointsPerCpuSecond ?? h?.put?.ack.pointsPerCpuSecond,
    v?.put?.ack.pointsPerCpuSecond,
    rate,
  );
  add('/api/put bench client cores', h?.put?.ack.clientCores, v?.put?.ack.clientCores, cores, false);
  add('/api/put other processes cores', h?.put?.ack.otherCores, v?.put?.ack.otherCores, cores, false);
  add('/api/put server peak RSS', h?.put?.peakRssBytes, v?.put?.peakRssBytes, mib);
  add('disk bytes/point, store (duckdb+wal)', h?.disk?.store?.perPoint, v?.disk?.all.perPoint, (x) =>
    fixed(x, 2),
  );
  add('disk bytes/point, store after a stop', h?.disk?.storeStopped?.perPoint, v?.disk?.all.perPoint, (x) =>
    fixed(x, 2),
  );
  add('disk bytes/point, whole data dir', h?.disk?.all.perPoint, v?.disk?.all.perPoint, (x) => fixed(x, 2));
  add('disk, whole data dir', h?.disk?.all.allocated, v?.disk?.all.allocated, mib, false);
  add('disk, hub bus', h?.disk?.bus?.allocated, undefined, mib, false);
  add('disk, hub metrics.duckdb', h?.disk?.store?.duckdb, undefined, mib, false);
  add('disk, hub metrics.duckdb.wal', h?.disk?.store?.wal, undefined, mib, false);
}

function queryRows(rows: Row[], h: SystemResult | undefined, v: SystemResult | undefined): void {
  const add = adder(rows);
  add('query 1 h sum by app, median', h?.query?.medianMs, v?.query?.medianMs, ms);
  add('query min', h?.query?.minMs, v?.query?.minMs, ms, false);
  add('query p90', h?.query?.p90Ms, v?.query?.p90Ms, ms, false);
  add('query first run', h?.query?.firstMs, v?.query?.firstMs, ms, false);
  add(
    'query series / points',
    h?.query?.series,
    v?.query?.series,
    (x) => (x === undefined ? '—' : String(x)),
    false,
  );
  rows[rows.length - 1]![1] += h?.query ? ` / ${h.query.points}` : '';
  rows[rows.length - 1]![2] += v?.query ? ` / ${v.query.points}` : '';
}

function telnetRows(rows: Row[], h: SystemResult | undefined, v: SystemResult | undefined): void {
  const add = adder(rows);
  add(
    'telnet points/s (to all accepted)',
    h?.telnet?.accepted.pointsPerSec,
    v?.telnet?.accepted.pointsPerSec,
    rate,
  );
  add('telnet points/s (to all stored)', h?.telnet?.stored?.pointsPerSec, undefined, rate, false);
  if (h?.telnet?.storedError) rows[rows.length - 1]![1] = `never (${si(h.telnet.storedPoints)} stored)`;
  add('telnet seconds to write all lines', h?.telnet?.sentSeconds, v?.telnet?.sentSeconds, secs, false);
  add('telnet server cores', h?.telnet?.accepted.serverCores, v?.telnet?.accepted.serverCores, cores);
  add('telnet hub main thread busy', h?.telnet?.accepted.serverMainBusy, undefined, share, false);
  add(
    'telnet points per server CPU-second',
    h?.telnet?.accepted.pointsPerCpuSecond,
    v?.telnet?.accepted.pointsPerCpuSecond,
    rate,
  );
  add(
    'telnet bench client cores',
    h?.telnet?.accepted.clientCores,
    v?.telnet?.accepted.clientCores,
    cores,
    false,
  );
  add(
    'telnet other processes cores',
    h?.telnet?.accepted.otherCores,
    v?.telnet?.accepted.otherCores,
    cores,
    false,
  );
  add('telnet server peak RSS', h?.telnet?.peakRssBytes, v?.telnet?.peakRssBytes, mib);
}

function profileLines(p: ProfileTop): string[] {
  const out = [
    '',
    `hub CPU profile, ${p.phase}: main thread busy ${(p.busyMs / 1000).toFixed(1)} s of ` +
      `${(p.sampledMs / 1000).toFixed(1)} s sampled; top self time (share of busy):`,
  ];
  for (const t of p.top)
    out.push(
      `  ${(100 * t.shareOfBusy).toFixed(1).padStart(5)} %  ${t.selfMs.toFixed(0).padStart(6)} ms  ${t.fn}  ${t.where}`,
    );
  out.push(`  (${p.file})`);
  return out;
}
