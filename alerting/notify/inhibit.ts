/**
 * Inhibition, as in Alertmanager: an alert matching a rule's target matchers is muted while an
 * alert matching its source matchers fires with the same values of the `equal` labels (a label
 * missing on both sides counts as equal). An alert never inhibits itself.
 */
import type { Tags } from '../../core/model.ts';
import type { InhibitRule } from './config.ts';
import { matchesAll } from './matchers.ts';

export type LabelledAlert = { fingerprint: string; labels: Tags };

/** Fingerprints of the firing `sources` that inhibit `target`, per the rules. */
export function inhibitedBy(
  rules: readonly InhibitRule[],
  target: LabelledAlert,
  sources: readonly LabelledAlert[],
): string[] {
  const out = new Set<string>();
  for (const rule of rules) {
    if (!matchesAll(rule.targetMatchers, target.labels)) continue;
    for (const source of sources) {
      if (source.fingerprint === target.fingerprint) continue;
      if (!matchesAll(rule.sourceMatchers, source.labels)) continue;
      if (rule.equal.every((name) => (source.labels[name] ?? '') === (target.labels[name] ?? '')))
        out.add(source.fingerprint);
    }
  }
  return [...out];
}
