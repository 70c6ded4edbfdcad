/**
 * Ships the agent's batches to the hub. While the hub is unreachable, batches go to the disk
 * spool and are replayed in order once it answers again; nothing is sent out of order.
 */
import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { MetricPoint } from '../core/model.ts';
import type { Spool } from './spool.ts';

/** Sends one batch; rejects with `canRetry` for trouble worth retrying (network, 5xx, 429). */
export type Send = (points: MetricPoint[]) => Promise<void>;

export type Shipper = {
  /** Ships a batch now, or spools it behind the ones waiting. */
  ship(points: MetricPoint[]): Promise<void>;
  /** Sends what the spool holds, oldest first, until it is empty or the hub fails again. */
  drain(): Promise<void>;
  stats(): {
    spooledBatches: number;
    spoolBytes: number;
    droppedPoints: number;
    sentBatches: number;
    rejectedPoints: number;
  };
  stop(): void;
};

export function createShipper(options: {
  send: Send;
  spool: Spool;
  clock: Clock;
  logger: Logger;
  retryMs?: number;
  maxRetryMs?: number;
}): Shipper {
  const { send, spool, clock, logger } = options;
  const baseRetry = options.retryMs ?? 1_000;
  const maxRetry = options.maxRetryMs ?? 30_000;
  let retryMs = baseRetry;
  let draining: Promise<void> | undefined;
  let cancelRetry: (() => void) | undefined;
  let sent = 0;
  let rejected = 0;
  let stopped = false;

  const scheduleRetry = () => {
    if (stopped || cancelRetry) return;
    cancelRetry = clock.setTimeout(() => {
      cancelRetry = undefined;
      void drain();
    }, retryMs);
    retryMs = Math.min(maxRetry, retryMs * 2);
  };

  /** True when the batch is done with (sent, or refused for good); false to try again later. */
  async function trySend(points: MetricPoint[]): Promise<boolean> {
    try {
      await send(points);
      sent++;
      retryMs = baseRetry;
      return true;
    } catch (e) {
      if (e instanceof HubError && !e.canRetry) {
        rejected += points.length;
        logger.error('the hub refused a batch for good; it is dropped', { err: e, points: points.length });
        return true;
      }
      logger.warn('the hub is unreachable; spooling', { err: e, retryInMs: retryMs });
      return false;
    }
  }

  function drain(): Promise<void> {
    draining ??= (async () => {
      try {
        for (;;) {
          const batch = await spool.peek();
          if (batch === undefined) return;
          if (batch.length > 0 && !(await trySend(batch))) return scheduleRetry();
          await spool.ack();
        }
      } finally {
        draining = undefined;
      }
    })();
    return draining;
  }

  return {
    async ship(points) {
      if (points.length === 0) return;
      if (spool.stats().batches === 0 && !draining && (await trySend(points))) return;
      await spool.append(points);
      if (!cancelRetry) await drain();
    },
    drain,
    stats: () => {
      const s = spool.stats();
      return {
        spooledBatches: s.batches,
        spoolBytes: s.bytes,
        droppedPoints: s.droppedPoints,
        sentBatches: sent,
        rejectedPoints: rejected,
      };
    },
    stop() {
      stopped = true;
      cancelRetry?.();
    },
  };
}

/**
 * Sends batches to a hub's `/api/put?details` with a bearer token, through `node:http(s)`: `fetch`
 * would load undici and compile its WebAssembly HTTP parser on the first answer, a 30 MB peak in
 * an agent that otherwise needs under 100 MB.
 */
export function httpSend(options: { hub: string; token?: string; timeoutMs?: number }): Send {
  const url = new URL('api/put?details', options.hub.endsWith('/') ? options.hub : `${options.hub}/`);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const agent = new (url.protocol === 'https:' ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: 1 });
  return async (points) => {
    const body = JSON.stringify(
      points.map((p) => ({ metric: p.metric, timestamp: p.ts, value: p.value, tags: p.tags })),
    );
    let res: { status: number; text: string };
    try {
      res = await post(request, url, body, {
        agent,
        timeout: options.timeoutMs ?? 30_000,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
      });
    } catch (e) {
      throw new HubError('UNAVAILABLE', `Cannot reach the hub at ${url.origin}: ${(e as Error).message}`, {
        cause: e,
        canRetry: true,
      });
    }
    const { status, text } = res;
    if (status >= 200 && status < 300) return;
    // 400 with details: the good points are stored, the bad ones will never be; nothing to retry.
    if (status === 400) throw new HubError('BAD_REQUEST', `The hub refused points: ${text.slice(0, 500)}`);
    const retry = status >= 500 || status === 429 || status === 401 || status === 403;
    throw new HubError(
      status === 429 ? 'RATE_LIMITED' : 'UNAVAILABLE',
      `The hub answered ${status}: ${text.slice(0, 300)}`,
      { canRetry: retry },
    );
  };
}

/** POSTs `body`; resolves with the status and the text of the answer, rejects on network trouble. */
function post(
  request: typeof httpRequest,
  url: URL,
  body: string,
  options: RequestOptions & { timeout: number },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, method: 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    // No answer (or no progress) within the timeout: the hub is treated as unreachable.
    req.setTimeout(options.timeout, () => req.destroy(new Error(`no answer in ${options.timeout} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
