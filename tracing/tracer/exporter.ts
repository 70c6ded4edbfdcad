/**
 * Where finished spans go. Exporters never throw into the application: every call resolves with a
 * result, and failures of background work (a batch posted later) go to one error handler.
 */
import { HubError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Span } from '../../core/model.ts';

export type ExportResult = { code: 'success' } | { code: 'failed'; error: HubError };

export const EXPORT_SUCCESS: ExportResult = Object.freeze({ code: 'success' });

export type SpanExporter = {
  /** Hands finished spans over. Resolves with a result; never rejects. */
  export(spans: readonly Span[]): Promise<ExportResult>;
  /** Delivers whatever is buffered; resolves when done. */
  flush(): Promise<ExportResult>;
  /** Flushes, then releases files and timers; later exports fail. */
  shutdown(): Promise<void>;
};

/** Receives failures of background work. */
export type ExportErrorHandler = (error: HubError) => void;

/** The default handler: one warning line per failure on the injected logger. */
export function logExportErrors(logger: Logger): ExportErrorHandler {
  return (error) => logger.warn('span export failed', { error, code: error.code });
}

export function failed(error: HubError): ExportResult {
  return { code: 'failed', error };
}

export function closedResult(what: string): ExportResult {
  return failed(new HubError('UNAVAILABLE', `${what} is shut down`));
}
