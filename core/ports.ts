/**
 * The ports: one small interface per external system. The core depends on these only; each has
 * an embedded adapter (used by `npm start` and the tests) and real ones for running at scale.
 */

import type { AppSpec, AppStatus, DeployResult, OrchestratorEvent } from '../platform/types.ts';
import type { HubError } from './errors.ts';
import type { AlertEvent, LogRecord, MetricPoint, PointColumns, Span, Tags } from './model.ts';
import type { LookupResult, MetricQuery, SeriesResult } from './query.ts';

/* ---------------------------------------------------------------- Bus */

export type BusMessage = {
  /** Keeps related messages (a series, a trace) on one partition. */
  key?: string;
  value: Uint8Array;
  headers?: Record<string, string>;
};

export type BusRecord = BusMessage & {
  topic: string;
  partition: number;
  offset: number;
  /** Epoch ms when the bus appended it. */
  ts: number;
};

export type SubscribeOptions = {
  topic: string;
  /** Consumers of one group share the records; each group sees every record. */
  group: string;
  /**
   * Handles one batch (records of one partition). Offsets are committed only after it resolves,
   * up to the batch's last record or, when it answers `commitUpTo`, no further than that offset
   * (later records are delivered again after a restart). If it rejects, the same records are
   * delivered again after a backoff. It must therefore be idempotent.
   */
  onBatch(records: BusRecord[]): Promise<BatchResult>;
  /** Upper bound of one batch, in bytes of values. */
  maxBatchBytes?: number;
};

/** How far a handled batch may be committed: records after `commitUpTo` are not durable yet. */
export type BatchCommit = { commitUpTo: number };
/** What a batch handler answers: nothing (commit the whole batch) or how far to commit. */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers that answer nothing are `async () => {}`.
export type BatchResult = void | BatchCommit;

/** The offset to commit after a batch ending at `last`: the next to read, or less if held back. */
export function commitOffset(last: number, answer: BatchResult): number {
  return answer ? Math.min(last, answer.commitUpTo) + 1 : last + 1;
}

export type Subscription = {
  /** Stops delivery; the batch in flight finishes and is committed first. */
  close(): Promise<void>;
};

export type TopicStats = {
  topic: string;
  partition: number;
  endOffset: number;
  bytes: number;
  groups: { group: string; committed: number; lag: number }[];
};

export type Bus = {
  /** Appends messages; resolves only once they would survive a crash of the process. */
  publish(topic: string, messages: BusMessage[]): Promise<void>;
  /** Starts delivering records of `topic` to `onBatch`, from the group's committed offset. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Sizes, offsets and lag per topic and group, for `/metrics`. */
  stats(): Promise<TopicStats[]>;
  /**
   * Moves a record a consumer can never handle (it cannot be decoded) aside: publishes its key,
   * value and headers unchanged to the dead-letter topic, with the headers `obs-dlq-reason`,
   * `obs-dlq-topic`, `obs-dlq-partition` and `obs-dlq-offset`. The consumer then goes on with
   * the rest of its batch. Optional: a bus without it only logs and counts such records.
   */
  deadLetter?(record: BusRecord, reason: string): Promise<void>;
  /**
   * Joins the election of `group`: the hubs sharing the bus agree on one leader, which runs what
   * must run once (alert rules, the platform loop). Optional: a hub on a bus without it (the
   * embedded one, which no other hub shares) always leads.
   */
  lead?(group: string): Promise<Leadership>;
  close(): Promise<void>;
};

/** Whether this hub leads its group, and word when that changes. */
export type Leadership = {
  leads(): boolean;
  /** Calls `listener` on every change; returns the way to stop. */
  onChange(listener: (leads: boolean) => void): () => void;
  /** Leaves the election (another hub takes over at once). */
  close(): Promise<void>;
};

/** The leadership of a hub alone: it always leads. */
export const soleLeadership: Leadership = {
  leads: () => true,
  onChange: () => () => {},
  close: async () => {},
};

/* ---------------------------------------------------------------- MetricStore */

/** The projects a caller may see: only series whose `project` tag is one of them. Absent = all. */
export type ProjectScope = { projects: readonly string[] };

/** Where a batch came from, so that replaying it after a crash writes nothing twice. */
export type WriteCheckpoint = { stream: string; offset: number };

