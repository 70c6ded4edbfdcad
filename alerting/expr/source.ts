/**
 * Where rule expressions read metrics from. The hub's `MetricStore` is one as it is; this file adds
 * a per-cycle cache in front of any source and an in-memory source over raw series.
 */
import type { MetricQuery, RawSeries, SeriesResult } from '../../core/query.ts';
import { evaluateQuery } from '../../pipeline/query/evaluate.ts';

export type ExprSource = {
  /** Evaluates an OpenTSDB query (the contract of `MetricStore.query`); results must not be mutated. */
  query(q: MetricQuery): Promise<SeriesResult[]>;
};

/**
 * Wraps `source` so that identical queries run once for the life of the wrapper: create one per
 * evaluation cycle and pass it to every rule's `evaluateExpr`, so that rules sharing a selector
 * and a window share one query. Concurrent callers share the query in flight, and a failure is
 * shared too, not retried, until the next cycle's wrapper.
 */
export function createCachedSource(source: ExprSource): ExprSource {
  const cache = new Map<string, Promise<SeriesResult[]>>();
  return {
    query(q) {
      const key = JSON.stringify([q.start, q.end, q.msResolution, q.queries]);
      let result = cache.get(key);
      if (!result) {
        result = source.query(q);
        cache.set(key, result);
      }
      return result;
    },
  };
}

/** A source over raw series held in memory, answered by the OpenTSDB query engine itself. */
export function createMemorySource(series: RawSeries[]): ExprSource {
  return {
    async query(q) {
      return evaluateQuery(q, () => series);
    },
  };
}
