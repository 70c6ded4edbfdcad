import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../../core/clock.ts';
import type { Logger } from '../../../core/logger.ts';
import type { MetricPoint, Tags } from '../../../core/model.ts';
import type { MetricStore, ProjectScope, WriteCheckpoint } from '../../../core/ports.ts';
import type { LookupResult, MetricQuery, RawSeries, SeriesResult, SubQuery } from '../../../core/query.ts';
import { evaluateQuery } from '../../query/evaluate.ts';
import { compileFilters } from '../../query/filters.ts';
import { type Columns, DuckPoints, type RollupStat, type RollupTable } from './duck-points.ts';
import { HotWindow } from './hot-window.ts';
import { type SeriesEntry, SeriesIndex } from './series-index.ts';

export type EmbeddedMetricStoreOptions = {
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** How far back the in-memory window reaches, ms (default 2 h). */
  hotWindowMs?: number;
  rawRetentionMs?: number;
  rollup1mRetentionMs?: number;
  rollup1hRetentionMs?: number;
  /** How often roll-ups, retention and eviction run, ms (default 1 min); 0 turns it off. */
  maintenanceIntervalMs?: number;
};

export type EmbeddedMetricStore = MetricStore & {
  /** Rolls up, applies retention and evicts the hot window now. */
  maintain(): Promise<void>;
  /** Series and points the store holds in memory. */
  stats(): { series: number; hotPoints: number };
};

/** Where a part of the time range is read: DuckDB (`read`), or the in-memory window per series. */
type Segment = { from: number; to: number } & (
  | { read: (sids: number[]) => Promise<Columns>; hot?: undefined }
  | { hot: true }
);

/** The embedded default MetricStore: a DuckDB file, with the recent window also in memory. */
export async function createEmbeddedMetricStore(
  options: EmbeddedMetricStoreOptions,
): Promise<EmbeddedMetricStore> {
  const { clock, logger } = options;
  const hotWindowMs = options.hotWindowMs ?? 2 * 3_600_000;
  const retention = {
    raw: options.rawRetentionMs ?? 15 * 86_400_000,
    rollup1m: options.rollup1mRetentionMs ?? 90 * 86_400_000,
    rollup1h: options.rollup1hRetentionMs ?? 730 * 86_400_000,
  };
  await mkdir(options.dataDir, { recursive: true });
  const duck = await DuckPoints.open(join(options.dataDir, 'metrics.duckdb'));
  const index = new SeriesIndex();
  for (const s of await duck.loadSeries()) index.restore(s.id, s.metric, s.tags);
  const hot = new HotWindow(clock.now() - hotWindowMs);
  const recent = await duck.loadSince(hot.from);
  for (let i = 0; i < recent.ts.length; i++) hot.add(recent.sid[i]!, recent.ts[i]!, recent.value[i]!);
  logger.info('metric store opened', { series: index.size, hotPoints: hot.points });

  let unsaved: SeriesEntry[] = [];

  async function write(points: MetricPoint[], checkpoint?: WriteCheckpoint): Promise<void> {
    const created: SeriesEntry[] = unsaved;
    const cols: Columns = {
      sid: new Array(points.length),
      ts: new Array(points.length),
      value: new Array(points.length),
    };
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const r = index.resolve(p.metric, p.tags);
      if (r.created) created.push(r.entry);
      cols.sid[i] = r.entry.id;
      cols.ts[i] = p.ts;
      cols.value[i] = p.value;
    }
    unsaved = [];
    try {
      await duck.write(created, cols, checkpoint);
    } catch (e) {
      // The ids are taken in memory; their rows go with the next write that succeeds.
      unsaved = created;
      throw e;
    }
    for (let i = 0; i < points.length; i++) hot.add(cols.sid[i]!, cols.ts[i]!, cols.value[i]!);
  }

  function segments(sub: SubQuery, start: number, end: number): Segment[] {
    const now = clock.now();
    const rawFrom = now - retention.raw;
    const m1From = now - retention.rollup1m;
    const stat = rollupStat(sub);
    const rollup = (table: RollupTable) => (sids: number[]) => duck.readRollup(table, stat, sids, start, end);
    const all: Segment[] = [
      { from: -Infinity, to: m1From - 1, read: rollup('rollup_1h') },
      { from: m1From, to: rawFrom - 1, read: rollup('rollup_1m') },
      {
        from: rawFrom,
        to: hot.from - 1,
        read: (sids) => duck.readRaw(sids, Math.max(start, rawFrom), Math.min(end, hot.from - 1)),
      },
      { from: hot.from, to: Infinity, hot: true },
    ];
    return all.filter((s) => s.from <= end && s.to >= start && s.from <= s.to);
  }

  async function fetch(
    sub: SubQuery,
    start: number,
    end: number,
    scope?: ProjectScope,
  ): Promise<RawSeries[]> {
    const match = compileFilters(sub.filters);
    const entries = index.ofMetric(sub.metric).filter((e) => inScope(e.tags, scope) && match(e.tags));
    /** Points read from DuckDB so far, per series. */
    const disk = new Map<number, { ts: number[]; values: number[] }>();
    for (const e of entries) disk.set(e.id, { ts: [], values: [] });
    const sids = entries.map((e) => e.id);
    let hotFrom: number | undefined;
    for (const seg of segments(sub, start, end)) {
      if (seg.hot) {
        hotFrom = Math.max(start, hot.from);
        continue;
      }
      const cols = await seg.read(sids);
      for (let i = 0; i < cols.ts.length; i++) {
        const s = disk.get(cols.sid[i]!)!;
        const t = cols.ts[i]!;
        const n = s.ts.length;
        if (n > 0 && s.ts[n - 1] === t) s.values[n - 1] = cols.value[i]!;
        else {
          s.ts.push(t);
          s.values.push(cols.value[i]!);
        }
      }
    }
    const out: RawSeries[] = [];
    for (const e of entries) {
      const s = disk.get(e.id)!;
      // The in-memory window comes last: taken whole when nothing came from disk, else appended
      // (a point at the last time read from disk replaces it).
      const h = hotFrom === undefined ? undefined : hot.range(e.id, hotFrom, end);
      let ts: ArrayLike<number> = s.ts;
      let values: ArrayLike<number> = s.values;
      if (h && h.ts.length > 0) {
        if (s.ts.length === 0) {
          ts = h.ts;
          values = h.values;
        } else {
          let from = 0;
          if (s.ts[s.ts.length - 1] === h.ts[0]) {
            s.values[s.values.length - 1] = h.values[0]!;
            from = 1;
          }
          for (let i = from; i < h.ts.length; i++) {
            s.ts.push(h.ts[i]!);
            s.values.push(h.values[i]!);
          }
        }
      }
      if (ts.length > 0) out.push({ metric: e.metric, tags: e.tags, ts, values });
    }
    return out;
  }

  async function query(q: MetricQuery, scope?: ProjectScope): Promise<SeriesResult[]> {
    const fetched = await Promise.all(q.queries.map((sub) => fetch(sub, q.start, q.end, scope)));
    return evaluateQuery(q, (sub) => fetched[q.queries.indexOf(sub)] ?? []);
  }

  async function maintain(): Promise<void> {
    const now = clock.now();
    await duck.maintain(now, retention);
    hot.evict(now - hotWindowMs);
  }

  let maintaining = false;
  const interval = options.maintenanceIntervalMs ?? 60_000;
  const stopTimer =
    interval > 0
      ? clock.setInterval(() => {
          if (maintaining) return;
          maintaining = true;
          maintain()
            .catch((e) => logger.error('store maintenance failed', { err: e }))
            .finally(() => {
              maintaining = false;
            });
        }, interval)
      : () => {};

  return {
    write,
    checkpoint: (stream) => duck.checkpoint(stream),
    query,
    suggest: async (type, prefix, max, scope) => suggest(index, type, prefix, max, scope),
    lookup: async (metric, tags, limit, scope) => lookup(index, metric, tags, limit, scope),
    diskBytes: () => duck.diskBytes(),
    maintain,
    stats: () => ({ series: index.size, hotPoints: hot.points }),
    async close() {
      stopTimer();
      await duck.close();
    },
  };
}

