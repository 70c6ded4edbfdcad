/**
 * The syntax tree of alert rule expressions (see grammar.md), and its canonical text. Every node
 * keeps `at`, the 0-based offset in the source text where it starts.
 */
import { formatDuration } from '../../core/duration.ts';
import type { SubQuery } from '../../core/query.ts';

export type ArithmeticOp = '+' | '-' | '*' | '/';
export type ComparisonOp = '>' | '>=' | '<' | '<=' | '==' | '!=';
export type LogicalOp = 'and' | 'or';
export type BinaryOp = ArithmeticOp | ComparisonOp | LogicalOp;

/** Functions of the form `fn(series, window)` reducing each series' points in the window to one value. */
export const WINDOW_FUNCTIONS = [
  'avg_over',
  'max_over',
  'min_over',
  'sum_over',
  'count_over',
  'rate',
  'increase',
] as const;
export type WindowFunction = (typeof WINDOW_FUNCTIONS)[number];

export const FUNCTION_NAMES = [...WINDOW_FUNCTIONS, 'percentile_over', 'predict_linear', 'absent'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** An OpenTSDB `m` expression, kept as written and as the sub-query it parses into. */
export type SelectorExpr = { kind: 'selector'; at: number; text: string; query: SubQuery };

export type Expr =
  | { kind: 'number'; at: number; value: number }
  | SelectorExpr
  | { kind: 'negate'; at: number; arg: Expr }
  | { kind: 'binary'; at: number; op: BinaryOp; left: Expr; right: Expr }
  | { kind: 'window'; at: number; fn: WindowFunction; arg: Expr; windowMs: number }
  | { kind: 'percentile_over'; at: number; arg: Expr; quantile: number; windowMs: number }
  | { kind: 'predict_linear'; at: number; arg: Expr; windowMs: number; aheadMs: number }
  | { kind: 'absent'; at: number; selector: SelectorExpr; windowMs: number; horizonMs: number };

export function isComparison(op: BinaryOp): op is ComparisonOp {
  return op === '>' || op === '>=' || op === '<' || op === '<=' || op === '==' || op === '!=';
}

/** True when the expression yields series (an instant vector) rather than one number. */
export function isSeries(expr: Expr): boolean {
  switch (expr.kind) {
    case 'number':
      return false;
    case 'negate':
      return isSeries(expr.arg);
    case 'binary':
      return isComparison(expr.op) || expr.op === 'and' || expr.op === 'or'
        ? true
        : isSeries(expr.left) || isSeries(expr.right);
    default:
      return true;
  }
}

/** Canonical text: every binary operation in parentheses, durations in their shortest unit. */
export function formatExpr(expr: Expr): string {
  switch (expr.kind) {
    case 'number':
      return String(expr.value);
    case 'selector':
      return expr.text;
    case 'negate':
      return `-${formatExpr(expr.arg)}`;
    case 'binary':
      return `(${formatExpr(expr.left)} ${expr.op} ${formatExpr(expr.right)})`;
    case 'window':
      return `${expr.fn}(${formatExpr(expr.arg)}, ${formatDuration(expr.windowMs)})`;
    case 'percentile_over':
      return `percentile_over(${formatExpr(expr.arg)}, ${expr.quantile}, ${formatDuration(expr.windowMs)})`;
    case 'predict_linear':
      return `predict_linear(${formatExpr(expr.arg)}, ${formatDuration(expr.windowMs)}, ${formatDuration(expr.aheadMs)})`;
    case 'absent':
      return `absent(${expr.selector.text}, ${formatDuration(expr.windowMs)}, ${formatDuration(expr.horizonMs)})`;
  }
}
