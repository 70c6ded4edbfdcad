/**
 * `npm run bench:agent`: the cost of `obs agent` on a busy node. The agent (a real `obs agent`
 * process) watches N real Docker-style cgroups (`/sys/fs/cgroup/<controller>/docker/<64 hex>`, v1
 * hierarchies, one `sleep` in each) at a 10 s interval and tails an nginx access log (`platform`
 * format) that this process appends to at a fixed rate, shipping to a real hub. After a warm-up, the
 * agent's CPU (utime + stime from /proc/PID/stat over the window ÷ wall time, % of one core) and RSS
 * (VmRSS sampled every second, VmHWM at the end) are measured; then the hub is asked whether the
 * agent really shipped (series of `container.mem.usage`, rate of `nginx.requests`).
 *
 * Needs root and cgroup v1 hierarchies. Everything it makes (cgroups, sleepers, hub, agent, temp
 * dirs) is removed at the end, also on error and Ctrl-C.
 *
 * Options: --seconds N (measured window, default 60), --warmup N (default 20), --containers N
 * (default 200), --rate N (log lines/s, default 5000), --interval D (agent interval, default 10s),
 * --keep-tmp (keep the temp dirs, for the agent's and hub's logs), --agent-node-arg FLAG (a node
 * flag for the agent process only, e.g. `--agent-node-arg=--cpu-prof`; repeatable).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { lineMaker } from './nginx/generate.ts';
import { CLK_TCK } from './os.ts';

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '20' },
    containers: { type: 'string', default: '200' },
    rate: { type: 'string', default: '5000' },
    interval: { type: 'string', default: '10s' },
    'cgroup-root': { type: 'string', default: '/sys/fs/cgroup' },
    'keep-tmp': { type: 'boolean', default: false },
    /** Extra node flags for the agent process only, e.g. --agent-node-arg=--cpu-prof; repeatable. */
    'agent-node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const SECONDS = Number(opts.seconds);
const WARMUP = Number(opts.warmup);
const CONTAINERS = Number(opts.containers);
const RATE = Number(opts.rate);
const CGROUP_ROOT = opts['cgroup-root']!;
const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'];
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OBS = join(ROOT, 'bin', 'obs.mjs');
const TARGET_CPU = 2;
const TARGET_RSS_MB = 100;

const log = (s: string) => process.stderr.write(`[bench:agent] ${s}\n`);

// ---------------------------------------------------------------- things to clean up

const children: ChildProcess[] = [];
const sleepers: ChildProcess[] = [];
/** Cgroup dirs made, in creation order (parents first). */
const madeDirs: string[] = [];
const tmpDirs: string[] = [];
let writerTimer: NodeJS.Timeout | undefined;
let logFd: number | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (writerTimer) clearInterval(writerTimer);
    if (logFd !== undefined) closeSync(logFd);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.race([
      Promise.all(
        children.map((c) =>
          c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)),
        ),
      ),
      sleep(5_000),
    ]);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const s of sleepers) s.kill('SIGKILL');
    // Anything still inside our cgroups (a sleeper whose shell had not exec'd yet, …).
    const leaves = madeDirs.filter((d) => /\/docker\/[0-9a-f]{64}$/.test(d));
    for (let attempt = 0; attempt < 50; attempt++) {
      let left = 0;
      for (const dir of leaves) {
        const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
          .split('\n')
          .filter(Boolean);
        left += pids.length;
        for (const pid of pids)
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {}
      }
      if (left === 0) break;
      await sleep(100);
    }
    let failed = 0;
    for (const dir of [...madeDirs].reverse())
      await rmdir(dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') {
          failed++;
          log(`could not remove ${dir}: ${e.message}`);
        }
      });
    log(`cleanup: ${madeDirs.length - failed}/${madeDirs.length} cgroup dirs removed, processes killed`);
    if (!opts['keep-tmp']) for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
    else log(`kept ${tmpDirs.join(' ')}`);
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });

// ---------------------------------------------------------------- helpers

/** utime and stime of a process (all threads), clock ticks. */
function cpuSplit(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]), sys: Number(f[12]) };
}

