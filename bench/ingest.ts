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
 * Options: --hours N (default 4), --only hub|vm, --skip-telnet, --skip-query, --seed N,
 * --query-runs N (default 20), --query-warmup N (untimed queries first, default 20),
 * --profile-hub DIR (run the hub under `node --cpu-prof` and print its top self-time functions),
 * --hub-dir DIR (the checkout to run the hub from), --quiet-wait S, --runs N (repeat, report
 * medians).
 * Progress goes to stderr; the table to stdout, the ratio of the hub's `/api/put` rate to
 * VictoriaMetrics' last; the figures also to bench/results/ingest-<date>.json.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnHub } from '../test/hub-process.ts';
import { type Batch, Load, type LoadFormat } from './load.ts';
import { CLK_TCK, freePort } from './os.ts';

const ROOT = join(import.meta.dirname, '..');
const BATCH = 1_000;
const CONNECTIONS = 4;
const PROGRESS_MS = 2_000;
/** A phase fails when its counter has not moved for this long. */
const STALL_MS = 60_000;
const QUERY_METRIC = 'container.cpu.usage';
/** The hub store's default maintenance interval (store.maintenanceInterval). */
const HUB_MAINTENANCE_MS = 60_000;
const EXPECTED_GROUPS = 30;

type SystemName = 'hub' | 'vm';
const LABEL: Record<SystemName, string> = { hub: 'hub', vm: 'victoria-metrics' };

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    hours: { type: 'string', default: '4' },
    only: { type: 'string' },
    'skip-telnet': { type: 'boolean', default: false },
    'skip-query': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    'query-runs': { type: 'string', default: '20' },
    'query-warmup': { type: 'string', default: '20' },
    'profile-hub': { type: 'string' },
    'hub-dir': { type: 'string' },
    'quiet-wait': { type: 'string', default: '90' },
    runs: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(
    'usage: npm run bench:ingest -- [--hours N] [--only hub|vm] [--skip-telnet] [--skip-query]\n' +
      '                              [--seed N] [--query-runs N] [--query-warmup N] [--profile-hub DIR]\n' +
      '                              [--hub-dir DIR] [--quiet-wait S] [--runs N]\n' +
      '  --quiet-wait S: before each phase wait up to S s (default 90) for other processes to go quiet\n' +
      '  --runs N: repeat every phase N times (interleaved) and report the median of each figure\n' +
      '  --hub-dir DIR: run the hub from another checkout (default: this one), e.g. a `git archive` of HEAD\n',
  );
  process.exit(0);
}
const HOURS = Number(args.hours);
const SEED = Number(args.seed);
const QUERY_RUNS = Number(args['query-runs']);
const QUERY_WARMUP = Number(args['query-warmup']);
if (!(HOURS > 0) || !Number.isFinite(HOURS)) fail(`--hours must be a positive number, not ${args.hours}`);
if (!Number.isInteger(SEED)) fail(`--seed must be an integer, not ${args.seed}`);
if (!(QUERY_RUNS >= 1)) fail(`--query-runs must be at least 1, not ${args['query-runs']}`);
if (!(QUERY_WARMUP >= 0)) fail(`--query-warmup must be 0 or more, not ${args['query-warmup']}`);
if (args.only !== undefined && args.only !== 'hub' && args.only !== 'vm')
  fail(`--only must be hub or vm, not ${args.only}`);
const SYSTEMS: SystemName[] = args.only ? [args.only as SystemName] : ['hub', 'vm'];
const PROFILE_DIR = args['profile-hub'];
const HUB_DIR = args['hub-dir'] ?? ROOT;
const QUIET_WAIT_S = Number(args['quiet-wait']);
if (!(QUIET_WAIT_S >= 0)) fail(`--quiet-wait must be a number of seconds, not ${args['quiet-wait']}`);
const RUNS = Number(args.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) fail(`--runs must be a positive integer, not ${args.runs}`);
/** Cores the other processes may use for the machine to count as quiet. */
const QUIET_CORES = 0.3;
if (!existsSync(join(HUB_DIR, 'bin', 'obs.mjs'))) fail(`no bin/obs.mjs in ${HUB_DIR}`);

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (message: string) =>
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

