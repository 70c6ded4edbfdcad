/** POSTing JSON to a receiver, with the answer turned into a result: 5xx, 429 and network errors may be retried. */
import { HubError } from '../../../core/errors.ts';
import type { SendResult } from '../types.ts';

export type PostOptions = { timeoutMs: number; headers?: Record<string, string> };

/** Whether an HTTP status is worth trying again. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}

export async function postJson(url: string, body: unknown, options: PostOptions): Promise<SendResult> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'obs-hub', ...options.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (e) {
    const timeout = (e as Error).name === 'TimeoutError';
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (e as Error).message;
    return {
      ok: false,
      error: new HubError(
        timeout ? 'TIMEOUT' : 'UNAVAILABLE',
        timeout
          ? `POST ${redact(url)}: no answer within ${options.timeoutMs} ms`
          : `POST ${redact(url)} failed: ${detail}`,
        { cause: e, canRetry: true, where: redact(url) },
      ),
    };
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return { ok: true, status: res.status };
  return {
    ok: false,
    status: res.status,
    error: new HubError(
      retryableStatus(res.status) ? 'UNAVAILABLE' : 'INTERNAL',
      `POST ${redact(url)} answered ${res.status}${text ? `: ${text.slice(0, 300)}` : ''}`,
      { canRetry: retryableStatus(res.status), where: redact(url) },
    ),
  };
}
