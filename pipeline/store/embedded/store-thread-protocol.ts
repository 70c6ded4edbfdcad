/**
 * The messages between the hub's main thread and the thread that runs its embedded metric store
 * (`store-thread.ts` sends, `store-worker.ts` answers). Everything here is structured-cloned;
 * the point columns of a write move as typed arrays, without a copy.
 */
import type { LogLevel } from '../../../core/logger.ts';
import type { Tags } from '../../../core/model.ts';
import type { ProjectScope, WriteCheckpoint } from '../../../core/ports.ts';
import type { MetricQuery, SeriesResult } from '../../../core/query.ts';
import type { EmbeddedMetricStoreOptions } from './embedded-metric-store.ts';

/** What the thread opens its store with (the clock is the thread's own, the logger the hub's). */
export type StoreThreadInit = Omit<EmbeddedMetricStoreOptions, 'clock' | 'logger'>;

/** A series the main thread numbered: sent once, before the first write that names it by `ref`. */
export type SeriesDefinition = { ref: number; metric: string; tags: Tags };

export type StoreStats = { series: number; hotPoints: number; openPoints: number };

export type StoreRequest = { id: number } & (
  | {
      op: 'write';
      fresh: SeriesDefinition[];
      refs: Int32Array;
      ts: Float64Array;
      values: Float64Array;
      checkpoint: WriteCheckpoint | undefined;
    }
  | { op: 'checkpoint'; stream: string }
  | { op: 'query' | 'queryJson'; query: MetricQuery; scope: ProjectScope | undefined }
  | {
      op: 'suggest';
      type: 'metrics' | 'tagk' | 'tagv';
      prefix: string;
      max: number;
      scope: ProjectScope | undefined;
    }
  | { op: 'lookup'; metric: string; tags: Tags; limit: number; scope: ProjectScope | undefined }
  | { op: 'diskBytes' }
  | { op: 'maintain' }
  | { op: 'close' }
);

/**
 * A query's answer as it crosses between the threads: each series' fields without its points,
 * then every series' points one after the other in three columns (`nulls` only when a value is
 * null). Cloning the answer's `[time, value]` pairs one by one took longer than the query.
 */
export type PackedResults = {
  series: (Omit<SeriesResult, 'dps'> & { points: number })[];
  ts: Float64Array;
  values: Float64Array;
  nulls: Uint8Array | undefined;
};

/** A failure, as the thread saw it: a `HubError`'s code and place come back with it. */
export type ThreadError = { message: string; code?: string; where?: string; stack?: string };

export type StoreMessage =
  | {
      kind: 'reply';
      id: number;
      ok: true;
      value: unknown;
      stats: StoreStats;
      /** After a write with a checkpoint: the offset of its stream up to which the store is durable. */
      durable?: { stream: string; offset: number };
    }
  | { kind: 'reply'; id: number; ok: false; error: ThreadError; stats: StoreStats }
  | { kind: 'ready'; stats: StoreStats }
  | { kind: 'failed'; error: ThreadError }
  | { kind: 'stats'; stats: StoreStats }
  | { kind: 'log'; level: LogLevel; msg: string; fields: Record<string, unknown> | undefined };

export function packResults(results: readonly SeriesResult[]): PackedResults {
  let total = 0;
  for (const r of results) total += r.dps.length;
  const ts = new Float64Array(total);
  const values = new Float64Array(total);
  let nulls: Uint8Array | undefined;
  let at = 0;
  const series = results.map(({ dps, ...fields }) => {
    for (const [t, v] of dps) {
      ts[at] = t;
      if (v === null) {
        nulls ??= new Uint8Array(total);
        nulls[at] = 1;
      } else values[at] = v;
      at++;
    }
    return { ...fields, points: dps.length };
  });
  return { series, ts, values, nulls };
}

export function unpackResults(packed: PackedResults): SeriesResult[] {
  const { ts, values, nulls } = packed;
  let at = 0;
  return packed.series.map(({ points, ...fields }) => {
    const dps = new Array<[number, number | null]>(points);
    for (let i = 0; i < points; i++, at++) dps[i] = [ts[at]!, nulls?.[at] ? null : values[at]!];
    return { ...fields, dps };
  });
}
