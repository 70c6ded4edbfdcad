/**
 * From a rule as written to a compiled `Rule`: the schema (zod) for shapes and names, then the
 * meaning — expression, thresholds, durations, templates. Every mistake is reported, each with
 * its field; nothing throws.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { isHubError } from '../../core/errors.ts';
import { formatExpr } from '../expr/ast.ts';
import { parseExpr } from '../expr/parse.ts';
import { buildCondition, checkHysteresis, isDeciding, parseThreshold } from './condition.ts';
import {
  DEFAULT_INTERVAL_MS,
  DEFAULT_NODATA_INTERVALS,
  MIN_INTERVAL_MS,
  NODATA_POLICIES,
  type Rule,
  type RuleError,
  type RuleOrigin,
  type RuleSpec,
  type Threshold,
} from './model.ts';
import { compileTemplate, type Template } from './template.ts';

/** Rule names go into URLs (`/api/rules/:name`) and file names: no spaces, no slashes. */
export const RULE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const LABEL_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const durationText = z.union([z.string().min(1), z.number().int().nonnegative()]);
const scalarText = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** The fields of a rule; unknown fields are reported apart so that the others are still checked. */
export const ruleSpecSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(200)
      .regex(RULE_NAME_RE, 'must start with a letter, digit or _ and hold only letters, digits and _ . : -'),
    expr: z.union([z.string().min(1), z.number()]).transform(String),
    fire: z.string().optional(),
    clear: z.string().optional(),
    for: durationText.optional(),
    keep_firing_for: durationText.optional(),
    nodata: z.enum(NODATA_POLICIES).optional(),
    nodata_after: durationText.optional(),
    interval: durationText.optional(),
    lookback: durationText.optional(),
    labels: z.record(z.string(), scalarText).optional(),
    annotations: z.record(z.string(), scalarText).optional(),
  })
  .strip();

export const RULE_FIELDS = Object.keys(ruleSpecSchema.shape);

/** Defaults a group of a rule file gives its rules. */
export type RuleDefaults = { interval?: string | number };

type Issue = { path: PropertyKey[]; message: string; code?: string; keys?: string[] };

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

/** `unknown field "keep_firing"`, with the closest known field when there is one. */
export function unknownField(key: string, known: readonly string[]): string {
  const score = (k: string) => (k.startsWith(key) || key.startsWith(k) ? 0 : distance(key, k));
  const best = known.map((k) => [k, score(k)] as const).sort((a, b) => a[1] - b[1])[0];
  const hint = best && best[1] <= Math.max(2, key.length / 3) ? `; did you mean "${best[0]}"?` : '';
  return `unknown field "${key}"${hint}`;
}

/** Zod's issues as rule errors, each with the path of its field. */
export function issuesToErrors(
  issues: Issue[],
  known: readonly string[],
  prefix: PropertyKey[] = [],
): RuleError[] {
  const out: RuleError[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys' && issue.keys)
      for (const key of issue.keys)
        out.push({ field: [...path, key].join('.'), message: unknownField(key, known) });
    else {
      const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
      out.push({
        field: path.join('.') || undefined,
        message: missing ? 'is required' : issue.message,
      } as RuleError);
    }
  }
  return out;
}

function duration(
  value: string | number | undefined,
  field: string,
  errors: RuleError[],
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  try {
    return parseDuration(value, field);
  } catch (e) {
    errors.push({ field, message: (e as Error).message });
    return fallback;
  }
}

function templates(
  map: Record<string, string> | undefined,
  field: 'labels' | 'annotations',
  errors: RuleError[],
): Record<string, Template> {
  const out: Record<string, Template> = {};
  for (const [k, text] of Object.entries(map ?? {})) {
    try {
      const t = compileTemplate(text);
      if (field === 'labels' && t.usesValue)
        errors.push({
          field: `labels.${k}`,
          message:
            'a label may not use $value: the alert would change identity, and page again, at every value',
        });
      out[k] = t;
    } catch (e) {
      errors.push({ field: `${field}.${k}`, message: isHubError(e) ? e.message : String(e) });
    }
  }
  return out;
}

function threshold(text: string | undefined, field: string, errors: RuleError[]): Threshold | undefined {
  if (text === undefined) return undefined;
  const t = parseThreshold(text);
  if (!t) errors.push({ field, message: `"${text}" is not a threshold like "> 90" or "<= 0.5"` });
  return t;
}

function identityOf(spec: RuleSpec, exprText: string): string {
  const what = [exprText, spec.fire ?? '', spec.clear ?? '', spec.nodata ?? 'nodata', spec.lookback ?? ''];
  const labels = Object.entries(spec.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([what, labels]))
    .digest('hex')
    .slice(0, 16);
}