function rollupStat(sub: SubQuery): RollupStat {
  const agg = sub.downsample?.aggregator ?? sub.aggregator;
  if (agg === 'sum' || agg === 'zimsum') return 'sum';
  if (agg === 'min' || agg === 'mimmin') return 'min';
  if (agg === 'max' || agg === 'mimmax') return 'max';
  if (agg === 'count') return 'count';
  return 'avg';
}

/** Whether a series belongs to a project the caller may see. */
function inScope(tags: Tags, scope: ProjectScope | undefined): boolean {
  if (!scope) return true;
  const project = tags['project'];
  return project !== undefined && scope.projects.includes(project);
}

function suggest(
  index: SeriesIndex,
  type: 'metrics' | 'tagk' | 'tagv',
  prefix: string,
  max: number,
  scope: ProjectScope | undefined,
): string[] {
  const found = new Set<string>();
  if (type === 'metrics' && !scope) {
    for (const m of index.metrics()) if (m.startsWith(prefix)) found.add(m);
    return [...found].sort().slice(0, max);
  }
  for (const e of index.all()) {
    if (!inScope(e.tags, scope)) continue;
    if (type === 'metrics') {
      if (e.metric.startsWith(prefix)) found.add(e.metric);
      continue;
    }
    for (const [k, v] of Object.entries(e.tags)) {
      const name = type === 'tagk' ? k : v;
      if (name.startsWith(prefix)) found.add(name);
    }
  }
  return [...found].sort().slice(0, max);
}

function lookup(
  index: SeriesIndex,
  metric: string,
  tags: Tags,
  limit: number,
  scope: ProjectScope | undefined,
): LookupResult[] {
  const pool = metric === '*' || metric === '' ? index.all() : index.ofMetric(metric);
  const wanted = Object.entries(tags);
  const out: LookupResult[] = [];
  for (const e of pool) {
    if (!inScope(e.tags, scope)) continue;
    const ok = wanted.every(([k, v]) =>
      k === '*' ? Object.values(e.tags).includes(v) : k in e.tags && (v === '*' || e.tags[k] === v),
    );
    if (!ok) continue;
    out.push({ metric: e.metric, tags: e.tags, tsuid: e.id.toString(16).padStart(12, '0').toUpperCase() });
    if (out.length >= limit) break;
  }
  return out;
}
