/**
 * `npm run bench:nginx`: lines per second of nginx access-log parsing plus aggregation on one
 * realistic log (2,000,000 lines in the `platform` format, made by generate.ts), in one run:
 *
 *   ours       collector/nginx (chunked reads, compiled format, sketches), run-ours.ts, 3 runs
 *              pinned to one core, median reported, with the process's peak RSS; run with tsx as
 *              `bin/obs.mjs` runs the agent, again with V8's young generation capped (ours-s4),
 *              and bundled by esbuild on plain node (ours-js), to show what tsx and V8's default
 *              young generation cost in memory;
 *   mtail      Debian's mtail, `-one_shot` with nginx.mtail (counters by vhost and status, a
 *              request-time histogram);
 *   goaccess   Debian's goaccess on the same file, JSON report;
 *   naive      Node, readline and one regular expression per line (baselines.ts);
 *   readline   Node, readline doing nothing (baselines.ts).
 *
 * Every tool is checked to have seen every line. Wall time counts for lines/s; CPU seconds are
 * shown too, since other work on the machine slows the wall clock. mtail and goaccess are installed with apt-get
 * when missing and this runs as root. Progress goes to stderr; the table, then the ratios, to
 * stdout; the last line is ours against mtail. Figures are also written to bench/nginx/results/.
 *
 * Options: --lines N (default 2000000), --file PATH, --runs N (default 3), --seed N,
 * --only ours,mtail,goaccess,naive,readline.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LOG, generateLog } from './generate.ts';

const HERE = import.meta.dirname;
const ROOT = join(HERE, '..', '..');
const TOOLS = ['ours', 'mtail', 'goaccess', 'naive', 'readline'] as const;
type Tool = (typeof TOOLS)[number];

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '2000000' },
    file: { type: 'string', default: DEFAULT_LOG },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '42' },
    only: { type: 'string', default: TOOLS.join(',') },
  },
});
const LINES = Number(args.lines);
const FILE = args.file!;
const RUNS = Math.max(1, Number(args.runs));
const ONLY = new Set(args.only!.split(',') as Tool[]);
const progress = (s: string) => process.stderr.write(s + '\n');

type Result = {
  tool: string;
  lines: number;
  seconds: number;
  cpuSeconds?: number;
  peakRssMB?: number;
  note?: string;
};

function which(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  return dirs.map((d) => join(d, name)).find((p) => p.startsWith('/') && existsSync(p));
}

function ensureInstalled(binary: string, pkg: string): string | undefined {
  const found = which(binary);
  if (found) return found;
  if (process.getuid?.() !== 0) {
    progress(`${binary} is missing and this is not root: apt-get install -y ${pkg}`);
    return undefined;
  }
  progress(`installing ${pkg} with apt-get`);
  const install = () =>
    spawnSync('apt-get', ['install', '-y', pkg], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    install();
  }
  return which(binary);
}

/** Runs a command; resolves with its output and wall, user and system seconds (bash's `time`). */
function timed(
  command: string[],
  options: { stdout?: string } = {},
): Promise<{ out: string; err: string; wall: number; cpu: number }> {
  const quoted = command.map((c) => `'${c.replaceAll("'", "'\\''")}'`).join(' ');
  const redirect = options.stdout ? ` > '${options.stdout}'` : '';
  const script = `TIMEFORMAT='__time %R %U %S'; time ( ${quoted}${redirect} )`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      const m = /__time ([\d.]+) ([\d.]+) ([\d.]+)/.exec(err);
      if (code !== 0 || !m) reject(new Error(`${command.join(' ')} failed (${code}): ${err.slice(-2000)}`));
      else resolve({ out, err, wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) });
    });
  });
}

/** A Node child pinned to one core (the last one), when taskset exists. */
function pinned(argv: string[]): string[] {
  const taskset = which('taskset');
  return taskset ? [taskset, '-c', String(cpus().length - 1), ...argv] : argv;
}

async function ensureLog(): Promise<void> {
  const meta = FILE + '.meta.json';
  const want = { lines: LINES, seed: Number(args.seed), generator: 2 };
  if (existsSync(FILE) && existsSync(meta) && readFileSync(meta, 'utf8') === JSON.stringify(want)) return;
  progress(`generating ${LINES} lines into ${FILE}`);
  await generateLog(FILE, LINES, want.seed);
  writeFileSync(meta, JSON.stringify(want));
}

