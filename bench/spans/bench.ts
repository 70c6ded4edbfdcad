/**
 * `npm run bench:spans`: the same spans into the hub and into a Zipkin server, one at a time.
 *
 *   1. Ingest: N spans (default 1,000,000) as Zipkin v2 JSON through `POST /api/v2/spans`, batches
 *      of 1,000 over 4 keep-alive connections: spans/s until the last batch is acknowledged, and
 *      until the last trace can be read back (everything stored).
 *   2. Trace by id with all N spans stored: random traces, one request at a time, p50 and p99.
 *
 * The hub is, by default, the tracing pieces as a server of their own (`bench/spans/server.ts`,
 * a child process on a fresh data dir); `--hub-url URL` targets a running hub instead (e.g.
 * `node bin/obs.mjs hub --port 0 --no-agent --data-dir DIR`). Zipkin is `io.zipkin:zipkin-server`
 * (exec jar from Maven Central, cached in ~/.cache/obs/zipkin), in-memory storage, on loopback.
 *
 * Options: --spans N, --batch N, --connections N, --lookups N, --runs N, --only hub|zipkin,
 * --hub-url URL, --zipkin-version V, --zipkin-heap 4g. With --runs N, hub and Zipkin take turns
 * N times (each on a fresh server) and each figure and ratio is the median of the runs: this
 * machine's speed moves by a third from one minute to the next. Progress goes to stderr; the
 * table to stdout, the ratios last; the figures also to bench/spans/results/spans-<date>.json.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, type Result, type Run, report } from './report.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const { values: args } = parseArgs({
  options: {
    spans: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '4' },
    lookups: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    'hub-url': { type: 'string' },
    'zipkin-version': { type: 'string', default: '3.6.1' },
    'zipkin-heap': { type: 'string', default: '6g' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (args.help) {
  process.stdout.write(
    'usage: npm run bench:spans -- [--spans N] [--batch N] [--connections N] [--lookups N]\n' +
      '                              [--runs N] [--only hub|zipkin] [--hub-url URL] [--zipkin-version V]\n' +
      '                              [--zipkin-heap 6g]\n',
  );
  process.exit(0);
}
const SPANS = Number(args.spans);
const BATCH = Number(args.batch);
const CONNECTIONS = Number(args.connections);
const LOOKUPS = Number(args.lookups);
const RUNS = Number(args.runs);
const SPANS_PER_TRACE = 10;
if (
  !(SPANS > 0 && BATCH > 0 && BATCH % SPANS_PER_TRACE === 0 && CONNECTIONS > 0 && LOOKUPS > 0) ||
  !(Number.isInteger(RUNS) && RUNS > 0)
)
  fail('--spans, --connections, --lookups and --runs must be positive, --batch a multiple of 10');

function fail(message: string): never {
  process.stderr.write(`bench:spans: ${message}\n`);
  process.exit(1);
}
const log = (m: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);

// ---------------------------------------------------------------------------------------------
// The load: traces of 10 spans (a server root, client/server pairs across services, a db call)

const SERVICES = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
const NOW_US = Date.now() * 1000;
const MARK = 'BBBBBBBB';

/** One batch body, with MARK in place of the batch number inside every trace id. */
function template(variant: number): string {
  const spans: object[] = [];
  for (let t = 0; t < BATCH / SPANS_PER_TRACE; t++) {
    const traceId = `${MARK}${(variant * 1000 + t).toString(16).padStart(24, '0')}`;
    const start = NOW_US - 600_000_000 + t * 1000;
    let prev = '';
    for (let s = 0; s < SPANS_PER_TRACE; s++) {
      const id = `${MARK}${(t * 16 + s).toString(16).padStart(8, '0')}`;
      const service = SERVICES[(variant + t + Math.floor((s + 1) / 2)) % SERVICES.length]!;
      const kind = s === 0 ? 'SERVER' : s % 2 === 1 ? 'CLIENT' : 'SERVER';
      spans.push({
        traceId,
        id,
        ...(prev ? { parentId: prev } : {}),
        name: `get /api/v${s}/items`,
        kind,
        timestamp: start + s * 100,
        duration: 10_000 - s * 500,
        localEndpoint: { serviceName: service, ipv4: `10.0.${s}.${(t % 250) + 1}`, port: 8080 },
        ...(kind === 'CLIENT'
          ? { remoteEndpoint: { serviceName: SERVICES[(variant + t + s + 1) % SERVICES.length], port: 8080 } }
          : {}),
        tags: {
          'http.method': 'GET',
          'http.path': `/api/v${s}/items`,
          'http.status_code': s === 9 ? '500' : '200',
          ...(s === 9 ? { error: 'boom' } : {}),
        },
        ...(s === 2 ? { annotations: [{ timestamp: start + s * 100 + 10, value: 'wr' }] } : {}),
      });
      prev = id;
    }
  }
  return JSON.stringify(spans);
}

