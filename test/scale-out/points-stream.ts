/**
 * Streams of points for the scale-out tests: writers that send batches to hubs' `/api/put` and
 * count what was acknowledged, and VictoriaMetrics' own export to count what was stored.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MetricPoint } from '../../core/model.ts';
import { VM_HTTP } from './scale-out-harness.ts';

/** `series` series of `metric` with `perSeries` points each; every (series, ts) has its own value. */
export function makePoints(metric: string, series: number, perSeries: number, t0: number): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let i = 0; i < perSeries; i++)
    for (let s = 0; s < series; s++)
      points.push({
        metric,
        tags: { series: `s${s}`, host: `h${s % 7}` },
        ts: t0 + i * 1000 + (s % 1000),
        value: s * 10_000 + i + 0.25,
      });
  return points;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One point's identity in a run: its series and timestamp. */
export const pointKey = (p: MetricPoint) => `${p.tags['series']}@${p.ts}`;

export type WriterStats = {
  /** Points whose `/api/put` answered 2xx, by identity, with the value sent. */
  acked: Map<string, number>;
  /** HTTP answers by status (0: no answer: refused connection, reset, timeout). */
  statuses: Map<number, number>;
  /** Batches that never got a 2xx (the writer gave up on them). */
  unacked: number;
  /** The longest a single `/api/put` took until it was answered, ms. */
  slowestMs: number;
};

export type WriterOptions = {
  /** The hub to send a batch to, on each attempt (a writer may fail over to another hub). */
  target: (attempt: number) => string | undefined;
  /** Wait between batches, ms (a steady stream rather than a burst). */
  pauseMs?: number;
  /** Wait before sending a failed batch again, ms. */
  retryMs?: number;
  /** Give a batch up after this many failed attempts (default: never, like the agent's spool). */
  maxAttempts?: number;
  /** Per request, ms. */
  timeoutMs?: number;
  stats?: WriterStats;
};

export function newWriterStats(): WriterStats {
  return { acked: new Map(), statuses: new Map(), unacked: 0, slowestMs: 0 };
}

/** POSTs one batch to a hub's `/api/put`; the HTTP status, or 0 when no answer came. */
async function put(hub: string, batch: MetricPoint[], timeoutMs: number): Promise<number> {
  const body = JSON.stringify(
    batch.map((p) => ({ metric: p.metric, timestamp: p.ts, value: p.value, tags: p.tags })),
  );
  try {
    const res = await fetch(`${hub}api/put`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Sends `batches` one after another, each until a hub acknowledges it (2xx), as the agent's
 * shipper does: 5xx, 429 and no answer are tried again after `retryMs`; anything else is a bug.
 */
export async function writeStream(batches: MetricPoint[][], options: WriterOptions): Promise<WriterStats> {
  const stats = options.stats ?? newWriterStats();
  const timeoutMs = options.timeoutMs ?? 60_000;
  for (const batch of batches) {
    let done = false;
    for (let attempt = 1; !done; attempt++) {
      const hub = options.target(attempt);
      if (hub === undefined || (options.maxAttempts !== undefined && attempt > options.maxAttempts)) break;
      const started = performance.now();
      const status = await put(hub, batch, timeoutMs);
      stats.slowestMs = Math.max(stats.slowestMs, performance.now() - started);
      stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
      if (status >= 200 && status < 300) {
        for (const p of batch) stats.acked.set(pointKey(p), p.value);
        done = true;
      } else if (status !== 0 && status !== 429 && status < 500) {
        throw new Error(`${hub}api/put answered ${status}: the writer's points are valid`);
      } else {
        await sleep(options.retryMs ?? 200);
      }
    }
    if (!done) stats.unacked++;
    if (options.pauseMs) await sleep(options.pauseMs);
  }
  return stats;
}

/**
 * Every stored point whose metric matches the regular expression `metricRe` and which carries
 * `tags`, through VictoriaMetrics' own export after a flush.
 */
export async function exportPoints(
  metricRe: string,
  tags: Record<string, string> = {},
): Promise<MetricPoint[]> {
  await fetch(`${VM_HTTP}/internal/force_flush`);
  const matchers = [`__name__=~"${metricRe}"`, ...Object.entries(tags).map(([k, v]) => `${k}="${v}"`)];
  const res = await fetch(`${VM_HTTP}/api/v1/export`, {
    method: 'POST',
    body: new URLSearchParams({ 'match[]': `{${matchers.join(',')}}` }),
  });
  if (res.status !== 200)
    throw new Error(`VictoriaMetrics export answered ${res.status}: ${await res.text()}`);
  const points: MetricPoint[] = [];
  for (const line of (await res.text()).split('\n')) {
    if (line.trim() === '') continue;
    const series = JSON.parse(line) as {
      metric: Record<string, string>;
      values: number[];
      timestamps: number[];
    };
    const { __name__: name, ...tags } = series.metric;
    series.timestamps.forEach((ts, i) => {
      points.push({ metric: name!, tags, ts, value: series.values[i]! });
    });
  }
  return points;
}

export type StoredCheck = {
  /** Points VictoriaMetrics holds for the metric. */
  stored: number;
  /** Acknowledged points it does not hold. */
  missing: string[];
  /** Points held with a value other than the one sent. */
  wrong: string[];
  /** Identities held more than once (the export already merges duplicates; a safety net). */
  doubled: string[];
  /** Points held that no writer sent. */
  foreign: string[];
};

/** Compares what VictoriaMetrics holds for `metric` with what was acknowledged (and sent). */
export async function checkStored(
  metric: string,
  acked: Map<string, number>,
  sent: Map<string, number>,
): Promise<StoredCheck> {
  const held = new Map<string, number>();
  const check: StoredCheck = { stored: 0, missing: [], wrong: [], doubled: [], foreign: [] };
  for (const p of await exportPoints(metric.replaceAll('.', '[.]'))) {
    const key = pointKey(p);
    check.stored++;
    if (held.has(key)) check.doubled.push(key);
    held.set(key, p.value);
    const want = sent.get(key);
    if (want === undefined) check.foreign.push(key);
    else if (want !== p.value) check.wrong.push(`${key}: ${p.value} instead of ${want}`);
  }
  for (const key of acked.keys()) if (!held.has(key)) check.missing.push(key);
  return check;
}

/** A counter on a hub's Prometheus `/metrics`, summed over its label sets. */
export async function hubCounter(hub: string, name: string): Promise<number> {
  const text = await (await fetch(`${hub}metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
