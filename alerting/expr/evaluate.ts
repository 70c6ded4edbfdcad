/**
 * Evaluation of rule expressions at one instant (grammar.md): first every selector's query is
 * planned and fetched, each distinct query once and all in parallel, then the tree is computed
 * without further I/O. The result is an instant vector: one value per group of tags.
 */
import { seriesKey, type Tags } from '../../core/model.ts';
import type { MetricQuery, SeriesResult } from '../../core/query.ts';
import { type BinaryOp, type Expr, isComparison, type SelectorExpr, type WindowFunction } from './ast.ts';
import { groupKeys, literalTags, resultTags } from './selector.ts';
import type { ExprSource } from './source.ts';
import {
  avgOver,
  countOver,
  increaseOver,
  maxOver,
  minOver,
  percentileOver,
  predictLinear,
  rateOver,
  sumOver,
  type WindowPoints,
} from './window.ts';

/** One value of the answer: a group of series, told apart by its tags. */
export type ExprResult = { tags: Tags; value: number };

export type EvaluateOptions = {
  /** How far back a bare selector looks for its last value; default DEFAULT_LOOKBACK_MS. */
  lookbackMs?: number;
};

export const DEFAULT_LOOKBACK_MS = 5 * 60_000;

type Item = { key: string; tags: Tags; value: number };
type RangeItem = WindowPoints & { key: string; tags: Tags };
type Context = { at: number; data: Map<SelectorExpr, SeriesResult[]> };

const REDUCERS: Record<WindowFunction, (p: WindowPoints) => number | undefined> = {
  avg_over: avgOver,
  max_over: maxOver,
  min_over: minOver,
  sum_over: sumOver,
  count_over: countOver,
  rate: rateOver,
  increase: increaseOver,
};

const EMPTY_KEY = seriesKey('', {});

function instantLookback(sel: SelectorExpr, lookbackMs: number): number {
  // A downsampled selector must reach back to the start of its latest bucket.
  return Math.max(lookbackMs, sel.query.downsample?.intervalMs ?? 0);
}

/**
 * The furthest back, in ms before the evaluation time, that evaluating `expr` reads: the
 * lookback of bare selectors, the windows of window functions, the horizon of `absent`.
 */
export function requiredRange(expr: Expr, options: EvaluateOptions = {}): number {
  const lookback = options.lookbackMs ?? DEFAULT_LOOKBACK_MS;
  switch (expr.kind) {
    case 'number':
      return 0;
    case 'selector':
      return instantLookback(expr, lookback);
    case 'negate':
      return requiredRange(expr.arg, options);
    case 'binary':
      return Math.max(requiredRange(expr.left, options), requiredRange(expr.right, options));
    case 'absent':
      return expr.horizonMs;
    default:
      return expr.windowMs;
  }
}

/** Every selector of `expr` with how far back it reads. */
function plan(
  expr: Expr,
  lookback: number,
  windowMs: number | undefined,
  out: Map<SelectorExpr, number>,
): void {
  switch (expr.kind) {
    case 'number':
      return;
    case 'selector':
      out.set(expr, windowMs ?? instantLookback(expr, lookback));
      return;
    case 'negate':
      plan(expr.arg, lookback, windowMs, out);
      return;
    case 'binary':
      plan(expr.left, lookback, windowMs, out);
      plan(expr.right, lookback, windowMs, out);
      return;
    case 'absent':
      out.set(expr.selector, expr.horizonMs);
      return;
    default:
      plan(expr.arg, lookback, expr.windowMs, out);
  }
}

async function fetchAll(
  ranges: Map<SelectorExpr, number>,
  at: number,
  source: ExprSource,
): Promise<Map<SelectorExpr, SeriesResult[]>> {
  const pending = new Map<string, Promise<SeriesResult[]>>();
  const bySelector = [...ranges].map(([sel, rangeMs]) => {
    const q: MetricQuery = {
      start: Math.max(0, at - rangeMs),
      end: at,
      queries: [sel.query],
      msResolution: true,
      showQuery: false,
    };
    if (!(q.start < q.end)) return [sel, Promise.resolve([])] as const;
    const key = JSON.stringify([q.start, q.end, sel.query]);
    let result = pending.get(key);
    if (!result) {
      result = source.query(q);
      pending.set(key, result);
    }
    return [sel, result] as const;
  });
  const results = await Promise.all(bySelector.map(([, r]) => r));
  return new Map(bySelector.map(([sel], i) => [sel, results[i]!]));
}

