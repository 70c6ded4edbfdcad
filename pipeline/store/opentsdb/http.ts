/** HTTP calls of the OpenTSDB adapter: a timeout per call, and retries with backoff for what may pass. */
import type { Clock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';

export type RetryOptions = { attempts: number; baseMs: number };

export type HttpAnswer = { status: number; text: string };

/** A failure worth trying again: the server is down, overloaded or slow. */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly causeError?: unknown,
  ) {
    super(message, { cause: causeError });
    this.name = 'TransientError';
  }
}

/** Statuses that say "later", not "never". */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** One HTTP call; network errors and timeouts become `TransientError`. */
export async function request(url: string, init: RequestInit, timeoutMs: number): Promise<HttpAnswer> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const name = (e as Error).name;
    const why =
      name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describeNetworkError(e as Error);
    throw new TransientError(`${init.method ?? 'GET'} ${url}: ${why}`, e);
  }
  const text = await res.text();
  return { status: res.status, text };
}

function describeNetworkError(e: Error): string {
  const cause = e.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? e.message;
}

/** Waits `ms` on the injected clock. */
export function pause(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, ms);
  });
}

/**
 * Runs `fn`, retrying `TransientError`s with exponential backoff (base, 2×base, 4×base …); after
 * the last attempt throws `HubError('UNAVAILABLE', canRetry)`, so the caller keeps its bus offset
 * and tries the batch again later. Other errors pass through at once.
 */
export async function withRetry<T>(
  what: string,
  fn: () => Promise<T>,
  options: RetryOptions & { clock: Clock; logger: Logger; onRetry?: () => void },
): Promise<T> {
  const attempts = Math.max(1, options.attempts);
  let last: TransientError | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof TransientError)) throw e;
      last = e;
      if (attempt === attempts) break;
      const delay = options.baseMs * 2 ** (attempt - 1);
      options.logger.warn('opentsdb call failed, retrying', {
        what,
        attempt,
        delayMs: delay,
        error: e.message,
      });
      options.onRetry?.();
      await pause(options.clock, delay);
    }
  }
  throw new HubError('UNAVAILABLE', `${what} failed after ${attempts} attempts: ${last?.message}`, {
    cause: last,
    canRetry: true,
  });
}
