/**
 * The `Notifier` port of core/ports.ts over this pipeline's receivers: sends one list of
 * `AlertEvent`s to one receiver at once, without grouping, silences or the notification log
 * (for one-off sends such as a "test this receiver" button).
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import type { AlertEvent } from '../../core/model.ts';
import type { Notifier } from '../../core/ports.ts';
import type { Alert } from '../types.ts';
import type { Activity } from './activity.ts';
import type { AttemptLog } from './attempts.ts';
import { formatLabelSet } from './matchers.ts';
import { deliver, type RetryPolicy } from './retry.ts';
import type { Integration } from './types.ts';

export function alertFromEvent(e: AlertEvent, generatorURL: string): Alert {
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([e.rule, Object.entries(e.labels).sort()]))
    .digest('hex')
    .slice(0, 16);
  const resolved = e.state === 'resolved' || e.state === 'inactive';
  return {
    fingerprint,
    rule: e.rule,
    labels: { alertname: e.rule, ...e.labels },
    annotations: e.annotations,
    status: resolved ? 'resolved' : 'firing',
    nodata: e.state === 'nodata',
    value: e.value,
    startsAt: e.ts,
    endsAt: resolved ? e.ts : null,
    updatedAt: e.ts,
    generatorURL,
  };
}

export function createNotifierPort(options: {
  integrations(receiver: string): Integration[] | undefined;
  clock: Clock;
  activity: Activity;
  attempts: AttemptLog;
  policy: RetryPolicy;
  externalURL: string;
}): Notifier {
  return {
    async notify(receiver, events) {
      const integrations = options.integrations(receiver);
      if (!integrations)
        return {
          ok: false,
          error: new HubError('NOT_FOUND', `No receiver named ${receiver}`, { where: 'receiver' }),
        };
      const alerts = events.map((e) => alertFromEvent(e, options.externalURL));
      const n = {
        receiver,
        groupKey: `direct:${formatLabelSet({ receiver })}`,
        groupLabels: {},
        alerts,
        externalURL: options.externalURL,
        now: options.clock.now(),
      };
      const results = await Promise.all(integrations.map((i) => deliver(i, n, options)));
      const failed = results.find((r) => !r.ok);
      return failed && !failed.ok ? { ok: false, error: failed.error } : { ok: true };
    },
  };
}