/** Drops undefined fields and fills the group's defaults, so that the spec shows what runs. */
function normalize(spec: RuleSpec, defaults: RuleDefaults): RuleSpec {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) if (v !== undefined) out[k] = v;
  if (out['interval'] === undefined && defaults.interval !== undefined) out['interval'] = defaults.interval;
  return out as RuleSpec;
}

/** Checks and compiles one rule; `errors` carry `field` (and `rule` once the name is known). */
export function compileRule(
  input: unknown,
  origin: RuleOrigin,
  defaults: RuleDefaults = {},
): { rule?: Rule; errors: RuleError[] } {
  const rawName =
    input !== null && typeof input === 'object' && typeof (input as { name?: unknown }).name === 'string'
      ? (input as { name: string }).name
      : undefined;
  const named = (errors: RuleError[]) =>
    errors.map((e) => (rawName === undefined ? e : { rule: rawName, ...e }));
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return { errors: [{ message: 'a rule must be a mapping of fields (name, expr, …)' }] };
  const errors: RuleError[] = Object.keys(input)
    .filter((k) => !RULE_FIELDS.includes(k))
    .map((k) => ({ field: k, message: unknownField(k, RULE_FIELDS) }));
  const parsed = ruleSpecSchema.safeParse(input);
  if (!parsed.success)
    return { errors: named([...errors, ...issuesToErrors(parsed.error.issues, RULE_FIELDS)]) };
  const spec = normalize(parsed.data as RuleSpec, defaults);

  let expr: ReturnType<typeof parseExpr> | undefined;
  try {
    expr = parseExpr(spec.expr);
  } catch (e) {
    errors.push({ field: 'expr', message: isHubError(e) ? e.message : String(e) });
  }
  const fire = threshold(spec.fire, 'fire', errors);
  const clear = threshold(spec.clear, 'clear', errors);
  if (spec.clear !== undefined && spec.fire === undefined)
    errors.push({
      field: 'clear',
      message: 'clear needs fire: give both, like fire: "> 90" and clear: "< 80"',
    });
  if (fire && clear) {
    const bad = checkHysteresis(fire, clear);
    if (bad) errors.push({ field: 'clear', message: bad });
  }
  if (fire && expr && isDeciding(expr))
    errors.push({
      field: 'fire',
      message: 'with fire/clear, expr must be a plain value; drop its comparison (or drop fire and clear)',
    });

  const intervalMs = duration(spec.interval, 'interval', errors, DEFAULT_INTERVAL_MS);
  if (intervalMs < MIN_INTERVAL_MS)
    errors.push({ field: 'interval', message: 'interval must be at least 1s' });
  const forMs = duration(spec.for, 'for', errors, 0);
  const keepFiringForMs = duration(spec.keep_firing_for, 'keep_firing_for', errors, 0);
  const nodataAfterMs = duration(
    spec.nodata_after,
    'nodata_after',
    errors,
    DEFAULT_NODATA_INTERVALS * intervalMs,
  );
  if (spec.nodata_after !== undefined && nodataAfterMs <= 0)
    errors.push({ field: 'nodata_after', message: 'nodata_after must be longer than 0' });
  const lookbackMs = spec.lookback === undefined ? undefined : duration(spec.lookback, 'lookback', errors, 0);
  if (lookbackMs !== undefined && lookbackMs <= 0)
    errors.push({ field: 'lookback', message: 'lookback must be longer than 0' });
  for (const k of Object.keys(spec.labels ?? {}))
    if (!LABEL_NAME_RE.test(k))
      errors.push({ field: `labels.${k}`, message: `label names are [A-Za-z_][A-Za-z0-9_]*; "${k}" is not` });
  if (spec.labels && Object.hasOwn(spec.labels, 'alertname'))
    errors.push({ field: 'labels.alertname', message: 'alertname is the rule name; it cannot be set' });
  const labels = templates(spec.labels, 'labels', errors);
  const annotations = templates(spec.annotations, 'annotations', errors);

  if (errors.length > 0 || !expr) return { errors: named(errors) };
  const { condition, detectsNodata } = buildCondition(expr, fire, clear);
  const project = spec.labels?.['project'];
  const rule: Rule = {
    name: spec.name,
    spec,
    origin,
    condition,
    detectsNodata,
    forMs,
    keepFiringForMs,
    nodata: spec.nodata ?? 'nodata',
    nodataAfterMs,
    intervalMs,
    labels,
    annotations,
    identity: identityOf(spec, formatExpr(expr)),
    ...(lookbackMs !== undefined ? { lookbackMs } : {}),
    ...(project !== undefined && !project.includes('{{') ? { project } : {}),
  };
  return { rule, errors: [] };
}
