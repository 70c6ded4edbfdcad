import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../../core/clock.ts';
import type { Logger } from '../../../core/logger.ts';
import type { MaybeMemo, MetricPoint, PointColumns } from '../../../core/model.ts';
import type { MetricStore, ProjectScope, WriteCheckpoint } from '../../../core/ports.ts';
import type { MetricQuery, RawSeries, SeriesResult, SubQuery } from '../../../core/query.ts';
import { columnsOf } from '../../codec/point-columns.ts';
import { evaluateQuery } from '../../query/evaluate.ts';
import { compileFilters } from '../../query/filters.ts';
import { encodeChunk } from './chunk-codec.ts';
import { SerialQueue } from './duck-file.ts';
import {
  type Columns,
  DuckPoints,
  type RollupStat,
  type RollupTable,
  type SealedChunk,
} from './duck-points.ts';
import { HotWindow } from './hot-window.ts';
import { type Candidate, latePoints } from './late-points.ts';
import { OpenChunks, type Taken } from './open-chunks.ts';
import { type SeriesEntry, SeriesIndex } from './series-index.ts';
import { inScope, lookup, suggest } from './series-lookup.ts';

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
  /** Points a series gathers before they are sealed into a chunk on disk (default 240). */
  chunkPoints?: number;
  /** Points a full chunk keeps open past `chunkPoints`, for out-of-order writers (default 16). */
  stragglers?: number;
  /** Series seal up to this many points apart, so that series written in step do not seal together (default chunkPoints / 8). */
  sealSpread?: number;
  /**
   * Most points held open in all (default 4 M): past it every open chunk is sealed, so memory
   * stays bounded and the records to replay stay well within the embedded bus's retention (at
   * about 210 bytes a point there, 4 M points are 0.8 GiB of its 4 GiB).
   */
  maxOpenPoints?: number;
  /** Longest a chunk stays open, ms of wall-clock time (default 30 min): how far a crash replays. */
  maxOpenMs?: number;
};

export type EmbeddedMetricStore = MetricStore & {
  /** Seals stale chunks, rolls up, applies retention and evicts the hot window now. */
  maintain(): Promise<void>;
  /**
   * Series; points of the in-memory window; points of open chunks (durable on the bus only, not
   * yet sealed into the file).
   */
  stats(): { series: number; hotPoints: number; openPoints: number };
};

/** Where a part of the time range is read: DuckDB (`read`), or the in-memory window per series. */
type Segment = { from: number; to: number } & (
  | { read: (sids: number[]) => Promise<Columns>; raw?: boolean; hot?: undefined }
  | { hot: true }
);

const MINUTE = 60_000;
const HOUR = 3_600_000;

/**
 * The embedded default MetricStore: a DuckDB file, with the recent window also in memory.
 *
 * Points reach the file in sealed chunks of one series each (`chunk-codec.ts`, about 2 bytes a
 * point), as a Prometheus head does: a series' points gather in memory until `chunkPoints` of
 * them or `maxOpenMs` have passed. Until then they are durable on the bus, and the checkpoint the
 * store records for a stream stays before the first record of any open chunk, so a restart
 * replays them. A point at or before its series' last sealed chunk is late: it is stored as a
 * row, unless the store already holds that exact point (a replay).
 */