const TEMPLATES = Array.from({ length: 8 }, (_, v) => template(v));
const BATCHES = Math.ceil(SPANS / BATCH);
/**
 * A batch's number as 8 hex digits in an order that looks random (times an odd constant, so no two
 * batches share it and none is 0), as real trace ids are: ids that grow with time would let the
 * hub's span file skip row groups by their smallest and largest trace id, which real ones do not.
 */
const markOf = (b: number) => (Math.imul(b + 1, 0x9e3779b1) >>> 0).toString(16).padStart(8, '0');
const batchBody = (b: number) => Buffer.from(TEMPLATES[b % TEMPLATES.length]!.replaceAll(MARK, markOf(b)));
const traceIdOf = (b: number, t: number) =>
  `${markOf(b)}${((b % TEMPLATES.length) * 1000 + t).toString(16).padStart(24, '0')}`;

// ---------------------------------------------------------------------------------------------
// HTTP

const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

function request(url: string, method: string, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU seconds (user + system, all threads) a process used so far, from /proc; undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

async function ingest(base: string): Promise<{ ackSeconds: number; storedSeconds: number }> {
  const started = performance.now();
  let next = 0;
  let done = 0;
  let lastLog = started;
  async function worker(): Promise<void> {
    for (;;) {
      const b = next++;
      if (b >= BATCHES) return;
      const r = await request(`${base}/api/v2/spans`, 'POST', batchBody(b));
      if (r.status !== 202)
        throw new Error(`POST /api/v2/spans answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
      done++;
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        log(
          `  ${done * BATCH} spans acknowledged (${Math.round((done * BATCH) / ((lastLog - started) / 1000))}/s)`,
        );
      }
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const ackSeconds = (performance.now() - started) / 1000;
  // Stored: every batch's last trace can be read back.
  const lastBatches = Array.from({ length: Math.min(BATCHES, CONNECTIONS * 2) }, (_, i) => BATCHES - 1 - i);
  for (;;) {
    let all = true;
    for (const b of lastBatches) {
      const r = await request(`${base}/api/v2/trace/${traceIdOf(b, BATCH / SPANS_PER_TRACE - 1)}`, 'GET');
      if (r.status !== 200 || (JSON.parse(r.body.toString()) as unknown[]).length < SPANS_PER_TRACE)
        all = false;
    }
    if (all) break;
    if (performance.now() - started > 3_600_000) throw new Error('spans were not stored within an hour');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ackSeconds, storedSeconds: (performance.now() - started) / 1000 };
}

async function lookups(base: string): Promise<{ p50: number; p99: number }> {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pick = () => traceIdOf(Math.floor(rnd() * BATCHES), Math.floor(rnd() * (BATCH / SPANS_PER_TRACE)));
  for (let i = 0; i < 200; i++) await request(`${base}/api/v2/trace/${pick()}`, 'GET');
  const times: number[] = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const id = pick();
    const t0 = performance.now();
    const r = await request(`${base}/api/v2/trace/${id}`, 'GET');
    times.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`GET /api/v2/trace/${id} answered ${r.status}`);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return { p50: q(0.5), p99: q(0.99) };
}

async function measure(system: string, base: string, pid?: number): Promise<Result> {
  log(`${system}: ingesting ${SPANS} spans in batches of ${BATCH} over ${CONNECTIONS} connections`);
  const cpu0 = cpuSeconds(pid);
  const client0 = process.cpuUsage();
  const { ackSeconds, storedSeconds } = await ingest(base);
  const cpu1 = cpuSeconds(pid);
  const client = process.cpuUsage(client0);
  log(
    `${system}: acknowledged in ${ackSeconds.toFixed(1)} s, stored in ${storedSeconds.toFixed(1)} s; ${LOOKUPS} trace-by-id lookups`,
  );
  const { p50, p99 } = await lookups(base);
  const spans = BATCHES * BATCH;
  return {
    system,
    ackPerSec: spans / ackSeconds,
    storedPerSec: spans / storedSeconds,
    p50,
    p99,
    ackSeconds,
    storedSeconds,
    cpuMicrosPerSpan: cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1e6) / spans : undefined,
    clientCpuMicrosPerSpan: (client.user + client.system) / spans,
  };
}

// ---------------------------------------------------------------------------------------------
// The servers

async function waitFor(url: string, child: ChildProcess | undefined, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      const r = await request(url, 'GET');
      if (r.status < 500) return;
    } catch {}
    if (Date.now() > until) throw new Error(`${url} did not answer within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function withHub<T>(fn: (base: string, pid?: number) => Promise<T>): Promise<T> {
  if (args['hub-url']) return fn(args['hub-url'].replace(/\/$/, ''));
  const dir = await mkdtemp(join(tmpdir(), 'bench-spans-hub-'));
  // V8's defaults, as `obs hub` runs (a 64 or 128 MB young generation stored no faster).
  const flags = ['--import', 'tsx'];
  const child = spawn(process.execPath, [...flags, join(ROOT, 'bench/spans/server.ts'), '--data-dir', dir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`the hub exited with ${code}`)));
    });
    return await fn(url, child.pid);
  } finally {
    await stop(child);
    await rm(dir, { recursive: true, force: true });
  }
}

function zipkinJar(version: string): string {
  const dir = join(homedir(), '.cache', 'obs', 'zipkin');
  const jar = join(dir, `zipkin-server-${version}-exec.jar`);
  if (existsSync(jar)) return jar;
  log(`fetching io.zipkin:zipkin-server:${version}:jar:exec from Maven Central into ${dir}`);
  execFileSync(
    'mvn',
    [
      '-q',
      'dependency:copy',
      `-Dartifact=io.zipkin:zipkin-server:${version}:jar:exec`,
      `-DoutputDirectory=${dir}`,
    ],
    {
      stdio: 'inherit',
    },
  );
  if (!existsSync(jar)) fail(`mvn did not leave ${jar}`);
  return jar;
}

async function withZipkin<T>(fn: (base: string, pid?: number) => Promise<T>): Promise<T> {
  const jar = zipkinJar(args['zipkin-version']!);
  const port = 19000 + Math.floor(Math.random() * 1000);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STORAGE_TYPE: 'mem',
    MEM_MAX_SPANS: String(SPANS * 2),
    ZIPKIN_STORAGE_MEM_MAXSPANS: String(SPANS * 2),
  };
  delete env['KAFKA_BOOTSTRAP_SERVERS'];
  delete env['RABBIT_ADDRESSES'];
  const heap = args['zipkin-heap']!;
  const child = spawn(
    'java',
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-jar',
      jar,
      `--armeria.ports[0].port=${port}`,
      '--armeria.ports[0].ip=127.0.0.1',
      '--armeria.ports[0].protocols[0]=http',
      `--zipkin.storage.mem.max-spans=${SPANS * 2}`,
      '--logging.level.root=WARN',
    ],
    { env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/health`, child, 180);
    return await fn(base, child.pid);
  } finally {
    await stop(child);
  }
}

// ---------------------------------------------------------------------------------------------

const LOAD_BEFORE = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const runs: Run[] = [];
for (let r = 1; r <= RUNS; r++) {
  if (RUNS > 1) log(`run ${r} of ${RUNS}`);
  const run: Run = {};
  if (args.only !== 'zipkin') run.hub = await withHub((base, pid) => measure('hub', base, pid));
  if (args.only !== 'hub') run.zipkin = await withZipkin((base, pid) => measure('zipkin', base, pid));
  runs.push(run);
}
agent.destroy();

const { results, lines } = report(runs, [
  `spans: ${fmt(BATCHES * BATCH)} (traces of ${SPANS_PER_TRACE}, batches of ${BATCH}, ${CONNECTIONS} connections); lookups: ${LOOKUPS}; runs: ${RUNS}`,
  `load average before the first run: ${LOAD_BEFORE}`,
]);
process.stdout.write(lines.join('\n') + '\n');
await mkdir(join(ROOT, 'bench/spans/results'), { recursive: true });
const file = join(
  ROOT,
  'bench/spans/results',
  `spans-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.json`,
);
await writeFile(
  file,
  JSON.stringify(
    { spans: BATCHES * BATCH, batch: BATCH, connections: CONNECTIONS, lookups: LOOKUPS, results, runs },
    null,
    2,
  ),
);
log(`figures written to ${file}`);
