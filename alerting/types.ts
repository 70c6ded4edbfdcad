/**
 * What the rule engine hands to the notification pipeline: one alert per rule and series, with
 * Alertmanager's fields, so receivers can speak Alertmanager's payloads unchanged.
 */
import type { Tags } from '../core/model.ts';

export type AlertStatus = 'firing' | 'resolved';

/** States of one rule's series, as the engine keeps them. */
export type SeriesState = 'inactive' | 'pending' | 'firing' | 'nodata';

export type Alert = {
  /** Stable identity: hash of the rule name and the labels. */
  fingerprint: string;
  rule: string;
  /** The rule's labels, the series' group-by tags, and `alertname`. */
  labels: Tags;
  /** Annotations with the templates filled (`{{ $labels.app }}`, `{{ $value }}`). */
  annotations: Record<string, string>;
  status: AlertStatus;
  /** `firing` alerts whose series has no data carry `nodata: true` (a no-data alert is its own kind). */
  nodata: boolean;
  value: number | null;
  /** Epoch ms the alert started firing. */
  startsAt: number;
  /** Epoch ms it resolved; null while firing. */
  endsAt: number | null;
  /** Epoch ms of the evaluation that produced this update. */
  updatedAt: number;
  /** A link back to the hub's page of this alert. */
  generatorURL: string;
};

/** The notification pipeline's side of the contract: the engine calls it after every evaluation. */
export type AlertSink = {
  /** Every alert that is firing now, and every alert that resolved in this evaluation. */
  update(alerts: Alert[], now: number): Promise<void>;
};