function usable(v: number | null): v is number {
  return v !== null && !Number.isNaN(v);
}

function arithmetic(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    default:
      return a / b;
  }
}

function compare(op: BinaryOp, a: number, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    default:
      return a !== b;
  }
}

/**
 * `a op b` for one pair of values: undefined when a comparison is false, else the arithmetic
 * result or, for a comparison, the value of the series side (`seriesIsRight`: the right one).
 */
function combine(op: BinaryOp, a: number, b: number, seriesIsRight: boolean): number | undefined {
  if (!isComparison(op)) return arithmetic(op, a, b);
  if (!compare(op, a, b)) return undefined;
  return seriesIsRight ? b : a;
}

/** Pairs up the elements of two vectors with equal tags, in the left one's order. */
function matchByKey<L extends { key: string }, R extends { key: string }>(left: L[], right: R[]): [L, R][] {
  const byKey = new Map(right.map((r) => [r.key, r]));
  const pairs: [L, R][] = [];
  for (const l of left) {
    const r = byKey.get(l.key);
    if (r) pairs.push([l, r]);
  }
  return pairs;
}

function asItems(v: number | Item[]): Item[] {
  return typeof v === 'number' ? [{ key: EMPTY_KEY, tags: {}, value: v }] : v;
}

function instantBinary(op: BinaryOp, l: number | Item[], r: number | Item[]): number | Item[] {
  if (op === 'and' || op === 'or') {
    const left = asItems(l);
    const right = asItems(r);
    const rightKeys = new Set(right.map((x) => x.key));
    if (op === 'and') return left.filter((x) => rightKeys.has(x.key));
    const leftKeys = new Set(left.map((x) => x.key));
    return [...left, ...right.filter((x) => !leftKeys.has(x.key))];
  }
  if (typeof l === 'number' && typeof r === 'number') {
    if (!isComparison(op)) return arithmetic(op, l, r);
    return compare(op, l, r) ? asItems(l) : [];
  }
  const out: Item[] = [];
  const push = (x: Item, value: number | undefined) => {
    if (value !== undefined) out.push({ key: x.key, tags: x.tags, value });
  };
  if (typeof l === 'number') for (const x of r as Item[]) push(x, combine(op, l, x.value, true));
  else if (typeof r === 'number') for (const x of l) push(x, combine(op, x.value, r, false));
  else for (const [a, b] of matchByKey(l, r)) push(a, combine(op, a.value, b.value, false));
  return out;
}

/** Applies `f` to each point; a point for which it gives undefined is dropped. */
function mapPoints(s: RangeItem, f: (v: number) => number | undefined): RangeItem {
  const out: RangeItem = { key: s.key, tags: s.tags, ts: [], values: [] };
  for (let i = 0; i < s.ts.length; i++) {
    const v = f(s.values[i]!);
    if (v === undefined) continue;
    out.ts.push(s.ts[i]!);
    out.values.push(v);
  }
  return out;
}

/** Combines two series at the timestamps both have (each in time order). */
function zipPoints(a: RangeItem, b: RangeItem, f: (x: number, y: number) => number | undefined): RangeItem {
  const out: RangeItem = { key: a.key, tags: a.tags, ts: [], values: [] };
  let j = 0;
  for (let i = 0; i < a.ts.length; i++) {
    const t = a.ts[i]!;
    while (j < b.ts.length && b.ts[j]! < t) j++;
    if (j === b.ts.length) break;
    if (b.ts[j] !== t) continue;
    const v = f(a.values[i]!, b.values[j]!);
    if (v === undefined) continue;
    out.ts.push(t);
    out.values.push(v);
  }
  return out;
}

function rangeBinary(op: BinaryOp, l: number | RangeItem[], r: number | RangeItem[]): number | RangeItem[] {
  if (typeof l === 'number' && typeof r === 'number') return isComparison(op) ? [] : arithmetic(op, l, r);
  if (typeof l === 'number')
    return (r as RangeItem[]).map((s) => mapPoints(s, (v) => combine(op, l, v, true)));
  if (typeof r === 'number') return l.map((s) => mapPoints(s, (v) => combine(op, v, r, false)));
  return matchByKey(l, r).map(([a, b]) => zipPoints(a, b, (x, y) => combine(op, x, y, false)));
}

class Evaluator {
  constructor(private readonly ctx: Context) {}

