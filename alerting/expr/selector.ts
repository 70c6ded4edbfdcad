/**
 * Selectors are OpenTSDB `m` expressions: parsing is delegated to pipeline/query's m-syntax parser,
 * whose column is moved to the selector's place in the rule expression.
 */
import { isHubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';
import type { SeriesResult, SubQuery } from '../../core/query.ts';
import { parseMetricExpression } from '../../pipeline/query/m-syntax.ts';
import { exprError } from './lex.ts';

const M_COLUMN_RE = /column (\d+)$/;

/** Parses `text.slice(start, end)` as an `m` expression; errors point into `text`. */
export function parseSelector(text: string, start: number, end: number): SubQuery {
  const m = text.slice(start, end);
  try {
    return parseMetricExpression(m, 0);
  } catch (e) {
    if (!isHubError(e)) throw exprError(text, start, `invalid selector "${m}": ${String(e)}`);
    const where = e.where ?? '';
    const column = M_COLUMN_RE.exec(where);
    const at = column ? Math.min(start + Number(column[1]) - 1, end) : start;
    let reason = e.message;
    if (reason.startsWith(`${where}: `)) reason = reason.slice(where.length + 2);
    const suffix = ` in "${m}"`;
    if (reason.endsWith(suffix)) reason = reason.slice(0, -suffix.length);
    throw exprError(text, at, `invalid selector: ${reason}`);
  }
}

/** The tag keys a selector's results are told apart by; undefined for `none` (every tag). */
export function groupKeys(sub: SubQuery): string[] | undefined {
  if (sub.aggregator === 'none') return undefined;
  return [...new Set(sub.filters.filter((f) => f.groupBy).map((f) => f.tagk))].sort();
}

/** The identity of one result series: its group-by tags (all its tags under `none`). */
export function resultTags(series: SeriesResult, keys: string[] | undefined): Tags {
  if (keys === undefined) return { ...series.tags };
  return Object.fromEntries(
    keys.filter((k) => Object.hasOwn(series.tags, k)).map((k) => [k, series.tags[k]!]),
  );
}

/** Tags a selector pins to one literal value (`app=/push/pushd`), as `absent` reports them. */
export function literalTags(sub: SubQuery): Tags {
  const pinned = new Map<string, string>();
  for (const f of sub.filters)
    if (f.type === 'literal_or' && !f.filter.includes('|') && !pinned.has(f.tagk))
      pinned.set(f.tagk, f.filter);
  return Object.fromEntries(pinned);
}
