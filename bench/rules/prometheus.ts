/**
 * The Prometheus side of `npm run bench:rules`: the same points as OpenMetrics, loaded with
 * `promtool tsdb create-blocks-from openmetrics`, the same rules in PromQL in one group, and a
 * Prometheus server evaluating them; the group's evaluation time is read from its own
 * `/api/v1/rules` (`evaluationTime`), once per evaluation.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../os.ts';
import { promRules, seriesOf, tagsOf, type Workload } from './workload.ts';

export type PromResult = {
  version: string;
  evaluations: number[];
  /** Firing alerts of the plain (`P_`) rules after the last evaluation. */
  firingPlain: number;
  loadSeconds: number;
};

/** Writes the points (`steps[k][i]` at `times[k]`) as OpenMetrics, one metric family at a time. */
async function writeOpenMetrics(
  path: string,
  w: Workload,
  times: number[],
  steps: Float64Array[],
): Promise<void> {
  const out = createWriteStream(path);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  const perMetric = w.apps * w.hosts;
  for (let m = 0; m < w.metrics; m++) {
    let chunk = `# TYPE bench_m${m} gauge\n`;
    for (let i = m * perMetric; i < (m + 1) * perMetric; i++) {
      const { a, h } = seriesOf(w, i);
      const t = tagsOf(a, h);
      const labels = `bench_m${m}{project="${t.project}",app="${t.app}",host="${t.host}"}`;
      for (let k = 0; k < times.length; k++) chunk += `${labels} ${steps[k]![i]} ${times[k]! / 1000}\n`;
      if (chunk.length > 1 << 20) {
        await write(chunk);
        chunk = '';
      }
    }
    await write(chunk);
  }
  await write('# EOF\n');
  out.end();
  await once(out, 'finish');
}

async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function prometheusAvailable(): string | undefined {
  try {
    return execFileSync('prometheus', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

export async function runPrometheus(
  dir: string,
  w: Workload,
  times: number[],
  steps: Float64Array[],
  evaluations: number,
  log: (line: string) => void,
): Promise<PromResult> {
  const version = prometheusAvailable() ?? 'unknown';
  await mkdir(join(dir, 'data'), { recursive: true });
  const started = Date.now();
  log('prometheus: writing OpenMetrics and creating blocks');
  await writeOpenMetrics(join(dir, 'points.om'), w, times, steps);
  execFileSync(
    'promtool',
    ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'points.om'), join(dir, 'data')],
    {
      stdio: 'ignore',
    },
  );
  const loadSeconds = (Date.now() - started) / 1000;
  await writeFile(join(dir, 'rules.yml'), promRules(w));
  await writeFile(
    join(dir, 'prometheus.yml'),
    'global:\n  evaluation_interval: 10s\nrule_files:\n  - rules.yml\nscrape_configs: []\n',
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // The points were written before the server started: keep them in sight.
      '--query.lookback-delta=1h',
      '--storage.tsdb.retention.time=30d',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor('prometheus ready', 120_000, async () =>
      (await fetch(`${base}/-/ready`)).ok ? true : undefined,
    );
    const seen: number[] = [];
    let last = '';
    log(`prometheus: ready; waiting for ${evaluations + 1} evaluations of ${w.rules} rules`);
    await waitFor('rule evaluations', (evaluations + 3) * 60_000, async () => {
      const body = await getJson(`${base}/api/v1/rules`);
      const group = body.data.groups[0];
      if (group && group.lastEvaluation !== last && !group.lastEvaluation.startsWith('0001')) {
        last = group.lastEvaluation;
        seen.push(group.evaluationTime * 1000);
        log(`prometheus: group evaluated in ${(group.evaluationTime * 1000).toFixed(0)} ms`);
      }
      return seen.length > evaluations ? true : undefined;
    });
    const alerts = await getJson(`${base}/api/v1/alerts`);
    const firingPlain = alerts.data.alerts.filter(
      (a: any) => a.state === 'firing' && String(a.labels.alertname).startsWith('P_'),
    ).length;
    // The first evaluation warms caches up: left out, as the hub's first cycle is.
    return { version, evaluations: seen.slice(1), firingPlain, loadSeconds };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${stderr}`);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}