function cpuTicks(pid: number): number {
  const { user, sys } = cpuSplit(pid);
  return user + sys;
}

function status(pid: number): { rssKb: number; hwmKb: number; threads: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKb: get('VmRSS'), hwmKb: get('VmHWM'), threads: get('Threads') };
}

function waitForLine(child: ChildProcess, match: RegExp, what: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`${what}: no line matching ${match} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => match.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining
        resolve(line);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before printing ${match}; output: ${buffer}`));
    });
  });
}

function start(what: string, args: string[], logFile: string, nodeArgs: string[] = []): ChildProcess {
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, OBS, ...args], {
    stdio: ['ignore', 'pipe', out],
    cwd: ROOT,
  });
  closeSync(out);
  children.push(child);
  child.stdout!.on('data', () => {}); // never let a full pipe block it
  child.once('exit', (code, signal) => {
    if (!cleaning) log(`${what} exited unexpectedly (${code ?? signal}); see ${logFile}`);
  });
  return child;
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

// ---------------------------------------------------------------- the bench

async function makeCgroups(): Promise<string[]> {
  if (process.getuid?.() !== 0) throw new Error('bench:agent needs root to create cgroups');
  const missing = CONTROLLERS.filter((c) => !existsSync(join(CGROUP_ROOT, c, 'cgroup.procs')));
  if (missing.length)
    throw new Error(`no cgroup v1 hierarchy for ${missing.join(', ')} under ${CGROUP_ROOT}`);
  for (const c of CONTROLLERS) {
    const parent = join(CGROUP_ROOT, c, 'docker');
    if (!existsSync(parent)) {
      await mkdir(parent);
      madeDirs.push(parent);
    }
  }
  const ids: string[] = [];
  for (let i = 0; i < CONTAINERS; i++) {
    const id = randomBytes(32).toString('hex');
    for (const c of CONTROLLERS) {
      const dir = join(CGROUP_ROOT, c, 'docker', id);
      await mkdir(dir);
      madeDirs.push(dir);
    }
    ids.push(id);
  }
  // One long sleeper per container: the shell joins every hierarchy, then execs sleep.
  const script = 'for f in "$@"; do echo $$ > "$f" || exit 97; done; exec sleep 600';
  for (const id of ids) {
    const files = CONTROLLERS.map((c) => join(CGROUP_ROOT, c, 'docker', id, 'cgroup.procs'));
    const child = spawn('/bin/sh', ['-c', script, 'sh', ...files], { stdio: 'ignore' });
    child.once('exit', (code) => {
      if (code === 97) log(`a sleeper could not join its cgroup ${id}`);
    });
    sleepers.push(child);
  }
  for (let attempt = 0; ; attempt++) {
    let empty = 0;
    for (const id of ids) {
      const procs = await readFile(join(CGROUP_ROOT, 'pids', 'docker', id, 'cgroup.procs'), 'utf8');
      if (!procs.trim()) empty++;
    }
    if (empty === 0) break;
    if (attempt > 100) throw new Error(`${empty} cgroups still have no process`);
    await sleep(100);
  }
  return ids;
}

/** Appends `rate` platform-format lines a second to `path`, in batches every 100 ms. */
function startWriter(path: string): { lines: () => number } {
  logFd = openSync(path, 'a');
  const next = lineMaker(7, Date.now());
  const t0 = performance.now();
  let written = 0;
  writerTimer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
    if (due <= written) return;
    let chunk = '';
    for (; written < due; written++) chunk += next() + '\n';
    writeSync(logFd!, chunk);
  }, 100);
  return { lines: () => written };
}

