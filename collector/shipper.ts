/**
 * Ships the agent's batches to the hub. While the hub is unreachable, batches go to the disk
 * spool and are replayed in order once it answers again; nothing is sent out of order.
 */
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

/** Sends batches to a hub's `/api/put?details` with a bearer token. */
export function httpSend(options: { hub: string; token?: string; timeoutMs?: number }): Send {
  const url = new URL('api/put?details', options.hub.endsWith('/') ? options.hub : `${options.hub}/`);
  return async (points) => {
    const body = JSON.stringify(
      points.map((p) => ({ metric: p.metric, timestamp: p.ts, value: p.value, tags: p.tags })),
    );
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new HubError('UNAVAILABLE', `Cannot reach the hub at ${url.origin}: ${(e as Error).message}`, {
        cause: e,
        canRetry: true,
      });
    }
    const text = await res.text();
    if (res.ok) return;
    // 400 with details: the good points are stored, the bad ones will never be; nothing to retry.
    if (res.status === 400)
      throw new HubError('BAD_REQUEST', `The hub refused points: ${text.slice(0, 500)}`);
    const retry = res.status >= 500 || res.status === 429 || res.status === 401 || res.status === 403;
    throw new HubError(
      res.status === 429 ? 'RATE_LIMITED' : 'UNAVAILABLE',
      `The hub answered ${res.status}: ${text.slice(0, 300)}`,
      { canRetry: retry },
    );
  };
}
