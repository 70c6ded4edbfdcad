/**
 * A small tracer: starts and finishes spans, carries the active span through async calls with
 * `AsyncLocalStorage`, and injects / extracts B3 context. Finished spans that were sampled go to one
 * exporter; export failures go to one error handler and never reach the application.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../../core/clock.ts';
import { toHubError } from '../../core/errors.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { Span, SpanKind, Tags } from '../../core/model.ts';
import { formatB3, type HeaderSource, parseB3, type SpanContext } from './b3.ts';
import {
  type ExportErrorHandler,
  type ExportResult,
  logExportErrors,
  type SpanExporter,
} from './exporter.ts';
import { createSampler, type Sampler, type SamplerSpec } from './sampler.ts';

export type TracerOptions = {
  /** The `service` of every span. */
  service: string;
  /** The `localIp` of every span. */
  localIp?: string;
  /** Default `always`. */
  sampler?: Sampler | SamplerSpec;
  /** Default: the system clock with sub-millisecond resolution. */
  clock?: Clock;
  exporter: SpanExporter;
  logger?: Logger;
  /** Receives failed exports. Default: a warning on `logger`. */
  onError?: ExportErrorHandler;
  /** Random ids by default; tests may pin them. */
  ids?: IdGenerator;
};

export type IdGenerator = { traceId(): string; spanId(): string };

export type Peer = { ip?: string; port?: number };

export type StartSpanOptions = {
  /** Default `local`. */
  kind?: SpanKind;
  /** The parent. Absent: the active span, if any. `null`: start a new trace. */
  parent?: SpanContext | null;
  tags?: Tags;
  /** Epoch µs; default now. */
  start?: number;
  peer?: Peer;
};

export type TagValue = string | number | boolean;

/** A span being recorded. Every method is a no-op after `finish`. */
export type TracerSpan = {
  readonly context: SpanContext;
  readonly name: string;
  readonly kind: SpanKind;
  /** False when the trace is not sampled: nothing is exported, the context still propagates. */
  readonly recording: boolean;
  setTag(key: string, value: TagValue): TracerSpan;
  /** An event at `ts` (epoch µs, default now). */
  annotate(value: string, ts?: number): TracerSpan;
  /** Marks the span failed: tag `error` holds the message, `exception.class` the error's class. */
  setError(error: unknown): TracerSpan;
  setPeer(peer: Peer): TracerSpan;
  /** Ends the span at `end` (epoch µs, default now) and hands it to the exporter. Idempotent. */
  finish(end?: number): void;
};

export type Tracer = {
  readonly service: string;
  startSpan(name: string, options?: StartSpanOptions): TracerSpan;
  /** The span whose code is running (set by `withSpan` / `trace`), if any. */
  activeSpan(): TracerSpan | undefined;
  /** Runs `fn` with `span` active: spans started inside, also after awaits, become its children. */
  withSpan<T>(span: TracerSpan, fn: () => T): T;
  /**
   * Starts a span, runs `fn` in it and finishes it when `fn` returns or its promise settles; a
   * throw or rejection is recorded on the span and passed on.
   */
  trace<T>(name: string, options: StartSpanOptions, fn: (span: TracerSpan) => T): T;
  /** B3 headers for `ctx`. */
  inject(ctx: SpanContext): Record<string, string>;
  /** The context in B3 headers, or undefined when absent or malformed. */
  extract(headers: HeaderSource): SpanContext | undefined;
  /** Waits for exports in flight and flushes the exporter. */
  flush(): Promise<ExportResult>;
  /** Flushes and shuts the exporter down. */
  shutdown(): Promise<void>;
};

const ZERO_ID = /^0+$/;

function randomHex(bytes: number): string {
  for (;;) {
    const id = randomBytes(bytes).toString('hex');
    if (!ZERO_ID.test(id)) return id;
  }
}

export const randomIds: IdGenerator = { traceId: () => randomHex(16), spanId: () => randomHex(8) };

/** `Date.now()` with the sub-millisecond part of the monotonic clock, so short spans get µs durations. */
export const preciseClock: Clock = {
  ...systemClock,
  now: () => performance.timeOrigin + performance.now(),
};

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function errorClass(error: unknown): string {
  if (error instanceof Error)
    return error.name && error.name !== 'Error' ? error.name : error.constructor.name;
  return typeof error;
}

function errorMessage(error: unknown): string {
  // Generated Thrift exceptions may carry a non-string `message` field of their own.
  if (error instanceof Error)
    return typeof error.message === 'string' && error.message !== '' ? error.message : 'true';
  if (typeof error === 'string' && error !== '') return error;
  return 'true';
}

type Finisher = (span: Span) => void;

