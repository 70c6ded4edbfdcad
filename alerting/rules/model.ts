/**
 * Alert rules: as written (`RuleSpec`, the same fields in YAML files and API bodies) and as
 * compiled for the engine (`Rule`). See README.md in this folder for the file format.
 */
import type { Expr } from '../expr/ast.ts';
import type { Template } from './template.ts';

export const NODATA_POLICIES = ['nodata', 'ok', 'alerting'] as const;
/** What a series that stopped reporting means: its own no-data alert, fine, or an alert like any other. */
export type NodataPolicy = (typeof NODATA_POLICIES)[number];

export type ThresholdOp = '>' | '>=' | '<' | '<=';
export type Threshold = { op: ThresholdOp; value: number };

export const DEFAULT_INTERVAL_MS = 10_000;
/** Intervals without data before a series counts as having none. */
export const DEFAULT_NODATA_INTERVALS = 3;
export const MIN_INTERVAL_MS = 1_000;

/** A rule as its author writes it. Durations are text (`5m`) or milliseconds. */
export type RuleSpec = {
  name: string;
  expr: string;
  /** `"> 90"`: with a plain-value `expr`, the alert fires when the value crosses this. */
  fire?: string;
  /** `"< 80"`: once firing, the alert clears only when the value crosses this (hysteresis). */
  clear?: string;
  for?: string | number;
  keep_firing_for?: string | number;
  nodata?: NodataPolicy;
  nodata_after?: string | number;
  interval?: string | number;
  /** How far back a bare selector looks for its last value (the expression language's default is 5m). */
  lookback?: string | number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

/** Where a rule comes from: a rule file (and its group) or the API (with the scope of its author). */
export type RuleOrigin =
  | { kind: 'file'; file: string; group: string; line?: number }
  | {
      kind: 'api';
      /** The projects the author could see; the rule's queries see only those. Absent = all. */
      scope?: string[];
      author?: string;
      updatedAt?: number;
    };

/**
 * What decides that a series is alerting.
 * - `threshold`: `value` is a plain value per series; `fire`/`clear` give the hysteresis. A rule
 *   written `expr: X > 90` is compiled to this, with `clear` the negation of `fire`.
 * - `filter`: the series that `expr` yields are alerting (its comparisons filter).
 * `presence`, when there is one, yields every series that has data, alerting or not: the engine
 * tells "no longer alerting" from "no longer reporting" with it.
 */
export type Condition =
  | { kind: 'threshold'; value: Expr; presence?: Expr; fire: Threshold; clear: Threshold }
  | { kind: 'filter'; expr: Expr; presence?: Expr };

/** A rule checked and compiled, ready for the engine. */
export type Rule = {
  name: string;
  /** As written, with defaults left out (what the API shows and stores). */
  spec: RuleSpec;
  origin: RuleOrigin;
  condition: Condition;
  /** Whether a series missing from the answer can be told to have no data (else it is just not alerting). */
  detectsNodata: boolean;
  forMs: number;
  keepFiringForMs: number;
  nodata: NodataPolicy;
  nodataAfterMs: number;
  intervalMs: number;
  lookbackMs?: number;
  labels: Record<string, Template>;
  annotations: Record<string, Template>;
  /** The project the rule belongs to: its literal `project` label, if any. */
  project?: string;
  /**
   * Hash of what gives the rule's alerts their identity and meaning (expression, thresholds,
   * labels, no-data policy). When it changes the rule's series start over; a change of timing or
   * annotations keeps them.
   */
  identity: string;
};

/** A mistake in a rule, saying where: file and line, rule, field; expression errors add the column. */
export type RuleError = {
  file?: string;
  line?: number;
  rule?: string;
  field?: string;
  message: string;
};

/** `file:line: rule "name": field: message`, continuation lines (an expression's caret) indented. */
export function formatRuleError(e: RuleError): string {
  const head = [
    e.file ? (e.line ? `${e.file}:${e.line}` : e.file) : undefined,
    e.rule !== undefined ? `rule "${e.rule}"` : undefined,
    e.field,
  ].filter((x) => x !== undefined && x !== '');
  const [first, ...rest] = e.message.split('\n');
  const text = head.length ? `${head.join(': ')}: ${first}` : first!;
  return [text, ...rest.map((l) => `    ${l}`)].join('\n');
}