const tsx = [process.execPath, '--import', 'tsx'];

/**
 * Ours as `bin/obs.mjs` runs TypeScript (tsx); the same with V8's young generation capped
 * (`--max-semi-space-size=4`, MB); and bundled by esbuild (tsx's own) for plain node.
 */
type OursMode = 'tsx' | 'tsx-semi4' | 'bundled';
const OURS_TOOL: Record<OursMode, string> = { tsx: 'ours', 'tsx-semi4': 'ours-s4', bundled: 'ours-js' };

async function bundleOurs(dir: string): Promise<string | undefined> {
  try {
    const esbuild = await import('esbuild');
    const outfile = join(dir, 'run-ours.mjs');
    await esbuild.build({
      entryPoints: [join(HERE, 'run-ours.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
    return outfile;
  } catch (e) {
    progress(`cannot bundle ours with esbuild, skipping the bundled runs: ${(e as Error).message}`);
    return undefined;
  }
}

async function runOurs(mode: OursMode, command: string[]): Promise<Result[]> {
  const runs: Result[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { out } = await timed(pinned([...command, FILE]));
    const r = JSON.parse(out.trim().split('\n').pop()!);
    if (r.lines !== LINES || r.parsed !== LINES)
      throw new Error(`ours saw ${r.lines} lines, parsed ${r.parsed}`);
    progress(
      `ours (${mode}) run ${i + 1}: ${fmt(r.lines / r.seconds)} lines/s, peak RSS ${r.peakRssMB.toFixed(0)} MB`,
    );
    runs.push({
      tool: OURS_TOOL[mode],
      lines: r.lines,
      seconds: r.seconds,
      cpuSeconds: r.cpuSeconds,
      peakRssMB: r.peakRssMB,
    });
  }
  return runs;
}

/** The median run by rate, with the highest peak RSS of all runs. */
function summarize(runs: Result[], note: string): Result {
  const rates = runs.map((r) => r.lines / r.seconds);
  const med = runs[rates.indexOf(median(rates))]!;
  return { ...med, peakRssMB: Math.max(...runs.map((r) => r.peakRssMB!)), note };
}

async function runBaseline(mode: 'naive' | 'readline'): Promise<Result> {
  const { out } = await timed(pinned([...tsx, join(HERE, 'baselines.ts'), mode, FILE]));
  const r = JSON.parse(out.trim().split('\n').pop()!);
  if (r.lines !== LINES || r.parsed !== LINES)
    throw new Error(`${mode} saw ${r.lines} lines, parsed ${r.parsed}`);
  return { tool: mode, lines: r.lines, seconds: r.seconds, cpuSeconds: r.cpuSeconds, peakRssMB: r.peakRssMB };
}

async function runMtail(binary: string): Promise<Result> {
  const progs = await mkdtemp(join(tmpdir(), 'obs-mtail-'));
  try {
    await copyFile(join(HERE, 'nginx.mtail'), join(progs, 'nginx.mtail'));
    const output = join(progs, 'metrics.json');
    const t = await timed(
      [
        binary,
        '-one_shot',
        '-logtostderr',
        '-address',
        '127.0.0.1',
        '-port',
        '0',
        '-progs',
        progs,
        '-logs',
        FILE,
      ],
      { stdout: output },
    );
    const metrics = JSON.parse(readFileSync(output, 'utf8'));
    const sum = (name: string) =>
      (metrics[name] ?? []).reduce(
        (s: number, m: { LabelValues: { Value: { Value: number } }[] }) =>
          s + m.LabelValues.reduce((x, lv) => x + lv.Value.Value, 0),
        0,
      );
    const seen = sum('nginx_requests_total') + sum('nginx_lines_unparsed');
    if (seen !== LINES) throw new Error(`mtail saw ${seen} lines`);
    return {
      tool: 'mtail',
      lines: LINES,
      seconds: t.wall,
      cpuSeconds: t.cpu,
      note: `${sum('nginx_lines_unparsed')} unparsed; all cores`,
    };
  } finally {
    await rm(progs, { recursive: true, force: true });
  }
}

async function runGoaccess(binary: string): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'obs-goaccess-'));
  try {
    const report = join(dir, 'report.json');
    const t = await timed([
      binary,
      FILE,
      '--no-global-config',
      '--no-progress',
      '--log-format=%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T %^ %v %^',
      '--date-format=%d/%b/%Y',
      '--time-format=%H:%M:%S',
      '-o',
      report,
    ]);
    const general = JSON.parse(readFileSync(report, 'utf8')).general;
    if (general.total_requests !== LINES) throw new Error(`goaccess saw ${general.total_requests} lines`);
    return {
      tool: 'goaccess',
      lines: LINES,
      seconds: t.wall,
      cpuSeconds: t.cpu,
      note: `${general.failed_requests} failed`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  await ensureLog();
  const results: Result[] = [];
  const oursRuns: Record<OursMode, Result[]> = { tsx: [], 'tsx-semi4': [], bundled: [] };
  if (ONLY.has('ours')) {
    oursRuns.tsx = await runOurs('tsx', [...tsx, join(HERE, 'run-ours.ts')]);
    results.push(summarize(oursRuns.tsx, `median of ${RUNS}, run with tsx as bin/obs.mjs does`));
    const semi = [process.execPath, '--max-semi-space-size=4', '--import', 'tsx', join(HERE, 'run-ours.ts')];
    oursRuns['tsx-semi4'] = await runOurs('tsx-semi4', semi);
    results.push(summarize(oursRuns['tsx-semi4'], `median of ${RUNS}, tsx with --max-semi-space-size=4`));
    const dir = await mkdtemp(join(tmpdir(), 'obs-nginx-bundle-'));
    try {
      const bundle = await bundleOurs(dir);
      if (bundle) {
        oursRuns.bundled = await runOurs('bundled', [process.execPath, bundle]);
        results.push(summarize(oursRuns.bundled, `median of ${RUNS}, bundled JS on plain node`));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (ONLY.has('mtail')) {
    const bin = ensureInstalled('mtail', 'mtail');
    if (bin) {
      progress('mtail …');
      results.push(await runMtail(bin));
    }
  }
  if (ONLY.has('goaccess')) {
    const bin = ensureInstalled('goaccess', 'goaccess');
    if (bin) {
      progress('goaccess …');
      results.push(await runGoaccess(bin));
    }
  }
  for (const mode of ['naive', 'readline'] as const)
    if (ONLY.has(mode)) {
      progress(`${mode} …`);
      results.push(await runBaseline(mode));
    }

  const rate = (r: Result) => r.lines / r.seconds;
  const out: string[] = [];
  out.push(
    `nginx access log: ${LINES.toLocaleString('en')} lines, ${(readFileSync(FILE).length / 1e6).toFixed(0)} MB (${FILE})`,
  );
  out.push(`machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at the end`);
  out.push('');
  out.push('tool       lines/s   lines/cpu-s   wall s   cpu s   peak RSS   note');
  for (const r of results) {
    const perCpu = r.cpuSeconds ? fmt(r.lines / r.cpuSeconds) : '-';
    const rss = r.peakRssMB ? `${r.peakRssMB.toFixed(0)} MB` : '-';
    out.push(
      `${r.tool.padEnd(10)} ${fmt(rate(r)).padStart(7)}   ${perCpu.padStart(11)}   ${r.seconds.toFixed(2).padStart(6)}   ${(r.cpuSeconds ?? 0).toFixed(2).padStart(5)}   ${rss.padStart(8)}   ${r.note ?? ''}`,
    );
  }
  for (const [mode, runs] of Object.entries(oursRuns))
    if (runs.length > 1)
      out.push(
        `ours (${mode}) runs: ${runs.map((r) => fmt(rate(r))).join(', ')} lines/s, pinned to one core`,
      );
  const ours = results.find((r) => r.tool === 'ours');
  if (ours) {
    out.push('');
    for (const r of results.filter((x) => !x.tool.startsWith('ours')).reverse())
      out.push(`ours vs ${r.tool}: ${(rate(ours) / rate(r)).toFixed(1)}×`);
  }
  process.stdout.write(out.join('\n') + '\n');

  const dir = join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(
    join(dir, `nginx-${stamp}.json`),
    JSON.stringify({ lines: LINES, file: FILE, results, oursRuns, load: loadavg() }, null, 2) + '\n',
  );
}

process.chdir(ROOT);
await main();