class LiveSpan implements TracerSpan {
  readonly context: SpanContext;
  readonly recording: boolean;
  private readonly data: Span;
  private done = false;

  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    context: SpanContext,
    data: Span,
    private readonly now: () => number,
    private readonly onFinish: Finisher,
  ) {
    this.context = context;
    this.recording = context.sampled === true;
    this.data = data;
  }

  setTag(key: string, value: TagValue): TracerSpan {
    if (!this.done) this.data.tags[key] = String(value);
    return this;
  }

  annotate(value: string, ts?: number): TracerSpan {
    if (!this.done) this.data.annotations.push({ ts: ts ?? this.now(), value });
    return this;
  }

  setError(error: unknown): TracerSpan {
    if (this.done) return this;
    this.data.error = true;
    this.data.tags['error'] = errorMessage(error);
    if (error instanceof Error || typeof error !== 'string')
      this.data.tags['exception.class'] = errorClass(error);
    return this;
  }

  setPeer(peer: Peer): TracerSpan {
    if (this.done) return this;
    if (peer.ip !== undefined) this.data.peerIp = peer.ip;
    if (peer.port !== undefined) this.data.peerPort = peer.port;
    return this;
  }

  finish(end?: number): void {
    if (this.done) return;
    this.done = true;
    this.data.duration = Math.max(0, (end ?? this.now()) - this.data.start);
    if (this.recording) this.onFinish(this.data);
  }
}

/** Creates a tracer for one service. */
export function createTracer(options: TracerOptions): Tracer {
  return new TracerImpl(options);
}

class TracerImpl implements Tracer {
  readonly service: string;
  private readonly clock: Clock;
  private readonly sampler: Sampler;
  private readonly ids: IdGenerator;
  private readonly onError: ExportErrorHandler;
  private readonly storage = new AsyncLocalStorage<TracerSpan>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly nowUs = () => Math.round(this.clock.now() * 1000);
  private readonly exportSpan: Finisher = (span) => this.export(span);

  constructor(private readonly options: TracerOptions) {
    this.service = options.service;
    this.clock = options.clock ?? preciseClock;
    this.sampler = createSampler(options.sampler ?? 'always');
    this.ids = options.ids ?? randomIds;
    this.onError = options.onError ?? logExportErrors(options.logger ?? silentLogger);
  }

  startSpan(name: string, spanOptions: StartSpanOptions = {}): TracerSpan {
    const parent = spanOptions.parent === undefined ? this.storage.getStore()?.context : spanOptions.parent;
    const traceId = parent?.traceId ?? this.ids.traceId();
    const context: SpanContext = {
      traceId,
      spanId: this.ids.spanId(),
      sampled: parent?.sampled ?? this.sampler.shouldSample(traceId),
    };
    if (parent) context.parentId = parent.spanId;
    const kind = spanOptions.kind ?? 'local';
    const data: Span = {
      traceId,
      spanId: context.spanId,
      ...(parent ? { parentId: parent.spanId } : {}),
      name,
      kind,
      service: this.service,
      start: spanOptions.start ?? this.nowUs(),
      duration: 0,
      ...(this.options.localIp !== undefined ? { localIp: this.options.localIp } : {}),
      tags: { ...spanOptions.tags },
      annotations: [],
      error: false,
    };
    const span = new LiveSpan(name, kind, context, data, this.nowUs, this.exportSpan);
    if (spanOptions.peer) span.setPeer(spanOptions.peer);
    return span;
  }

  activeSpan(): TracerSpan | undefined {
    return this.storage.getStore();
  }

  withSpan<T>(span: TracerSpan, fn: () => T): T {
    return this.storage.run(span, fn);
  }

  trace<T>(name: string, spanOptions: StartSpanOptions, fn: (span: TracerSpan) => T): T {
    const span = this.startSpan(name, spanOptions);
    return this.storage.run(span, () => finishWhenSettled(span, () => fn(span)));
  }

  inject(ctx: SpanContext): Record<string, string> {
    return formatB3(ctx);
  }

  extract(headers: HeaderSource): SpanContext | undefined {
    return parseB3(headers);
  }

  async flush(): Promise<ExportResult> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    try {
      return await this.options.exporter.flush();
    } catch (e) {
      return { code: 'failed', error: toHubError(e) };
    }
  }

  async shutdown(): Promise<void> {
    await this.flush();
    try {
      await this.options.exporter.shutdown();
    } catch (e) {
      this.report(e);
    }
  }

  private report(e: unknown): void {
    try {
      this.onError(toHubError(e));
    } catch {
      // The error handler itself failed: nothing sensible is left to tell.
    }
  }

  private export(span: Span): void {
    let pending: Promise<void>;
    try {
      pending = this.options.exporter.export([span]).then(
        (result) => {
          if (result.code === 'failed') this.report(result.error);
        },
        (e: unknown) => this.report(e),
      );
    } catch (e) {
      this.report(e);
      return;
    }
    this.inFlight.add(pending);
    void pending.finally(() => this.inFlight.delete(pending));
  }
}

/**
 * Runs `fn` and finishes `span` when it returns, throws, or its promise settles; failures are
 * recorded on the span and passed on unchanged.
 */
export function finishWhenSettled<T>(span: TracerSpan, fn: () => T): T {
  let result: T;
  try {
    result = fn();
  } catch (e) {
    span.setError(e);
    span.finish();
    throw e;
  }
  if (!isThenable(result)) {
    span.finish();
    return result;
  }
  result.then(
    () => span.finish(),
    (e: unknown) => {
      span.setError(e);
      span.finish();
    },
  );
  return result;
}
