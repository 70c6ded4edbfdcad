/**
 * The workload of `npm run bench:rules`: S series over M metrics, A apps and H hosts
 * (`bench.m{m}{project, app, host}`), and R = M × A rules, one per metric and app, each alerting
 * per host when the max is above 90 — half written `expr: X > 90`, half with `fire: "> 90"` and
 * `clear: "< 80"`. The same rules in PromQL for Prometheus. Values come from a seeded generator,
 * so both systems get the same numbers.
 */

export type Workload = {
  series: number;
  rules: number;
  metrics: number;
  apps: number;
  hosts: number;
};

export function workload(series: number, rules: number): Workload {
  const hosts = Math.max(1, Math.floor(series / rules));
  const apps = Math.min(100, rules);
  const metrics = Math.ceil(rules / apps);
  return { series: metrics * apps * hosts, rules: metrics * apps, metrics, apps, hosts };
}

/** Series `i` in metric-major order: its metric, app and host numbers. */
export function seriesOf(w: Workload, i: number): { m: number; a: number; h: number } {
  const h = i % w.hosts;
  const a = Math.floor(i / w.hosts) % w.apps;
  const m = Math.floor(i / (w.hosts * w.apps));
  return { m, a, h };
}

export function tagsOf(a: number, h: number): { project: string; app: string; host: string } {
  return { project: `p${a % 10}`, app: `a${a}`, host: `h${h}` };
}

export function ruleName(m: number, a: number): string {
  return `${(m * 100 + a) % 2 === 0 ? 'P' : 'H'}_m${m}_a${a}`;
}

/** The hub's rule file (YAML text) for the workload. */
export function hubRules(w: Workload): string {
  const lines = ['groups:', '  - name: bench', '    interval: 10s', '    rules:'];
  for (let m = 0; m < w.metrics; m++)
    for (let a = 0; a < w.apps; a++) {
      const name = ruleName(m, a);
      const sel = `max:bench.m${m}{project=*,app=a${a},host=*}`;
      lines.push(`      - name: ${name}`);
      if (name.startsWith('P')) lines.push(`        expr: ${sel} > 90`);
      else lines.push(`        expr: ${sel}`, `        fire: "> 90"`, `        clear: "< 80"`);
      lines.push('        labels: { severity: page }');
    }
  return lines.join('\n') + '\n';
}

/** The same rules for Prometheus, one group. */
export function promRules(w: Workload): string {
  const lines = ['groups:', '  - name: bench', '    interval: 10s', '    rules:'];
  for (let m = 0; m < w.metrics; m++)
    for (let a = 0; a < w.apps; a++) {
      lines.push(`      - alert: ${ruleName(m, a)}`);
      lines.push(`        expr: max by (project, app, host) (bench_m${m}{app="a${a}"}) > 90`);
      lines.push('        labels: { severity: page }');
    }
  return lines.join('\n') + '\n';
}

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Values step by step: each series has a base in [0, 100) (about 10 % above 90) and moves by up
 * to ±3 per step, so some series cross the thresholds every step. Trigger series (every 50th)
 * sit at 40 until the benchmark pushes them to 99.
 */
export class Values {
  private readonly base: Float64Array;
  private readonly random: () => number;

  constructor(
    readonly w: Workload,
    seed = 42,
  ) {
    this.random = mulberry32(seed);
    this.base = new Float64Array(w.series);
    for (let i = 0; i < w.series; i++) this.base[i] = isTrigger(i) ? 40 : this.random() * 100;
  }

  /** The values of the next step. */
  next(): Float64Array {
    const out = new Float64Array(this.w.series);
    for (let i = 0; i < this.w.series; i++)
      out[i] = isTrigger(i) ? 40 : Math.round((this.base[i]! + (this.random() - 0.5) * 6) * 100) / 100;
    return out;
  }
}

export function isTrigger(i: number): boolean {
  return i % 50 === 0;
}