export async function createEmbeddedMetricStore(
  options: EmbeddedMetricStoreOptions,
): Promise<EmbeddedMetricStore> {
  const { clock, logger } = options;
  const hotWindowMs = options.hotWindowMs ?? 2 * HOUR;
  const chunkPoints = options.chunkPoints ?? 240;
  const stragglers = options.stragglers ?? 16;
  // Series written in step (every container's metrics, every 10 s) would fill their chunks in the
  // same batch and seal them all at once: the main thread stopped for 50–100 ms at 3,000 series
  // (the chunk codec). Each series seals at its own phase, `sid % sealSpread` points later.
  const sealSpread = Math.max(1, options.sealSpread ?? Math.floor(chunkPoints / 8));
  const maxOpenPoints = options.maxOpenPoints ?? 4_000_000;
  const maxOpenMs = options.maxOpenMs ?? 30 * MINUTE;
  const retention = {
    raw: options.rawRetentionMs ?? 15 * 86_400_000,
    rollup1m: options.rollup1mRetentionMs ?? 90 * 86_400_000,
    rollup1h: options.rollup1hRetentionMs ?? 730 * 86_400_000,
  };
  await mkdir(options.dataDir, { recursive: true });
  const duck = await DuckPoints.open(join(options.dataDir, 'metrics.duckdb'));
  const index = new SeriesIndex();
  for (const s of await duck.loadSeries()) index.restore(s.id, s.metric, s.tags);
  let rolled = await duck.rolledUp(clock.now(), retention);
  /** Per series, the end of its last sealed chunk. */
  const sealed: number[] = [];
  for (const [sid, t1] of await duck.loadSealed()) sealed[sid] = t1;
  const hot = new HotWindow(clock.now() - hotWindowMs);
  const recent = await duck.readRaw(undefined, hot.from, Number.MAX_SAFE_INTEGER);
  for (let i = 0; i < recent.ts.length; i++) hot.add(recent.sid[i]!, recent.ts[i]!, recent.value[i]!);
  logger.info('metric store opened', { series: index.size, hotPoints: hot.points });

  const open = new OpenChunks();
  /** Per stream, the offset of the last write stored. */
  const lastOffset = new Map<string, number>();
  /** Series not yet in the file: they go with the next transaction. */
  let unsaved: SeriesEntry[] = [];
  const queue = new SerialQueue();

  /**
   * Seals the oldest points of the series in `sealing` (how many each; all without a count),
   * stores them with the late points and the checkpoints, in one transaction.
   */
  async function commit(
    sealing: Map<number, number>,
    late: Columns,
    streams: Map<string, number>,
  ): Promise<void> {
    const now = clock.now();
    const taken: [number, Taken][] = [];
    const chunks: SealedChunk[] = [];
    for (const [sid, count] of sealing) {
      const t = open.take(sid, count);
      if (!t) continue;
      const n = t.ts.length;
      taken.push([sid, t]);
      chunks.push({ sid, t0: t.ts[0]!, t1: t.ts[n - 1]!, n, data: encodeChunk(t.ts, t.values, n) });
    }
    if (chunks.length === 0 && late.ts.length === 0) return;
    const checkpoints = [...streams].map(([stream, offset]) => ({
      stream,
      offset: open.resumeFrom(stream, offset),
    }));
    try {
      await duck.write({ series: unsaved, chunks, late, checkpoints });
    } catch (e) {
      for (const [sid, t] of taken) open.restore(sid, t, now);
      throw e;
    }
    unsaved = [];
    for (const c of chunks) sealed[c.sid] = Math.max(c.t1, sealed[c.sid] ?? Number.NEGATIVE_INFINITY);
  }

  function write(columns: PointColumns, checkpoint?: WriteCheckpoint): Promise<void> {
    const { series, ts, values } = columns;
    return queue.run(async () => {
      const pin = checkpoint
        ? open.pin(
            checkpoint.stream,
            lastOffset.get(checkpoint.stream) ?? (await duck.checkpoint(checkpoint.stream)),
          )
        : undefined;
      const now = clock.now();
      const n = series.length;
      const sids = new Array<number>(n);
      const sealing = new Map<number, number>();
      const candidates: Candidate[] = [];
      for (let i = 0; i < n; i++) {
        const s = series[i] as MaybeMemo;
        let sid: number;
        if (s.storeOf === index) sid = s.storeId!;
        else {
          const r = index.resolve(s.metric, s.tags);
          if (r.created) unsaved.push(r.entry);
          sid = r.entry.id;
          if ('storeOf' in s) {
            s.storeOf = index;
            s.storeId = sid;
          }
        }
        sids[i] = sid;
        const t = ts[i]!;
        if (t <= (sealed[sid] ?? Number.NEGATIVE_INFINITY)) {
          candidates.push({ sid, ts: t, value: values[i]! });
          continue;
        }
        const size = open.add(sid, t, values[i]!, pin, now);
        // Without a checkpoint nothing on the bus holds the point: it is sealed at once. Else
        // the newest points stay open a while, for the stragglers of concurrent writers.
        if (!checkpoint) sealing.set(sid, Number.POSITIVE_INFINITY);
        else if (size >= chunkPoints + stragglers + (sid % sealSpread)) sealing.set(sid, chunkPoints);
      }
      const streams = new Map(lastOffset);
      if (checkpoint) streams.set(checkpoint.stream, checkpoint.offset);
      if (open.points > maxOpenPoints) {
        logger.warn('metric store: too many points open, sealing every chunk', {
          open: open.points,
          maxOpenPoints,
        });
        for (const sid of open.series()) sealing.set(sid, Number.POSITIVE_INFINITY);
      }
      await commit(sealing, await latePoints(candidates, hot, duck), streams);
      if (checkpoint) lastOffset.set(checkpoint.stream, checkpoint.offset);
      for (let i = 0; i < n; i++) hot.add(sids[i]!, ts[i]!, values[i]!);
    });
  }

  function segments(start: number, end: number, stat: RollupStat): Segment[] {
    const rollup = (table: RollupTable) => (sids: number[]) => duck.readRollup(table, stat, sids, start, end);
    const rawFrom = rolled.raw;
    const all: Segment[] = [
      { from: -Infinity, to: rolled.minute - 1, read: rollup('rollup_1h') },
      { from: rolled.minute, to: rawFrom - 1, read: rollup('rollup_1m') },
      {
        from: rawFrom,
        to: hot.from - 1,
        raw: true,
        read: (sids) => duck.readRaw(sids, Math.max(start, rawFrom), Math.min(end, hot.from - 1)),
      },
      { from: hot.from, to: Infinity, hot: true },
    ];
    return all.filter((s) => s.from <= end && s.to >= start && s.from <= s.to);
  }

  /** What a sub-query reads before the in-memory window: DuckDB, then the open chunks. */
  /** Points of one series read from disk; `weights` once a roll-up bucket is among them. */
  type DiskSeries = { ts: number[]; values: number[]; weights?: number[] };
  type Stored = {
    entries: SeriesEntry[];
    disk: Map<number, DiskSeries>;
    /** From where the in-memory window is read, if the range reaches it. */
    hotFrom?: number;
  };

  async function readStored(
    sub: SubQuery,
    start: number,
    end: number,
    scope?: ProjectScope,
  ): Promise<Stored> {
    const match = compileFilters(sub.filters);
    const entries = index.ofMetric(sub.metric).filter((e) => inScope(e.tags, scope) && match(e.tags));
    const disk = new Map<number, DiskSeries>();
    for (const e of entries) disk.set(e.id, { ts: [], values: [] });
    const sids = entries.map((e) => e.id);
    let hotFrom: number | undefined;
    const push = (sid: number, t: number, v: number, w = 1) => {
      const s = disk.get(sid)!;
      const n = s.ts.length;
      if (w !== 1 && !s.weights) s.weights = new Array<number>(n).fill(1);
      if (n > 0 && s.ts[n - 1] === t) {
        s.values[n - 1] = v;
        if (s.weights) s.weights[n - 1] = w;
      } else {
        s.ts.push(t);
        s.values.push(v);
        s.weights?.push(w);
      }
    };
    for (const seg of segments(start, end, rollupStat(sub))) {
      if (seg.hot) {
        hotFrom = Math.max(start, hot.from);
        continue;
      }
      const cols = await seg.read(sids);
      const w = cols.weight;
      for (let i = 0; i < cols.ts.length; i++) push(cols.sid[i]!, cols.ts[i]!, cols.value[i]!, w?.[i]);
      if (!seg.raw) continue;
      // Open chunks follow what is sealed: their points are newer than each series' last seal.
      for (const sid of sids) {
        const o = open.range(sid, Math.max(start, seg.from), Math.min(end, seg.to));
        for (let i = 0; i < o.ts.length; i++) push(sid, o.ts[i]!, o.values[i]!);
      }
    }
    return { entries, disk, hotFrom };
  }

  /**
   * The series of a sub-query: what was stored, then the in-memory window. The window is read
   * through views, valid until the next write: use them before anything is awaited.
   */
  function withHot({ entries, disk, hotFrom }: Stored, end: number): RawSeries[] {
    const out: RawSeries[] = [];
    for (const e of entries) {
      const s = disk.get(e.id)!;
      // Taken whole when nothing came from disk, else appended (a point at the last time read
      // from disk replaces it).
      const h = hotFrom === undefined ? undefined : hot.view(e.id, hotFrom, end);
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
            if (s.weights) s.weights[s.weights.length - 1] = 1;
            from = 1;
          }
          for (let i = from; i < h.ts.length; i++) {
            s.ts.push(h.ts[i]!);
            s.values.push(h.values[i]!);
            s.weights?.push(1);
          }
        }
      }
      if (ts.length === 0) continue;
      const series: RawSeries = { metric: e.metric, tags: e.tags, ts, values, key: e.key };
      if (s.weights) series.weights = s.weights;
      out.push(series);
    }
    return out;
  }

  async function query(q: MetricQuery, scope?: ProjectScope): Promise<SeriesResult[]> {
    const stored = await Promise.all(q.queries.map((sub) => readStored(sub, q.start, q.end, scope)));
    // Nothing is awaited from here on: the window's views hold while the query is evaluated, and
    // its answer holds copies.
    return evaluateQuery(q, (sub) => withHot(stored[q.queries.indexOf(sub)]!, q.end));
  }

  function maintain(): Promise<void> {
    return queue.run(async () => {
      const now = clock.now();
      const rawCut = Math.max(rolled.raw, Math.floor((now - retention.raw) / MINUTE) * MINUTE);
      const minuteCut = Math.max(rolled.minute, Math.floor((now - retention.rollup1m) / HOUR) * HOUR);
      // Chunks open too long, or holding points due for a roll-up, are sealed first.
      await commit(everything(open.stale(now - maxOpenMs, rawCut)), NO_POINTS, lastOffset);
      rolled = await duck.maintain(rawCut, minuteCut, now - retention.rollup1h);
      hot.evict(now - hotWindowMs);
    });
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
    write: (points: MetricPoint[], checkpoint?: WriteCheckpoint) => write(columnsOf(points), checkpoint),
    writeColumns: write,
    checkpoint: (stream) => duck.checkpoint(stream),
    durableUpTo: (stream) => open.resumeFrom(stream, lastOffset.get(stream) ?? -1),
    query,
    suggest: async (type, prefix, max, scope) => suggest(index, type, prefix, max, scope),
    lookup: async (metric, tags, limit, scope) => lookup(index, metric, tags, limit, scope),
    diskBytes: () => duck.diskBytes(),
    maintain,
    stats: () => ({ series: index.size, hotPoints: hot.points, openPoints: open.points }),
    async close() {
      stopTimer();
      await queue.run(() => commit(everything(open.series()), NO_POINTS, lastOffset));
      await duck.close();
    },
  };
}

const NO_POINTS: Columns = { sid: [], ts: [], value: [] };
/** Seal every point of these series. */
function everything(sids: number[]): Map<number, number> {
  return new Map(sids.map((sid) => [sid, Number.POSITIVE_INFINITY]));
}

function rollupStat(sub: SubQuery): RollupStat {
  const agg = sub.downsample?.aggregator ?? sub.aggregator;
  if (agg === 'sum' || agg === 'zimsum') return 'sum';
  if (agg === 'min' || agg === 'mimmin') return 'min';
  if (agg === 'max' || agg === 'mimmax') return 'max';
  if (agg === 'count') return 'count';
  return 'avg';
}
