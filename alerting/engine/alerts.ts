/** From a rule and a series record to the `Alert` of the contract: labels, annotations, fingerprint. */
import { createHash } from 'node:crypto';
import { seriesKey, type Tags } from '../../core/model.ts';
import type { Rule } from '../rules/model.ts';
import type { Alert } from '../types.ts';
import type { SeriesRecord } from './state-machine.ts';

/** The series' tags, then the rule's labels (templates filled; they win), then `alertname`. */
export function alertLabels(rule: Rule, tags: Tags, value: number | null): Tags {
  const labels: Tags = { ...tags };
  const ctx = { labels: { ...tags, alertname: rule.name }, value };
  for (const [k, t] of Object.entries(rule.labels)) labels[k] = t.render(ctx);
  labels['alertname'] = rule.name;
  return labels;
}

export function renderAnnotations(rule: Rule, labels: Tags, value: number | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, t] of Object.entries(rule.annotations)) out[k] = t.render({ labels, value });
  return out;
}

/** Stable identity of an alert: hash of the rule name and the labels. */
export function fingerprint(rule: string, labels: Tags): string {
  return createHash('sha256')
    .update(rule + '\u0000' + seriesKey('', labels))
    .digest('hex')
    .slice(0, 16);
}

export type AlertTime = { now: number; externalUrl: string };

function generatorUrl(externalUrl: string, rule: string, fp: string): string {
  return `${externalUrl.replace(/\/$/, '')}/alerts?rule=${encodeURIComponent(rule)}&fingerprint=${fp}`;
}

/** The firing alert of a record in state firing or nodata. */
export function firingAlert(rule: Rule, r: SeriesRecord, t: AlertTime): Alert {
  const labels = alertLabels(rule, r.tags, r.value);
  const fp = fingerprint(rule.name, labels);
  return {
    fingerprint: fp,
    rule: rule.name,
    labels,
    annotations: renderAnnotations(rule, labels, r.value),
    status: 'firing',
    nodata: r.nodata || r.state === 'nodata',
    value: r.value,
    startsAt: r.startsAt ?? t.now,
    endsAt: null,
    updatedAt: t.now,
    generatorURL: generatorUrl(t.externalUrl, rule.name, fp),
  };
}

/** The resolved form of an alert that was firing. */
export function resolvedAlert(firing: Alert, now: number): Alert {
  return { ...firing, status: 'resolved', endsAt: now, updatedAt: now };
}
