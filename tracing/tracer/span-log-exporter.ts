/**
 * Appends finished spans to a span-log file, one JSON object per line (the format the span-log
 * tailer of the agent reads, written by the codec's `formatSpanLogLine`). Spans finished while a
 * write is in flight go out together in the next one.
 */

import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HubError } from '../../core/errors.ts';
import type { Span } from '../../core/model.ts';
import { formatSpanLogLine } from '../codec/span-log.ts';
import { closedResult, EXPORT_SUCCESS, type ExportResult, failed, type SpanExporter } from './exporter.ts';

export type SpanLogExporterOptions = {
  /** The file; created with its directory when missing, appended to otherwise. */
  path: string;
};

export type SpanLogExporter = SpanExporter & { readonly path: string };

type Waiter = (result: ExportResult) => void;

export function createSpanLogExporter(options: SpanLogExporterOptions): SpanLogExporter {
  let handle: Promise<FileHandle> | undefined;
  let pending: string[] = [];
  let waiters: Waiter[] = [];
  let writing: Promise<void> | undefined;
  let closed = false;

  const file = () => {
    handle ??= mkdir(dirname(options.path), { recursive: true }).then(() => open(options.path, 'a'));
    return handle;
  };

  const writeLoop = async () => {
    while (pending.length > 0) {
      const text = pending.join('');
      const done = waiters;
      pending = [];
      waiters = [];
      let result: ExportResult = EXPORT_SUCCESS;
      try {
        await (await file()).write(text);
      } catch (e) {
        const stale = handle;
        handle = undefined;
        stale?.then((h) => h.close()).catch(() => {});
        result = failed(
          new HubError('STORE_FAILED', `Cannot append spans to ${options.path}: ${(e as Error).message}`, {
            cause: e,
            canRetry: true,
            where: options.path,
          }),
        );
      }
      for (const w of done) w(result);
    }
    writing = undefined;
  };

  return {
    path: options.path,

    export(spans: readonly Span[]) {
      if (closed) return Promise.resolve(closedResult('span-log exporter'));
      if (spans.length === 0) return Promise.resolve(EXPORT_SUCCESS);
      let text = '';
      for (const s of spans) text += formatSpanLogLine(s) + '\n';
      pending.push(text);
      const result = new Promise<ExportResult>((resolve) => waiters.push(resolve));
      writing ??= writeLoop();
      return result;
    },

    async flush() {
      if (writing) await writing;
      return EXPORT_SUCCESS;
    },

    async shutdown() {
      closed = true;
      if (writing) await writing;
      const h = handle;
      handle = undefined;
      if (h) await (await h).close().catch(() => {});
    },
  };
}
