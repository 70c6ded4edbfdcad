/** Delivery with retries: exponential backoff on the injected clock, every attempt recorded. */
import type { Clock } from '../../core/clock.ts';
import { toHubError } from '../../core/errors.ts';
import type { Activity } from './activity.ts';
import type { AttemptLog } from './attempts.ts';
import { type Integration, integrationId, type Notification, type SendResult } from './types.ts';

export type RetryPolicy = { attempts: number; initialBackoff: number; maxBackoff: number };

/** The wait before try `attempt + 1`: initial, doubled each time, capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxBackoff, policy.initialBackoff * 2 ** Math.max(0, attempt - 1));
}

export type DeliveryContext = {
  clock: Clock;
  activity: Activity;
  attempts: AttemptLog;
  policy: RetryPolicy;
  via?: string;
};

function projectsOf(n: Notification): string[] {
  return [...new Set(n.alerts.map((a) => a.labels['project'] ?? ''))].sort();
}

/** Sends until it succeeds, fails for good, or runs out of attempts; never throws. */
export async function deliver(
  integration: Integration,
  n: Notification,
  ctx: DeliveryContext,
): Promise<SendResult> {
  const firing = n.alerts.filter((a) => a.status === 'firing').length;
  for (let attempt = 1; ; attempt++) {
    const ts = ctx.clock.now();
    const t0 = performance.now();
    let result: SendResult;
    try {
      result = await integration.send(n);
    } catch (e) {
      result = { ok: false, error: toHubError(e) };
    }
    ctx.attempts.record({
      ts,
      receiver: n.receiver,
      integration: integrationId(integration),
      groupKey: n.groupKey,
      attempt,
      ok: result.ok,
      status: result.status ?? null,
      ...(result.ok ? {} : { error: result.error.message, canRetry: result.error.canRetry }),
      durationMs: Math.round((performance.now() - t0) * 10) / 10,
      firing,
      resolved: n.alerts.length - firing,
      projects: projectsOf(n),
      ...(ctx.via ? { via: ctx.via } : {}),
    });
    if (result.ok || !result.error.canRetry || attempt >= ctx.policy.attempts) return result;
    if (!(await ctx.activity.sleep(backoffDelay(ctx.policy, attempt)))) return result;
  }
}
