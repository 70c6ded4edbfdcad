/** Pieces every payload builder shares: times, common labels, the default titles and lines. */
import type { Tags } from '../../../core/model.ts';
import type { Alert } from '../../types.ts';
import { groupStatus, type Notification } from '../types.ts';

/** Go's zero time, which Alertmanager prints as the end of a firing alert. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** Labels (or annotations) with the same value on every alert. */
export function commonOf(maps: readonly Record<string, string>[]): Record<string, string> {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

function sortedValues(labels: Tags): string[] {
  return Object.keys(labels)
    .sort()
    .map((k) => labels[k]!);
}

/** Alertmanager's default subject: `[FIRING:2] HighLatency api (prod)`. */
export function titleOf(n: Notification): string {
  const status = groupStatus(n.alerts);
  const firing = n.alerts.filter((a) => a.status === 'firing').length;
  const head = status === 'firing' ? `[FIRING:${firing}]` : '[RESOLVED]';
  const common = commonOf(n.alerts.map((a) => a.labels));
  const extra = Object.fromEntries(Object.entries(common).filter(([k]) => !(k in n.groupLabels)));
  const rest = Object.keys(extra).length > 0 ? ` (${sortedValues(extra).join(' ')})` : '';
  return `${head} ${sortedValues(n.groupLabels).join(' ')}${rest}`.trim();
}

/** One line about one alert: its summary, else its description, else its name and labels. */
export function lineOf(a: Alert): string {
  const text = a.annotations['summary'] ?? a.annotations['description'];
  const labels = Object.entries(a.labels)
    .filter(([k]) => k !== 'alertname')
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return text ? `${text} (${labels})` : `${a.labels['alertname'] ?? a.rule} ${labels}`.trim();
}

export function splitByStatus(alerts: readonly Alert[]): { firing: Alert[]; resolved: Alert[] } {
  return {
    firing: alerts.filter((a) => a.status === 'firing'),
    resolved: alerts.filter((a) => a.status === 'resolved'),
  };
}

/** Plain-text body listing firing and resolved alerts with their labels and annotations. */
export function textBody(n: Notification): string {
  const { firing, resolved } = splitByStatus(n.alerts);
  const section = (title: string, alerts: Alert[]) =>
    alerts.length === 0
      ? []
      : [
          `${title}:`,
          ...alerts.flatMap((a) => [
            `- ${lineOf(a)}`,
            ...Object.entries(a.annotations).map(([k, v]) => `    ${k}: ${v}`),
            `    since: ${rfc3339(a.startsAt)}${a.endsAt !== null ? `, until ${rfc3339(a.endsAt)}` : ''}`,
            ...(a.generatorURL ? [`    source: ${a.generatorURL}`] : []),
          ]),
          '',
        ];
  return [...section('Firing', firing), ...section('Resolved', resolved), `Hub: ${n.externalURL}`].join('\n');
}
