/**
 * From a rule's expression and thresholds to its `Condition`: a top-level `X > 90` becomes a
 * threshold on `X`, and every condition gets the presence expression that tells a series that
 * stopped alerting from one that stopped reporting.
 */
import { type ComparisonOp, type Expr, formatExpr, isComparison, isSeries } from '../expr/ast.ts';
import type { Condition, Threshold, ThresholdOp } from './model.ts';

const THRESHOLD_RE = /^\s*(>=|<=|>|<)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;

/** Parses `"> 90"`; undefined when the text is not of that form. */
export function parseThreshold(text: string): Threshold | undefined {
  const m = THRESHOLD_RE.exec(text);
  return m ? { op: m[1] as ThresholdOp, value: Number(m[2]) } : undefined;
}

export function formatThreshold(t: Threshold): string {
  return `${t.op} ${t.value}`;
}

export function crosses(t: Threshold, v: number): boolean {
  switch (t.op) {
    case '>':
      return v > t.value;
    case '>=':
      return v >= t.value;
    case '<':
      return v < t.value;
    default:
      return v <= t.value;
  }
}

const NEGATION: Record<ThresholdOp, ThresholdOp> = { '>': '<=', '>=': '<', '<': '>=', '<=': '>' };
const FLIP: Record<ThresholdOp, ThresholdOp> = { '>': '<', '>=': '<=', '<': '>', '<=': '>=' };

/** The threshold that is true exactly when `t` is false. */
export function negate(t: Threshold): Threshold {
  return { op: NEGATION[t.op], value: t.value };
}

/**
 * Why `clear` cannot go with `fire`, or undefined when it can: it must point the other way and
 * leave no value that both fire and clear at once.
 */
export function checkHysteresis(fire: Threshold, clear: Threshold): string | undefined {
  const up = fire.op === '>' || fire.op === '>=';
  const clearsDown = clear.op === '<' || clear.op === '<=';
  if (up !== clearsDown)
    return `clear "${formatThreshold(clear)}" must point the other way from fire "${formatThreshold(fire)}" (${up ? '< or <=' : '> or >='})`;
  const overlap = up
    ? clear.value > fire.value || (clear.value === fire.value && fire.op === '>=' && clear.op === '<=')
    : clear.value < fire.value || (clear.value === fire.value && fire.op === '<=' && clear.op === '>=');
  if (overlap)
    return `clear "${formatThreshold(clear)}" overlaps fire "${formatThreshold(fire)}": a value would both fire and clear`;
  return undefined;
}

/** The threshold form of `series op number` or `number op series` at the top of an expression. */
function asThreshold(expr: Expr): { value: Expr; fire: Threshold } | undefined {
  if (expr.kind !== 'binary' || !isComparison(expr.op) || expr.op === '==' || expr.op === '!=')
    return undefined;
  const op = expr.op as Exclude<ComparisonOp, '==' | '!='>;
  if (expr.right.kind === 'number' && isSeries(expr.left))
    return { value: expr.left, fire: { op, value: expr.right.value } };
  if (expr.left.kind === 'number' && isSeries(expr.right))
    return { value: expr.right, fire: { op: FLIP[op], value: expr.left.value } };
  return undefined;
}

/**
 * The expression that yields every series `expr` has data for, whether or not its comparisons
 * hold: comparisons keep their series side (both sides, `and`-ed, when both are series), and
 * `absent(sel, w, h)` becomes `count_over(sel, h)`. Same selectors and ranges, so a per-cycle
 * cached source answers it without new queries.
 */
export function presenceOf(expr: Expr): Expr {
  switch (expr.kind) {
    case 'number':
    case 'selector':
      return expr;
    case 'negate':
      return { ...expr, arg: presenceOf(expr.arg) };
    case 'binary': {
      const left = presenceOf(expr.left);
      const right = presenceOf(expr.right);
      if (!isComparison(expr.op)) return { ...expr, left, right };
      if (isSeries(expr.left) && isSeries(expr.right)) return { ...expr, op: 'and', left, right };
      return isSeries(expr.left) ? left : right;
    }
    case 'absent':
      return { kind: 'window', at: expr.at, fn: 'count_over', arg: expr.selector, windowMs: expr.horizonMs };
    default:
      return { ...expr, arg: presenceOf(expr.arg) };
  }
}

function presenceIfDifferent(expr: Expr): Expr | undefined {
  const p = presenceOf(expr);
  return formatExpr(p) === formatExpr(expr) ? undefined : p;
}

/**
 * Builds the condition of a rule. With `fire`, `expr` must be a plain value (checked by the
 * caller); without it, a top-level `X op number` becomes a threshold on `X`.
 */
export function buildCondition(
  expr: Expr,
  fire: Threshold | undefined,
  clear: Threshold | undefined,
): { condition: Condition; detectsNodata: boolean } {
  const t = fire ? { value: expr, fire } : asThreshold(expr);
  if (t) {
    const presence = presenceIfDifferent(t.value);
    return {
      condition: {
        kind: 'threshold',
        value: t.value,
        fire: t.fire,
        clear: clear ?? negate(t.fire),
        ...(presence ? { presence } : {}),
      },
      detectsNodata: true,
    };
  }
  const presence = presenceIfDifferent(expr);
  return {
    condition: { kind: 'filter', expr, ...(presence ? { presence } : {}) },
    detectsNodata: presence !== undefined,
  };
}

/** Whether `expr` already decides by itself (a comparison or `and`/`or` at its top). */
export function isDeciding(expr: Expr): boolean {
  return expr.kind === 'binary' && (isComparison(expr.op) || expr.op === 'and' || expr.op === 'or');
}