  instant(expr: Expr): number | Item[] {
    switch (expr.kind) {
      case 'number':
        return expr.value;
      case 'selector':
        return this.lastValues(expr);
      case 'negate': {
        const v = this.instant(expr.arg);
        return typeof v === 'number' ? -v : v.map((x) => ({ ...x, value: -x.value }));
      }
      case 'binary':
        return instantBinary(expr.op, this.instant(expr.left), this.instant(expr.right));
      case 'window':
        return this.reduce(expr.arg, REDUCERS[expr.fn]);
      case 'percentile_over':
        return this.reduce(expr.arg, (p) => percentileOver(p, expr.quantile));
      case 'predict_linear':
        return this.reduce(expr.arg, (p) => predictLinear(p, this.ctx.at + expr.aheadMs));
      case 'absent':
        return this.absent(expr.selector, expr.windowMs);
    }
  }

  private range(expr: Expr): number | RangeItem[] {
    switch (expr.kind) {
      case 'number':
        return expr.value;
      case 'selector':
        return this.points(expr);
      case 'negate': {
        const v = this.range(expr.arg);
        return typeof v === 'number' ? -v : v.map((s) => mapPoints(s, (x) => -x));
      }
      case 'binary':
        return rangeBinary(expr.op, this.range(expr.left), this.range(expr.right));
      default:
        // The parser keeps window functions, absent, and/or out of window arguments.
        return [];
    }
  }

  private series(sel: SelectorExpr): { key: string; tags: Tags; dps: SeriesResult['dps'] }[] {
    const keys = groupKeys(sel.query);
    return (this.ctx.data.get(sel) ?? []).map((s) => {
      const tags = resultTags(s, keys);
      return { key: seriesKey('', tags), tags, dps: s.dps };
    });
  }

  private lastValues(sel: SelectorExpr): Item[] {
    const out: Item[] = [];
    for (const s of this.series(sel)) {
      for (let i = s.dps.length - 1; i >= 0; i--) {
        const v = s.dps[i]![1];
        if (!usable(v)) continue;
        out.push({ key: s.key, tags: s.tags, value: v });
        break;
      }
    }
    return out;
  }

  private points(sel: SelectorExpr): RangeItem[] {
    return this.series(sel).map((s) => {
      const item: RangeItem = { key: s.key, tags: s.tags, ts: [], values: [] };
      for (const [t, v] of s.dps) {
        if (!usable(v)) continue;
        item.ts.push(t);
        item.values.push(v);
      }
      return item;
    });
  }

  private reduce(arg: Expr, reducer: (p: WindowPoints) => number | undefined): Item[] {
    const v = this.range(arg);
    if (typeof v === 'number') return [];
    const out: Item[] = [];
    for (const s of v) {
      const value = reducer(s);
      if (value !== undefined) out.push({ key: s.key, tags: s.tags, value });
    }
    return out;
  }

  private absent(sel: SelectorExpr, windowMs: number): Item[] {
    const series = this.series(sel);
    if (series.length === 0) {
      const tags = literalTags(sel.query);
      return [{ key: seriesKey('', tags), tags, value: 1 }];
    }
    const since = this.ctx.at - windowMs;
    const out = new Map<string, Item>();
    for (const s of series) {
      const recent = s.dps.some(([t, v]) => t >= since && usable(v));
      if (!recent) out.set(s.key, { key: s.key, tags: s.tags, value: 1 });
    }
    return [...out.values()];
  }
}

/**
 * Evaluates `expr` at `at` (epoch ms): one result per group of tags, sorted by tags; an
 * expression without selectors gives one result with no tags. Each distinct query is sent to
 * `source` once; pass a `createCachedSource` wrapper to share queries across the rules of a cycle.
 * Rejects with whatever `source.query` rejects with.
 */
export async function evaluateExpr(
  expr: Expr,
  at: number,
  source: ExprSource,
  options: EvaluateOptions = {},
): Promise<ExprResult[]> {
  const ranges = new Map<SelectorExpr, number>();
  plan(expr, options.lookbackMs ?? DEFAULT_LOOKBACK_MS, undefined, ranges);
  const data = await fetchAll(ranges, at, source);
  const value = new Evaluator({ at, data }).instant(expr);
  if (typeof value === 'number') return [{ tags: {}, value }];
  return value
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ tags, value }) => ({ tags: { ...tags }, value }));
}
