/** Alerts for tests and demos, with the engine's fields filled in. */
import { createHash } from 'node:crypto';
import type { Tags } from '../../core/model.ts';
import type { Alert } from '../types.ts';

export function fingerprintOf(rule: string, labels: Tags): string {
  return createHash('sha256')
    .update(JSON.stringify([rule, Object.entries(labels).sort()]))
    .digest('hex')
    .slice(0, 16);
}

/** A firing alert of rule `labels.alertname` that started at `startsAt`. */
export function makeAlert(labels: Tags, startsAt: number, extra: Partial<Alert> = {}): Alert {
  const rule = labels['alertname'] ?? 'TestAlert';
  const full: Tags = { alertname: rule, ...labels };
  return {
    fingerprint: fingerprintOf(rule, full),
    rule,
    labels: full,
    annotations: { summary: `${rule} on ${full['host'] ?? full['app'] ?? 'something'}` },
    status: 'firing',
    nodata: false,
    value: 1,
    startsAt,
    endsAt: null,
    updatedAt: startsAt,
    generatorURL: `http://hub.test/alerts/${rule}`,
    ...extra,
  };
}

/** The same alert, resolved at `endsAt`. */
export function resolved(alert: Alert, endsAt: number): Alert {
  return { ...alert, status: 'resolved', endsAt, updatedAt: endsAt };
}

/** The same alert, as re-reported by an evaluation at `now`. */
export function seen(alert: Alert, now: number): Alert {
  return { ...alert, updatedAt: now };
}