function si(n: number | undefined, digits = 3): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(digits)} G`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(digits)} M`;
  if (a >= 1e3) return `${(n / 1e3).toPrecision(digits)} k`;
  return n.toPrecision(digits);
}
const fixed = (n: number | undefined, d = 2) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(d));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

/**
 * CPU seconds (user + system) a process has used so far: all its threads, or with `thread` only
 * that one (the main thread's id is the process id).
 */
async function processCpu(pid: number, thread?: number): Promise<number> {
  // A thread that is gone reads as NaN (printed as "—"); the process itself must be there.
  const stat =
    thread === undefined
      ? await readFile(`/proc/${pid}/stat`, 'utf8')
      : await readFile(`/proc/${pid}/task/${thread}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return Number.NaN;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3, utime field 14, stime field 15 (1-based, of the whole line).
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Busy CPU seconds of the whole machine so far (all cores). */
async function machineCpu(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK;
}

function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function peakRss(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU of the server, of this process and of everything else over an interval. */
type CpuMark = { at: number; server: number; serverMain: number; self: number; machine: number };
async function cpuMark(pid: number): Promise<CpuMark> {
  return {
    at: performance.now(),
    server: await processCpu(pid),
    serverMain: await processCpu(pid, pid),
    self: selfCpu(),
    machine: await machineCpu(),
  };
}
type CpuUse = {
  seconds: number;
  serverCores: number;
  /** The server's main thread: the share of the time it was busy (1 = all the time). */
  serverMainBusy: number;
  /** CPU seconds the server used in all. */
  serverCpuSeconds: number;
  clientCores: number;
  otherCores: number;
};
function cpuUse(a: CpuMark, b: CpuMark): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const server = b.server - a.server;
  const self = b.self - a.self;
  const machine = b.machine - a.machine;
  return {
    seconds,
    serverCores: server / seconds,
    serverMainBusy: (b.serverMain - a.serverMain) / seconds,
    serverCpuSeconds: server,
    clientCores: self / seconds,
    otherCores: Math.max(0, machine - server - self) / seconds,
  };
}

/** Bytes under a directory: as `du -sb` (apparent) and as `du -sB1` (allocated blocks). */
async function diskUsage(path: string): Promise<{ apparent: number; allocated: number }> {
  let apparent = 0;
  let allocated = 0;
  const visit = async (p: string) => {
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(p);
    } catch {
      return; // merged away meanwhile
    }
    apparent += Number(st.size);
    allocated += Number(st.blocks) * 512;
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = await readdir(p);
      } catch {
        return;
      }
      for (const n of names) await visit(join(p, n));
    }
  };
  await visit(path);
  return { apparent, allocated };
}

// ---------------------------------------------------------------------------------------------
// HTTP

const agents = new Set<http.Agent>();
function newAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  agents.add(agent);
  return agent;
}

type Reply = { status: number; body: Buffer };
function request(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  body?: Buffer | string,
  timeoutMs = 300_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = {};
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One sample of a Prometheus text exposition, e.g. `vm_rows_inserted_total{type="opentsdb"}`. */
async function scrape(agent: http.Agent, port: number, sample: string): Promise<number> {
  const r = await request(agent, port, 'GET', '/metrics', undefined, 30_000);
  if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}`);
  const [name, labels] = sample.includes('{') ? [sample.slice(0, sample.indexOf('{')), sample] : [sample, ''];
  const wanted = labels ? [...labels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => `${m[1]}="${m[2]}"`) : [];
  let total = 0;
  for (const line of r.body.toString('utf8').split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!wanted.every((w) => rest.includes(w))) continue;
    total += Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// The systems under test

type Instance = {
  system: SystemName;
  pid: number;
  dir: string;
  /** Port of `/api/put`. */
  putPort: number;
  telnetPort: number;
  /** Port of `/metrics` and the query API. */
  apiPort: number;
  child: ChildProcess;
  /** performance.now() when the process was spawned. */
  spawnedAt: number;
  output(): string;
  stop(): Promise<void>;
};

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function killAllNow(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(sig, () => {
    log(`${sig}: stopping the servers`);
    killAllNow();
    process.exit(130);
  });

/** Kills the child with the bench, and says so when it exits unasked. */
function watch(child: ChildProcess, name: string): void {
  live.add(child);
  child.on('exit', (code, signal) => {
    live.delete(child);
    if (!stopping.has(child)) log(`${name} (pid ${child.pid}) exited unexpectedly: ${signal ?? code}`);
  });
}

/** `watch`, and the child's output (its last 100–200 KB). */
function track(child: ChildProcess, name: string): () => string {
  watch(child, name);
  let out = '';
  const add = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
}

const stopping = new Set<ChildProcess>();
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  stopping.add(child);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function startHub(phase: string): Promise<Instance> {
  const dir = await mkdtemp(join(tmpdir(), `bench-hub-${phase}-`));
  tempDirs.add(dir);
  const nodeArgs = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [];
  const spawnedAt = performance.now();
  const hub = await spawnHub(dir, ['--no-agent'], { nodeArgs, cwd: HUB_DIR });
  watch(hub.child, 'hub');
  const port = Number(new URL(hub.url).port);
  return {
    system: 'hub',
    pid: hub.child.pid!,
    dir,
    putPort: port,
    telnetPort: hub.telnetPort,
    apiPort: port,
    child: hub.child,
    spawnedAt,
    output: hub.output,
    stop: () => stopChild(hub.child),
  };
}

async function startVm(phase: string): Promise<Instance> {
  const dir = await mkdtemp(join(tmpdir(), `bench-vm-${phase}-`));
  tempDirs.add(dir);
  const [httpPort, putPort, telnetPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    'victoria-metrics',
    [
      `-storageDataPath=${dir}`,
      `-httpListenAddr=127.0.0.1:${httpPort}`,
      `-opentsdbHTTPListenAddr=127.0.0.1:${putPort}`,
      `-opentsdbListenAddr=127.0.0.1:${telnetPort}`,
      '-search.disableCache',
      '-retentionPeriod=100y',
      '-loggerLevel=WARN',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = track(child, 'victoria-metrics');
  const spawnedAt = performance.now();
  const started = Date.now();
  const agent = newAgent();
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`victoria-metrics exited with ${child.exitCode}: ${output()}`);
    try {
      const r = await request(agent, httpPort, 'GET', '/health', undefined, 2_000);
      if (r.status === 200 && (await canConnect(putPort)) && (await canConnect(telnetPort))) break;
    } catch {
      // not yet
    }
    if (Date.now() - started > 60_000) throw new Error(`victoria-metrics did not start in 60 s: ${output()}`);
    await sleep(100);
  }
  agent.destroy();
  return {
    system: 'vm',
    pid: child.pid!,
    dir,
    putPort,
    telnetPort,
    apiPort: httpPort,
    child,
    spawnedAt,
    output,
    stop: () => stopChild(child),
  };
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const startSystem = (s: SystemName, phase: string) => (s === 'hub' ? startHub(phase) : startVm(phase));

async function removeInstance(inst: Instance): Promise<void> {
  await inst.stop();
  await rm(inst.dir, { recursive: true, force: true });
  tempDirs.delete(inst.dir);
}

/** The server's last logged error, if any (hub: JSON lines; VictoriaMetrics: `error` lines). */
function lastErrorLine(inst: Instance): string | undefined {
  const lines = inst
    .output()
    .split('\n')
    .filter((l) => /"level":"error"|\terror\t/.test(l));
  return lines.at(-1)?.slice(0, 600);
}

function assertAlive(inst: Instance): void {
  if (inst.child.exitCode !== null || inst.child.signalCode !== null)
    throw new Error(
      `${LABEL[inst.system]} died (${inst.child.signalCode ?? inst.child.exitCode}): ${inst.output().slice(-2000)}`,
    );
}

// ---------------------------------------------------------------------------------------------
// The load generator, alone

type GeneratorResult = {
  format: LoadFormat;
  points: number;
  bytes: number;
  seconds: number;
  pointsPerSec: number;
};

function measureGenerator(format: LoadFormat): GeneratorResult {
  const load = new Load({
    seed: SEED,
    hours: HOURS,
    endSec: Math.floor(Date.now() / 1000),
    format,
    batchSize: BATCH,
  });
  const t0 = performance.now();
  while (load.next());
  const seconds = (performance.now() - t0) / 1000;
  return { format, points: load.emitted, bytes: load.bytes, seconds, pointsPerSec: load.emitted / seconds };
}

function newLoad(format: LoadFormat): Load {
  return new Load({
    seed: SEED,
    hours: HOURS,
    endSec: Math.floor(Date.now() / 1000),
    format,
    batchSize: BATCH,
  });
}

/** Prints progress every couple of seconds until stopped. */
function progress(
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
async function waitForCount(inst: Instance, read: () => Promise<number>, total: number, everyMs: number) {
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

// ---------------------------------------------------------------------------------------------
// 1. HTTP /api/put

/** Points per second of wall time, and per second of the server's CPU time. */
type Rates = { pointsPerSec: number; pointsPerCpuSecond: number };

type PutResult = {
  points: number;
  batches: number;
  bytesSent: number;
  ack: CpuUse & Rates;
  stored?: CpuUse & Rates;
  peakRssBytes?: number;
};

async function httpIngest(inst: Instance): Promise<PutResult> {
  const load = newLoad('json');
  const agent = newAgent();
  const label = `${LABEL[inst.system]} /api/put`;
  const metricsAgent = newAgent();
  const storedSample = 'obs_points_stored_total';
  let acked = 0;
  let batches = 0;
  const stopProgress = progress(
    label,
    load.totalPoints,
    () => acked,
    inst.system === 'hub'
      ? async () => `, stored ${si(await scrape(metricsAgent, inst.apiPort, storedSample))}`
      : undefined,
  );
  const start = await cpuMark(inst.pid);
  const worker = async () => {
    for (;;) {
      const b: Batch | undefined = load.next();
      if (!b) return;
      const r = await request(agent, inst.putPort, 'POST', '/api/put', b.body);
      if (r.status !== 204 && r.status !== 200)
        throw new Error(`${label} answered ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
      acked += b.points;
      batches++;
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  } finally {
    stopProgress();
  }
  const ackMark = await cpuMark(inst.pid);
  const ackUse = cpuUse(start, ackMark);
  const result: PutResult = {
    points: load.emitted,
    batches,
    bytesSent: load.bytes,
    ack: {
      ...ackUse,
      pointsPerSec: load.emitted / ackUse.seconds,
      pointsPerCpuSecond: load.emitted / ackUse.serverCpuSeconds,
    },
  };
  log(
    `${label}: last batch acknowledged after ${ackUse.seconds.toFixed(1)} s: ${si(result.ack.pointsPerSec)} points/s`,
  );
  if (inst.system === 'hub') {
    let storedNow = 0;
    const stop = progress(`${label} (store)`, load.totalPoints, () => storedNow);
    try {
      await waitForCount(
        inst,
        async () => {
          storedNow = await scrape(metricsAgent, inst.apiPort, storedSample);
          return storedNow;
        },
        load.totalPoints,
        100,
      );
    } finally {
      stop();
    }
    const storedUse = cpuUse(start, await cpuMark(inst.pid));
    result.stored = {
      ...storedUse,
      pointsPerSec: load.emitted / storedUse.seconds,
      pointsPerCpuSecond: load.emitted / storedUse.serverCpuSeconds,
    };
    log(
      `${label}: every point stored after ${storedUse.seconds.toFixed(1)} s: ${si(result.stored.pointsPerSec)} points/s`,
    );
  }
  result.peakRssBytes = await peakRss(inst.pid);
  agent.destroy();
  metricsAgent.destroy();
  return result;
}

// ---------------------------------------------------------------------------------------------
// 2. Bytes on disk

type DiskResult = {
  settleSeconds: number;
  /** The whole data dir (hub: bus + store; VictoriaMetrics: -storageDataPath). */
  all: { apparent: number; allocated: number; perPoint: number };
  /**
   * Hub only: metrics.duckdb + metrics.duckdb.wal, per point sealed into it (`open` points were
   * still gathering into chunks, durable on the bus only).
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

async function diskAfterIngest(inst: Instance, points: number): Promise<DiskResult> {
  const t0 = performance.now();
  if (inst.system === 'vm') {
    // force_flush only starts the flush: 1.79 keeps recent rows in in-memory parts that reach
    // disk a few seconds later. Wait until the parts on disk (named rows_blocks_min_max_id) hold
    // every row, then for the size to settle.
    const agent = newAgent();
    const r = await request(agent, inst.apiPort, 'GET', '/internal/force_flush');
    if (r.status !== 200) throw new Error(`force_flush answered ${r.status}`);
    for (let i = 0; i < 240 && (await vmRowsOnDisk(inst.dir)) < points; i++) await sleep(500);
    agent.destroy();
  }
  if (inst.system === 'hub') {
    // The hub's store rolls raw points up into 1 m and 1 h tables in its maintenance, every
    // 60 s from its start: measure after the first one that began once every point was stored,
    // as the store then stays (10 s allowed for the hub's start-up and the run itself).
    const up = performance.now() - inst.spawnedAt;
    const wait = (Math.floor(up / HUB_MAINTENANCE_MS) + 1) * HUB_MAINTENANCE_MS + 10_000 - up;
    log(`hub: waiting ${(wait / 1000).toFixed(0)} s for the store's next maintenance (roll-ups)`);
    await sleep(wait);
  }
  // Let merges (VictoriaMetrics), roll-ups and checkpoints (DuckDB) settle: at least 6 s, then
  // until three readings 2 s apart agree, 60 s at most.
  let usage = await diskUsage(inst.dir);
  let same = 0;
  for (let waited = 0; waited < 60_000; waited += 2_000) {
    await sleep(2_000);
    const next = await diskUsage(inst.dir);
    same = next.allocated === usage.allocated ? same + 1 : 0;
    usage = next;
    if (waited >= 4_000 && same >= 2) break;
  }
  const result: DiskResult = {
    settleSeconds: (performance.now() - t0) / 1000,
    all: { ...usage, perPoint: usage.allocated / points },
  };
  if (inst.system === 'hub') {
    const duck = await diskUsage(join(inst.dir, 'metrics', 'metrics.duckdb'));
    const wal = existsSync(join(inst.dir, 'metrics', 'metrics.duckdb.wal'))
      ? await diskUsage(join(inst.dir, 'metrics', 'metrics.duckdb.wal'))
      : { apparent: 0, allocated: 0 };
    const allocated = duck.allocated + wal.allocated;
    const agent = newAgent();
    const open = await scrape(agent, inst.apiPort, 'obs_store_open_points');
    agent.destroy();
    result.store = {
      apparent: duck.apparent + wal.apparent,
      allocated,
      perPoint: allocated / (points - open),
      duckdb: duck.allocated,
      wal: wal.allocated,
      open,
    };
    result.bus = await diskUsage(join(inst.dir, 'bus'));
  }
  return result;
}

/** The hub's store file (and WAL) after a clean stop: every point is in it then. */
async function storeAfterStop(
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

// ---------------------------------------------------------------------------------------------
// 3. Query

type QueryResult = {
  runs: number;
  firstMs: number;
  medianMs: number;
  minMs: number;
  p90Ms: number;
  series: number;
  points: number;
  request: string;
};

async function queryBench(inst: Instance): Promise<QueryResult> {
  const agent = newAgent();
  const hubBody = JSON.stringify({
    start: '1h-ago',
    queries: [
      {
        metric: QUERY_METRIC,
        aggregator: 'sum',
        filters: [{ type: 'wildcard', tagk: 'app', filter: '*', groupBy: true }],
      },
    ],
  });
  const vmPath = () => {
    const now = Math.floor(Date.now() / 1000);
    const q = encodeURIComponent(`sum by (app) (${QUERY_METRIC})`);
    return `/api/v1/query_range?query=${q}&start=${now - 3600}&end=${now}&step=10s`;
  };
  const once = async (): Promise<{ ms: number; series: number; points: number }> => {
    const t0 = performance.now();
    const r =
      inst.system === 'hub'
        ? await request(agent, inst.apiPort, 'POST', '/api/query', hubBody)
        : await request(agent, inst.apiPort, 'GET', vmPath());
    const ms = performance.now() - t0;
    const text = r.body.toString('utf8');
    if (r.status !== 200)
      throw new Error(`${LABEL[inst.system]} query answered ${r.status}: ${text.slice(0, 500)}`);
    const body = JSON.parse(text);
    let series = 0;
    let points = 0;
    if (inst.system === 'hub') {
      for (const s of body as { dps: Record<string, number> }[]) {
        const n = Object.keys(s.dps).length;
        if (n > 0) series++;
        points += n;
      }
    } else {
      for (const s of body.data.result as { values: unknown[] }[]) {
        if (s.values.length > 0) series++;
        points += s.values.length;
      }
    }
    return { ms, series, points };
  };
  const first = await once();
  if (first.series !== EXPECTED_GROUPS)
    throw new Error(
      `${LABEL[inst.system]} answered ${first.series} series with points, not ${EXPECTED_GROUPS}`,
    );
  // Both systems answer the same untimed queries first: the steady state a dashboard sees, not
  // the hub's JIT compiling its query path.
  for (let i = 0; i < QUERY_WARMUP; i++) await once();
  const times: number[] = [];
  let last = first;
  for (let i = 0; i < QUERY_RUNS; i++) {
    last = await once();
    times.push(last.ms);
  }
  agent.destroy();
  const result: QueryResult = {
    runs: QUERY_RUNS,
    firstMs: first.ms,
    medianMs: median(times),
    minMs: Math.min(...times),
    p90Ms: quantile(times, 0.9),
    series: last.series,
    points: last.points,
    request: inst.system === 'hub' ? `POST /api/query ${hubBody}` : `GET ${decodeURIComponent(vmPath())}`,
  };
  log(
    `${LABEL[inst.system]} query: median ${result.medianMs.toFixed(1)} ms over ${QUERY_RUNS} runs after ${QUERY_WARMUP} untimed ` +
      `(first ${result.firstMs.toFixed(1)} ms), ${result.series} series, ${result.points} points`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------
// 4. Telnet put

type TelnetResult = {
  points: number;
  bytesSent: number;
  sentSeconds: number;
  accepted: CpuUse & Rates;
  stored?: CpuUse & Rates;
  /** Hub: why the store never got every point, and how many it got. */
  storedError?: string;
  storedPoints?: number;
  counter: string;
  peakRssBytes?: number;
};

async function telnetIngest(inst: Instance): Promise<TelnetResult> {
  const load = newLoad('telnet');
  const label = `${LABEL[inst.system]} telnet`;
  const metricsAgent = newAgent();
  const counter =
    inst.system === 'hub'
      ? 'obs_points_accepted_total{protocol="telnet"}'
      : 'vm_rows_inserted_total{type="opentsdb"}';
  const readCount = () => scrape(metricsAgent, inst.apiPort, counter);
  let accepted = 0;
  let sent = 0;
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const s = net.connect(inst.telnetPort, '127.0.0.1');
      await once(s, 'connect');
      s.setNoDelay(true);
      s.on('data', (d: Buffer) => log(`${label} server said: ${d.toString('utf8').slice(0, 300).trim()}`));
      return s;
    }),
  );
  const errors: Error[] = [];
  for (const s of sockets) s.on('error', (e) => errors.push(e));
  const stopProgress = progress(
    label,
    load.totalPoints,
    () => accepted,
    async () => {
      accepted = await readCount();
      return `, sent ${si(sent)}`;
    },
  );
  const start = await cpuMark(inst.pid);
  let sentSeconds = 0;
  try {
    await Promise.all(
      sockets.map(async (s) => {
        for (;;) {
          if (errors.length > 0) throw errors[0];
          const b = load.next();
          if (!b) break;
          sent += b.points;
          if (!s.write(b.body)) await once(s, 'drain');
        }
        s.end();
      }),
    );
    sentSeconds = (performance.now() - start.at) / 1000;
    log(`${label}: all lines written after ${sentSeconds.toFixed(1)} s`);
    await waitForCount(
      inst,
      async () => {
        accepted = await readCount();
        return accepted;
      },
      load.totalPoints,
      50,
    );
  } finally {
    stopProgress();
  }
  const acceptedUse = cpuUse(start, await cpuMark(inst.pid));
  const result: TelnetResult = {
    points: load.emitted,
    bytesSent: load.bytes,
    sentSeconds,
    accepted: {
      ...acceptedUse,
      pointsPerSec: load.emitted / acceptedUse.seconds,
      pointsPerCpuSecond: load.emitted / acceptedUse.serverCpuSeconds,
    },
    counter,
  };
  log(
    `${label}: every point accepted after ${acceptedUse.seconds.toFixed(1)} s: ${si(result.accepted.pointsPerSec)} points/s`,
  );
  if (inst.system === 'hub') {
    try {
      await waitForCount(
        inst,
        () => scrape(metricsAgent, inst.apiPort, 'obs_points_stored_total'),
        load.totalPoints,
        100,
      );
      const storedUse = cpuUse(start, await cpuMark(inst.pid));
      result.stored = {
        ...storedUse,
        pointsPerSec: load.emitted / storedUse.seconds,
        pointsPerCpuSecond: load.emitted / storedUse.serverCpuSeconds,
      };
      log(`${label}: every point stored after ${storedUse.seconds.toFixed(1)} s`);
    } catch (e) {
      result.storedError = (e as Error).message;
      result.storedPoints = await scrape(metricsAgent, inst.apiPort, 'obs_points_stored_total').catch(
        () => -1,
      );
      log(`${label}: not every point was stored: ${result.storedError}`);
    }
  }
  result.peakRssBytes = await peakRss(inst.pid);
  for (const s of sockets) s.destroy();
  metricsAgent.destroy();
  return result;
}

// ---------------------------------------------------------------------------------------------
// CPU profile of the hub (node --cpu-prof): top self-time functions

type ProfileNode = { id: number; callFrame: { functionName: string; url: string } };
type ProfileTop = {
  phase: string;
  file: string;
  sampledMs: number;
  /** Main thread time not idle (JS, GC, native calls made from JS). */
  busyMs: number;
  top: { fn: string; where: string; selfMs: number; shareOfBusy: number }[];
};

/** The `n` functions with the most self time on the main thread, idle left out. */
async function summarizeProfile(file: string, phase: string, n = 10): Promise<ProfileTop> {
  const prof = JSON.parse(await readFile(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const node = byId.get(prof.samples[i]!);
    const dt = prof.timeDeltas[i + 1] ?? 0;
    if (!node) continue;
    total += dt;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    // tsx compiles each module to one line, so a line number says nothing: the file does.
    const where = cf.url
      .replace(`file://${HUB_DIR}/`, '')
      .replace(`file://${ROOT}/`, '')
      .replace(/^file:\/\//, '');
    const key = `${cf.functionName}|${where}`;
    const e = self.get(key) ?? { fn: cf.functionName || '(anonymous)', where, us: 0 };
    e.us += dt;
    self.set(key, e);
  }
  const busy = total - idle;
  const top = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, shareOfBusy: e.us / busy }));
  return { phase, file, sampledMs: total / 1000, busyMs: busy / 1000, top };
}

/** The main thread's profile of a hub process (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile). */
async function hubProfile(inst: Instance, phase: string): Promise<ProfileTop | undefined> {
  if (!PROFILE_DIR || inst.system !== 'hub') return undefined;
  const f = (await readdir(PROFILE_DIR)).find(
    (x) => x.includes(`.${inst.pid}.0.`) && x.endsWith('.cpuprofile'),
  );
  return f ? summarizeProfile(join(PROFILE_DIR, f), phase) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Main

type SystemResult = {
  put?: PutResult;
  disk?: DiskResult;
  query?: QueryResult;
  telnet?: TelnetResult;
  profiles?: ProfileTop[];
  errors: string[];
};

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
      if (!args['skip-query'])
        await record(out, system, 'query', async () => {
          out.query = await queryBench(inst);
        });
    } finally {
      await inst.stop();
      if (out.disk?.store && out.put) out.disk.storeStopped = await storeAfterStop(inst, out.put.points);
      await removeInstance(inst);
      await profileOf(out, inst, args['skip-query'] ? '/api/put' : '/api/put, then the query');
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

  // Interleaved (hub, vm, hub, vm), so that a change in the machine's other load hits both.
  const runs: Partial<Record<SystemName, SystemResult>>[] = [];
  for (let run = 0; run < RUNS; run++) {
    if (RUNS > 1) log(`run ${run + 1} of ${RUNS}`);
    const results: Partial<Record<SystemName, SystemResult>> = {};
    runs.push(results);
    for (const s of SYSTEMS) results[s] = { errors: [] };
    for (const s of SYSTEMS) await putPhase(s, results[s]!);
    if (!args['skip-telnet']) for (const s of SYSTEMS) await telnetPhase(s, results[s]!);
  }
  for (const a of agents) a.destroy();
  // Each figure is the median over the runs; errors and profiles of every run are kept.
  const results: Partial<Record<SystemName, SystemResult>> = {};
  for (const s of SYSTEMS) {
    const all = runs.map((r) => r[s]!);
    results[s] = {
      ...(medianTree(all) as SystemResult),
      errors: all.flatMap((r, i) => r.errors.map((e) => (RUNS > 1 ? `run ${i + 1}: ${e}` : e))),
      profiles: all.flatMap((r) => r.profiles ?? []),
    };
  }

  const loadAfter = loadavg();
  const report = {
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
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `ingest-${startedAt.toISOString().replace(/:/g, '-').replace(/\..*/, '')}.json`);
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
  log(`results written to ${file}`);

  printTable(report, results);
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

type Row = [string, string, string, string];

function printTable(
  report: {
    load: { points: number };
    generator: { json: GeneratorResult; telnet: GeneratorResult };
    versions: { hub: { dir: string; commit: string; changed: string[] }; victoriaMetrics: string };
  },
  r: Partial<Record<SystemName, SystemResult>>,
): void {
  const h = r.hub;
  const v = r.vm;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}x` : '';
  const rows: Row[] = [['', 'hub', 'victoria-metrics', 'hub/vm']];
  const add = (
    name: string,
    a: number | undefined,
    b: number | undefined,
    f: (x: number | undefined) => string,
    withRatio = true,
  ) => rows.push([name, f(a), f(b), withRatio ? ratio(a, b) : '']);
  const rate = (x: number | undefined) => (x === undefined ? '—' : `${si(x)}`);
  const ms = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(1)} ms`);
  const cores = (x: number | undefined) => fixed(x, 2);
  const share = (x: number | undefined) =>
    x === undefined || Number.isNaN(x) ? '—' : `${Math.round(x * 100)} %`;
  const mib = (x: number | undefined) => (x === undefined ? '—' : `${(x / 1048576).toFixed(0)} MiB`);
  const secs = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(1)} s`);

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
  for (const p of h?.profiles ?? []) {
    out.push('');
    out.push(
      `hub CPU profile, ${p.phase}: main thread busy ${(p.busyMs / 1000).toFixed(1)} s of ` +
        `${(p.sampledMs / 1000).toFixed(1)} s sampled; top self time (share of busy):`,
    );
    for (const t of p.top)
      out.push(
        `  ${(100 * t.shareOfBusy).toFixed(1).padStart(5)} %  ${t.selfMs.toFixed(0).padStart(6)} ms  ${t.fn}  ${t.where}`,
      );
    out.push(`  (${p.file})`);
  }
  const last = ratio(h?.put?.ack.pointsPerSec, v?.put?.ack.pointsPerSec);
  out.push(`ratio hub/victoria-metrics /api/put points/s: ${last || 'n/a'}`);
  process.stdout.write(out.join('\n') + '\n');
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