async function main() {
  const upBefore = execFileSync('uptime', { encoding: 'utf8' }).trim();
  log(`uptime before: ${upBefore}`);
  const hubDir = mkdtempSync(join(tmpdir(), 'obs-bench-agent-hub-'));
  const agentDir = mkdtempSync(join(tmpdir(), 'obs-bench-agent-'));
  tmpDirs.push(hubDir, agentDir);
  const accessLog = join(agentDir, 'access.log');
  closeSync(openSync(accessLog, 'w'));

  log(`creating ${CONTAINERS} cgroups under ${CGROUP_ROOT}/{${CONTROLLERS.join(',')}}/docker`);
  const ids = await makeCgroups();
  const shortIds = new Set(ids.map((id) => id.slice(0, 12)));

  log('starting hub');
  const hub = start(
    'hub',
    [
      'hub',
      '--port',
      '0',
      '--telnet-port',
      '0',
      '--data-dir',
      join(hubDir, 'data'),
      '--no-agent',
      '--log-level',
      'warn',
    ],
    join(hubDir, 'hub.log'),
  );
  const hubLine = await waitForLine(hub, /running at/, 'hub');
  const hubUrl = /running at (\S+)/.exec(hubLine)![1]!;
  const base = hubUrl.endsWith('/') ? hubUrl : hubUrl + '/';
  log(`hub at ${base}`);

  log('starting agent');
  const agentArgs = [
    'agent',
    '--hub',
    base,
    '--interval',
    opts.interval!,
    '--nginx-log',
    accessLog,
    '--data-dir',
    join(agentDir, 'data'),
    '--cgroup-root',
    CGROUP_ROOT,
    '--log-level',
    'warn',
  ];
  const agent = start('agent', agentArgs, join(agentDir, 'agent.log'), opts['agent-node-arg']);
  await waitForLine(agent, /is shipping to/, 'agent');
  const pid = agent.pid!;
  log(`agent pid ${pid}; writing ${RATE} lines/s to ${accessLog}; warm-up ${WARMUP} s`);
  const writer = startWriter(accessLog);
  await sleep(WARMUP * 1000);

  // Measure.
  const rss: number[] = [];
  const split0 = cpuSplit(pid);
  const ticks0 = split0.user + split0.sys;
  const hubTicks0 = cpuTicks(hub.pid!);
  const selfCpu0 = process.cpuUsage();
  const lines0 = writer.lines();
  const t0 = performance.now();
  const slices: { t: number; cpu: number; rssMb: number }[] = [];
  let lastTicks = ticks0;
  let lastT = t0;
  log(`measuring for ${SECONDS} s`);
  for (let s = 1; s <= SECONDS; s++) {
    await sleep(Math.max(0, t0 + s * 1000 - performance.now()));
    if (agent.exitCode !== null || agent.signalCode !== null)
      throw new Error('the agent exited during the window');
    rss.push(status(pid).rssKb);
    if (s % 10 === 0 || s === SECONDS) {
      const now = performance.now();
      const ticks = cpuTicks(pid);
      slices.push({
        t: s,
        cpu: ((ticks - lastTicks) / CLK_TCK / ((now - lastT) / 1000)) * 100,
        rssMb: rss[rss.length - 1]! / 1024,
      });
      lastTicks = ticks;
      lastT = now;
    }
  }
  const wall = (performance.now() - t0) / 1000;
  const split1 = cpuSplit(pid);
  const ticks1 = split1.user + split1.sys;
  const hubTicks1 = cpuTicks(hub.pid!);
  const selfCpu = process.cpuUsage(selfCpu0);
  const linesWritten = writer.lines() - lines0;
  const end = status(pid);
  const cpuPct = ((ticks1 - ticks0) / CLK_TCK / wall) * 100;
  const hubPct = ((hubTicks1 - hubTicks0) / CLK_TCK / wall) * 100;
  const selfPct = ((selfCpu.user + selfCpu.system) / 1e6 / wall) * 100;
  const rssAvgMb = rss.reduce((a, b) => a + b, 0) / rss.length / 1024;
  const rssMaxMb = Math.max(...rss) / 1024;
  const hwmMb = end.hwmKb / 1024;

  // Did it ship? Let one more interval land first.
  const intervalMs = /^(\d+)s$/.test(opts.interval!) ? Number(opts.interval!.slice(0, -1)) * 1000 : 10_000;
  await sleep(Math.min(intervalMs + 2_000, 15_000));
  type Lookup = { results: { tags: Record<string, string> }[]; totalResults: number };
  const lookup = (await getJson(`${base}api/search/lookup?m=container.mem.usage&limit=100000`)) as Lookup;
  const ours = new Set(lookup.results.map((r) => r.tags['container']).filter((c) => c && shortIds.has(c)));
  type Series = { dps: Record<string, number> };
  const perTs = async (metric: string) => {
    const q = (await getJson(
      `${base}api/query?start=2m-ago&m=${encodeURIComponent(`sum:${metric}`)}`,
    )) as Series[];
    const dps = Object.entries(q[0]?.dps ?? {})
      .map(([t, v]) => [Number(t), v] as const)
      .sort((a, b) => a[0] - b[0]);
    return dps;
  };
  const reqDps = await perTs('nginx.requests');
  // The last point may be an interval the writer was stopping in; use the complete ones before it.
  const full = reqDps.slice(Math.max(0, reqDps.length - 5), Math.max(1, reqDps.length - 1));
  const reqRate = full.length ? full.reduce((a, [, v]) => a + v, 0) / full.length : NaN;
  const linesDps = await perTs('nginx.lines');
  const malformed = await perTs('nginx.malformed').catch(() => []);
  const malformedTotal = malformed.reduce((a, [, v]) => a + v, 0);

  const upAfter = execFileSync('uptime', { encoding: 'utf8' }).trim();
  log(`uptime after: ${upAfter}`);

  const rows: [string, string][] = [
    ['containers (cgroups, 1 sleeper each)', String(CONTAINERS)],
    ['agent interval', opts.interval!],
    ['log lines written / s (window)', fmt(linesWritten / wall, 0)],
    ['warm-up / window s', `${WARMUP} / ${fmt(wall, 1)}`],
    ['agent CPU % of one core (window)', fmt(cpuPct)],
    [
      '  of which user / system',
      `${fmt(((split1.user - split0.user) / CLK_TCK / wall) * 100)} / ${fmt(((split1.sys - split0.sys) / CLK_TCK / wall) * 100)}`,
    ],
    ...slices.map((s): [string, string] => [
      `  agent CPU % up to t=${s.t}s`,
      `${fmt(s.cpu)}  (RSS ${fmt(s.rssMb, 1)} MB)`,
    ]),
    ['agent RSS MB avg / max (1 s samples)', `${fmt(rssAvgMb, 1)} / ${fmt(rssMaxMb, 1)}`],
    ['agent VmHWM MB (peak since start)', fmt(hwmMb, 1)],
    ['agent threads', String(end.threads)],
    ['hub CPU % (context)', fmt(hubPct)],
    ['bench process CPU % (writer; context)', fmt(selfPct)],
    [
      'hub: container.mem.usage series (ours / all)',
      `${ours.size} / ${lookup.totalResults} (expect ${CONTAINERS})`,
    ],
    [
      'hub: sum nginx.requests /s (last intervals)',
      `${fmt(reqRate, 0)} (expect ≈${RATE}); points: ${reqDps.map(([, v]) => fmt(v, 0)).join(', ')}`,
    ],
    ['hub: sum nginx.lines per interval', linesDps.map(([, v]) => fmt(v, 0)).join(', ')],
    ['hub: nginx.malformed in last 2 min', fmt(malformedTotal, 0)],
    ['load average before', upBefore.replace(/.*load average:\s*/, '')],
    ['load average after', upAfter.replace(/.*load average:\s*/, '')],
    [
      'load average now (1/5/15)',
      loadavg()
        .map((l) => fmt(l))
        .join(', '),
    ],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n\n`);
  const problems: string[] = [];
  if (ours.size !== CONTAINERS) problems.push(`hub has ${ours.size} of ${CONTAINERS} containers`);
  if (RATE > 0 && !(Math.abs(reqRate - RATE) / RATE < 0.1))
    problems.push(`nginx.requests ${fmt(reqRate, 0)}/s, not ≈${RATE}`);
  if (problems.length) process.stdout.write(`WARNING: ${problems.join('; ')}\n`);
  process.stdout.write(
    `agent CPU % of one core: ${fmt(cpuPct)} (target < ${TARGET_CPU}), RSS MB: ${fmt(Math.max(rssMaxMb, hwmMb), 1)} (target < ${TARGET_RSS_MB})\n`,
  );
}

try {
  await main();
  await cleanup();
  process.exit(0);
} catch (e) {
  log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  await cleanup();
  process.exit(1);
}
