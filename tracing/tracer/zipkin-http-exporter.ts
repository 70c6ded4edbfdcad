/**
 * Posts finished spans as Zipkin v2 JSON to `/api/v2/spans` of a hub (or any Zipkin collector).
 * Spans wait in a bounded queue and go out in batches, when a batch is full or `flushIntervalMs`
 * after the first span queued. A full queue drops the new spans and counts them; a failed post is
 * counted and reported to `onError`, never retried (as the OpenTelemetry Zipkin exporter does).
 */
import { type Clock, systemClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { Span } from '../../core/model.ts';
import { toZipkinSpan } from '../codec/zipkin-json.ts';
import {
  closedResult,
  EXPORT_SUCCESS,
  type ExportErrorHandler,
  type ExportResult,
  failed,
  logExportErrors,
  type SpanExporter,
} from './exporter.ts';

export type ZipkinHttpExporterOptions = {
  /** The collector: `http://hub:9411` posts to `/api/v2/spans`; a URL with a path is used as is. */
  url: string;
  /** Spans per post. Default 100. */
  maxBatchSize?: number;
  /** Spans waiting at most; more are dropped. Default 2048. */
  maxQueueSize?: number;
  /** Longest wait of a queued span before it is posted. Default 1000 ms. */
  flushIntervalMs?: number;
  /** A post not answered within this fails. Default 10 s. */
  timeoutMs?: number;
  /** Extra request headers (an auth token). */
  headers?: Record<string, string>;
  clock?: Clock;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Receives failed posts. Default: a warning on `logger`. */
  onError?: ExportErrorHandler;
};

export type ZipkinHttpExporterStats = {
  queued: number;
  sent: number;
  /** Refused because the queue was full. */
  dropped: number;
  /** Lost in posts that failed. */
  failed: number;
};

export type ZipkinHttpExporter = SpanExporter & {
  readonly endpoint: string;
  stats(): ZipkinHttpExporterStats;
};

export function zipkinEndpoint(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/api/v2/spans';
  return u.toString();
}

export function createZipkinHttpExporter(options: ZipkinHttpExporterOptions): ZipkinHttpExporter {
  return new ZipkinHttpExporterImpl(options);
}

class ZipkinHttpExporterImpl implements ZipkinHttpExporter {
  readonly endpoint: string;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly clock: Clock;
  private readonly onError: ExportErrorHandler;
  private readonly counts: ZipkinHttpExporterStats = { queued: 0, sent: 0, dropped: 0, failed: 0 };
  private queue: Span[] = [];
  private cancelTimer: (() => void) | undefined;
  private sending: Promise<ExportResult> | undefined;
  private closed = false;

  constructor(private readonly options: ZipkinHttpExporterOptions) {
    this.endpoint = zipkinEndpoint(options.url);
    this.maxBatch = Math.max(1, options.maxBatchSize ?? 100);
    this.maxQueue = Math.max(1, options.maxQueueSize ?? 2048);
    this.clock = options.clock ?? systemClock;
    this.onError = options.onError ?? logExportErrors(options.logger ?? silentLogger);
  }

  async export(spans: readonly Span[]): Promise<ExportResult> {
    if (this.closed) return closedResult('Zipkin HTTP exporter');
    const room = Math.max(0, this.maxQueue - this.queue.length);
    const accepted = spans.length <= room ? spans : spans.slice(0, room);
    this.queue.push(...accepted);
    this.counts.queued = this.queue.length;
    this.schedule();
    const dropped = spans.length - accepted.length;
    if (dropped === 0) return EXPORT_SUCCESS;
    this.counts.dropped += dropped;
    return failed(
      new HubError('RATE_LIMITED', `Span queue full (${this.maxQueue}): dropped ${dropped} span(s)`, {
        canRetry: true,
        where: this.endpoint,
      }),
    );
  }

  flush(): Promise<ExportResult> {
    this.stopTimer();
    return this.send(true);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    await this.send(true);
  }

  stats(): ZipkinHttpExporterStats {
    return { ...this.counts };
  }

  private stopTimer(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** A full batch goes now; anything else waits at most `flushIntervalMs`. */
  private schedule(): void {
    if (this.queue.length >= this.maxBatch) {
      this.stopTimer();
      void this.send(false);
    }
    if (this.queue.length > 0 && !this.cancelTimer)
      this.cancelTimer = this.clock.setTimeout(() => {
        this.cancelTimer = undefined;
        void this.send(true);
      }, this.options.flushIntervalMs ?? 1000);
  }

  /** Queues a drain behind the one in flight: one post at a time. */
  private send(all: boolean): Promise<ExportResult> {
    const previous = this.sending ?? Promise.resolve(EXPORT_SUCCESS);
    const next = previous.then(() => this.drain(all));
    this.sending = next;
    void next.finally(() => {
      if (this.sending === next) this.sending = undefined;
    });
    return next;
  }

  /** Posts batches until the queue is empty (`all`) or holds less than a batch. */
  private async drain(all: boolean): Promise<ExportResult> {
    let last: ExportResult = EXPORT_SUCCESS;
    while (this.queue.length > 0 && (all || this.queue.length >= this.maxBatch)) {
      const batch = this.queue.slice(0, this.maxBatch);
      this.queue = this.queue.slice(batch.length);
      this.counts.queued = this.queue.length;
      const result = await this.post(batch);
      if (result.code === 'success') {
        this.counts.sent += batch.length;
        continue;
      }
      this.counts.failed += batch.length;
      last = result;
      try {
        this.onError(result.error);
      } catch {
        // A failing error handler must not stop the exporter.
      }
    }
    return last;
  }

  private async post(batch: Span[]): Promise<ExportResult> {
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const controller = new AbortController();
    const cancel = this.clock.setTimeout(() => controller.abort(), timeoutMs);
    const where = this.endpoint;
    try {
      const res = await (this.options.fetch ?? globalThis.fetch)(where, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.options.headers },
        body: JSON.stringify(batch.map(toZipkinSpan)),
        signal: controller.signal,
      });
      const text = await res.text().catch(() => '');
      if (res.ok) return EXPORT_SUCCESS;
      const code =
        res.status === 413 ? 'PAYLOAD_TOO_LARGE' : res.status >= 500 ? 'UNAVAILABLE' : 'BAD_REQUEST';
      const message = `POST ${where} answered ${res.status}: ${text.slice(0, 200)}`;
      return failed(new HubError(code, message, { canRetry: res.status >= 500, where }));
    } catch (e) {
      const timedOut = controller.signal.aborted;
      const message = timedOut
        ? `POST ${where} timed out after ${timeoutMs} ms`
        : `POST ${where} failed: ${(e as Error).message}`;
      return failed(
        new HubError(timedOut ? 'TIMEOUT' : 'UNAVAILABLE', message, { cause: e, canRetry: true, where }),
      );
    } finally {
      cancel();
    }
  }
}
