/**
 * A small JSON-over-`fetch` helper for the Marathon and Chronos clients: basic auth, retries with
 * exponential backoff on 502/503/504 and network errors, and HubError for every failure.
 */
import type { Clock } from '../../../core/clock.ts';
import { HubError, type HubErrorCode } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';

export type RetryOptions = { attempts: number; baseMs: number };

export type HttpClientOptions = {
  /** Base URL, e.g. `http://marathon.mesos:8080`. */
  url: string;
  clock: Clock;
  logger: Logger;
  /** Shown in error messages: `Marathon`, `Chronos`. */
  system: string;
  user?: string;
  password?: string;
  /** Attempts in all (1 = no retry) and the first backoff; each next one doubles. Default 4 × 200 ms. */
  retry?: RetryOptions;
};

export type HttpResponse = { status: number; body: unknown; text: string };

export type HttpClient = {
  /** Sends one request, retrying while the server is unavailable; returns any other answer as is. */
  send(method: string, path: string, body?: unknown, accept?: string): Promise<HttpResponse>;
  /** Headers every request carries (auth). */
  headers(accept?: string): Record<string, string>;
  /** Waits `ms` on the injected clock. */
  sleep(ms: number): Promise<void>;
  readonly retry: RetryOptions;
};

const RETRIED = new Set([502, 503, 504]);

/** The delay before retry number `attempt` (0-based): base × 2^attempt, capped at 30 s. */
export function backoffMs(baseMs: number, attempt: number): number {
  return Math.min(30_000, baseMs * 2 ** attempt);
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = options.url.replace(/\/+$/, '');
  const retry = options.retry ?? { attempts: 4, baseMs: 200 };
  const auth =
    options.user === undefined
      ? undefined
      : 'Basic ' + Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64');
  const headers = (accept = 'application/json'): Record<string, string> => ({
    accept,
    ...(auth ? { authorization: auth } : {}),
  });
  const sleep = (ms: number) => new Promise<void>((resolve) => options.clock.setTimeout(resolve, ms));

  async function once(method: string, path: string, body: unknown, accept?: string): Promise<HttpResponse> {
    const init: RequestInit = { method, headers: headers(accept) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(base + path, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's HTML page, `pong`): keep the text.
    }
    return { status: res.status, body: parsed, text };
  }

  async function send(method: string, path: string, body?: unknown, accept?: string): Promise<HttpResponse> {
    let last: unknown;
    for (let attempt = 0; attempt < retry.attempts; attempt++) {
      if (attempt > 0) await sleep(backoffMs(retry.baseMs, attempt - 1));
      try {
        const res = await once(method, path, body, accept);
        if (!RETRIED.has(res.status)) return res;
        last = new Error(
          `${options.system} answered ${res.status} to ${method} ${path}: ${res.text.slice(0, 200)}`,
        );
      } catch (e) {
        last = e;
      }
      options.logger.warn(`${options.system} unavailable, will retry`, {
        method,
        path,
        attempt,
        error: last,
      });
    }
    const reason = last instanceof Error ? last.message : String(last);
    throw new HubError(
      'UNAVAILABLE',
      `${options.system} at ${base} is unavailable after ${retry.attempts} attempts (${method} ${path}): ${reason}`,
      { cause: last, canRetry: true, where: path },
    );
  }

  return { send, headers, sleep, retry };
}

/** The HubError for an answer no caller handled specially; `message` is the server's own words. */
export function httpError(
  system: string,
  method: string,
  path: string,
  status: number,
  message: string,
): HubError {
  const code: HubErrorCode =
    status === 404
      ? 'NOT_FOUND'
      : status === 401
        ? 'UNAUTHORIZED'
        : status === 403
          ? 'FORBIDDEN'
          : status === 409
            ? 'CONFLICT'
            : status === 400
              ? 'BAD_REQUEST'
              : status === 422
                ? 'INVALID_INPUT'
                : 'UPSTREAM_FAILED';
  return new HubError(code, `${system} refused ${method} ${path} (${status}): ${message}`, { where: path });
}

/** The `message` of a JSON error body, or the start of a text one. */
export function messageOf(body: unknown, text: string): string {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return text.slice(0, 300) || 'no message';
}
