/** The functions of the rule language: their parameters, and the hint for a name that is not one. */
import { AGGREGATORS } from '../../core/query.ts';
import { FUNCTION_NAMES, type FunctionName, WINDOW_FUNCTIONS } from './ast.ts';

export type Param = 'series' | 'selector' | 'window' | 'quantile' | 'ahead' | 'horizon';

/** Parameters in order; the last `optional` of them may be left out. `text` is for messages. */
export type Signature = { params: Param[]; optional: number; text: string };

const WINDOW: Signature = { params: ['series', 'window'], optional: 0, text: 'series, window' };

export const SIGNATURES: Record<FunctionName, Signature> = {
  ...(Object.fromEntries(WINDOW_FUNCTIONS.map((fn) => [fn, WINDOW])) as Record<
    (typeof WINDOW_FUNCTIONS)[number],
    Signature
  >),
  percentile_over: {
    params: ['series', 'quantile', 'window'],
    optional: 0,
    text: 'series, quantile, window',
  },
  predict_linear: { params: ['series', 'window', 'ahead'], optional: 0, text: 'series, window, ahead' },
  absent: { params: ['selector', 'window', 'horizon'], optional: 1, text: 'selector, window[, horizon]' },
};

export function isFunctionName(name: string): name is FunctionName {
  return (FUNCTION_NAMES as readonly string[]).includes(name);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The message for a call of `name`, which is not a function: with a guess at what was meant. */
export function unknownFunction(name: string): string {
  const lower = name.toLowerCase();
  const base = `unknown function "${name}"`;
  const aggregator = (AGGREGATORS as readonly string[]).includes(lower);
  if (isFunctionName(`${lower}_over`)) {
    const selector = aggregator ? `, or the selector ${lower}:metric` : '';
    return `${base}: did you mean ${lower}_over(series, window)${selector}?`;
  }
  if (aggregator) return `${base}: aggregators belong in a selector, like ${lower}:metric{tag=value}`;
  const near = FUNCTION_NAMES.find((f) => editDistance(f, lower) <= 2);
  if (near) return `${base}: did you mean ${near}?`;
  return `${base} (known: ${FUNCTION_NAMES.join(', ')})`;
}