export type MetricStore = {
  /**
   * Stores points. Without a checkpoint they are durable once it resolves. With one, the store
   * records it in the same transaction, and `checkpoint(stream)` tells the last one stored; a
   * store may keep the newest points in memory a while (see `durableUpTo`), the bus holding them.
   */
  write(points: MetricPoint[], checkpoint?: WriteCheckpoint): Promise<void>;
  /** `write` for points as columns (`PointColumns`), when the store takes them so. */
  writeColumns?(columns: PointColumns, checkpoint?: WriteCheckpoint): Promise<void>;
  /** The last checkpoint stored for `stream`, or -1: a restart replays the records after it. */
  checkpoint(stream: string): Promise<number>;
  /**
   * The offset of `stream` up to which every point written is durable in the store; the bus must
   * keep the records after it. Absent: every write is durable when it resolves.
   */
  durableUpTo?(stream: string): number;
  /** Evaluates an OpenTSDB-style query over the series in scope. */
  query(query: MetricQuery, scope?: ProjectScope): Promise<SeriesResult[]>;
  /**
   * `query`'s answer as OpenTSDB's JSON (`toOpenTsdbJson`), UTF-8, for a store that writes it
   * off the main thread (the embedded store on its own thread). Absent: the caller writes it.
   */
  queryJson?(query: MetricQuery, scope?: ProjectScope): Promise<Uint8Array>;
  /** Names for auto-completion: metrics, tag keys or tag values starting with `prefix`, of the series in scope. */
  suggest(
    type: 'metrics' | 'tagk' | 'tagv',
    prefix: string,
    max: number,
    scope?: ProjectScope,
  ): Promise<string[]>;
  /** Series in scope of a metric (or of any metric, with `metric` = `*`) whose tags match. */
  lookup(metric: string, tags: Tags, limit: number, scope?: ProjectScope): Promise<LookupResult[]>;
  /** Bytes this store keeps on disk. */
  diskBytes(): Promise<number>;
  close(): Promise<void>;
};

/* ---------------------------------------------------------------- Spans and logs */

export type SpanQuery = {
  service?: string;
  name?: string;
  tags?: Tags;
  minDuration?: number;
  /** Epoch µs. */
  start: number;
  /** Epoch µs. */
  end: number;
  limit: number;
};

export type SpanStore = {
  /** Stores spans durably; writing the same span twice keeps one. */
  write(spans: Span[]): Promise<void>;
  /** Every stored span of a trace. */
  getTrace(traceId: string): Promise<Span[]>;
  /** Trace ids whose spans match, newest first. */
  search(query: SpanQuery): Promise<string[]>;
  services(): Promise<string[]>;
  close(): Promise<void>;
};

export type LogQuery = { source?: string; text?: string; start: number; end: number; limit: number };

export type LogStore = {
  write(records: LogRecord[]): Promise<void>;
  search(query: LogQuery): Promise<LogRecord[]>;
  close(): Promise<void>;
};

/* ---------------------------------------------------------------- Notifier */

export type NotifyResult = { ok: true } | { ok: false; error: HubError };

export type Notifier = {
  /** Sends one group of alerts to one receiver; failures come back as a result, never thrown. */
  notify(receiver: string, alerts: AlertEvent[]): Promise<NotifyResult>;
};

/* ---------------------------------------------------------------- Orchestrator */

/**
 * What runs the apps: Marathon, Chronos (Cron apps) or a Docker host. Types live in
 * `platform/types.ts`; adapters in `platform/orchestrators/`.
 */
export type Orchestrator = {
  /** `marathon`, `chronos`, `docker`: shown with every app and decision. */
  readonly name: string;
  /** Every app it runs, with its tasks and running deployments. */
  listApps(): Promise<AppStatus[]>;
  /** One app, or undefined when it does not exist. */
  getApp(id: string): Promise<AppStatus | undefined>;
  /**
   * Sets an app's instance count. Rejects with `HubError` `CONFLICT` while a deployment locks the
   * app (unless `force`), `INVALID_INPUT` with field details on a validation error.
   */
  scale(id: string, instances: number, options?: { force?: boolean }): Promise<DeployResult>;
  /** Creates or updates an app; validation errors come back as `INVALID_INPUT` naming the field. */
  deploy(spec: AppSpec): Promise<DeployResult>;
  /** Follows deployments and task changes until `close`; reconnects on its own. */
  watch(onEvent: (event: OrchestratorEvent) => void): { close(): void };
  close(): Promise<void>;
};

/* ---------------------------------------------------------------- ContainerSource */

export type ContainerInfo = {
  id: string;
  /** Tags every point of this container carries: project, app, task, container. */
  tags: Tags;
  /** A pid inside the container, for its network namespace. */
  pid?: number;
  cgroupPath: string;
};

export type ContainerSource = {
  /** Containers running now. */
  list(): Promise<ContainerInfo[]>;
  /** One sample of every metric of these containers. */
  sample(containers: ContainerInfo[], ts: number): Promise<MetricPoint[]>;
};
