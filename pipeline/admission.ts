/** Which decoded points a caller may write: its projects only, within each project's series limit. */
import { canWriteProject, type Principal } from '../core/auth.ts';
import type { MaybeMemo, MetricPoint, PointColumns } from '../core/model.ts';
import { columnsOf } from './codec/point-columns.ts';
import type { CardinalityLimiter } from './limits.ts';

export type Refused = { point: MetricPoint; error: string; reason: 'forbidden' | 'cardinality' };

/**
 * The admitted points come with their series keys (`keys[i]` of `admitted[i]`), built once here
 * and carried to the bus and the store.
 */
export function admitPoints(
  points: readonly MetricPoint[],
  principal: Principal,
  cardinality: CardinalityLimiter,
): { admitted: MetricPoint[]; keys: string[]; refused: Refused[] } {
  // Points are their own series objects: the admitted series are the admitted points.
  const { admitted, keys, refused } = admitColumns(columnsOf(points), principal, cardinality);
  return { admitted: admitted.series as MetricPoint[], keys, refused };
}

/**
 * `admitPoints` for a batch of columns whose series objects remember their verdict: a series with
 * memo slots keeps its key in `admittedKey` once admitted (the cardinality limiter never forgets a
 * series), so its next point costs a project check. `admitted` is `columns` itself when every
 * point is.
 */
export function admitColumns(
  columns: PointColumns & { readonly series: readonly MaybeMemo[] },
  principal: Principal,
  cardinality: CardinalityLimiter,
): { admitted: PointColumns; keys: string[]; refused: Refused[] } {
  const { series, ts, values } = columns;
  const n = series.length;
  const keys = new Array<string>(n);
  const refused: Refused[] = [];
  /** Which points are in, once one is refused. */
  let kept: number[] | undefined;
  for (let i = 0; i < n; i++) {
    const s = series[i]!;
    let key: string | undefined;
    // A principal of every project needs no look at the tags (a load of another object a point).
    if (!principal.allProjects && !canWriteProject(principal, s.tags['project']))
      refused.push(forbidden(pointAt(columns, i), principal));
    else {
      key = s.admittedKey ?? cardinality.admitSeries(s.metric, s.tags);
      if (key === undefined) refused.push(overLimit(pointAt(columns, i)));
      else if (s.admittedKey === undefined && 'admittedKey' in s) s.admittedKey = key;
    }
    if (key === undefined) kept ??= Array.from({ length: i }, (_, j) => j);
    else if (kept) kept.push(i);
    keys[i] = key!;
  }
  if (!kept) return { admitted: columns, keys, refused };
  return {
    admitted: {
      series: kept.map((i) => series[i]!),
      ts: kept.map((i) => ts[i]!),
      values: kept.map((i) => values[i]!),
    },
    keys: kept.map((i) => keys[i]!),
    refused,
  };
}

function pointAt(c: PointColumns, i: number): MetricPoint {
  const s = c.series[i]!;
  return { metric: s.metric, tags: { ...s.tags }, ts: c.ts[i]!, value: c.values[i]! };
}

function forbidden(point: MetricPoint, principal: Principal): Refused {
  const project = point.tags['project'];
  const allowed = [...principal.projects.keys()].join(', ') || 'no project';
  return {
    point,
    reason: 'forbidden',
    error: `Not allowed to write project "${project ?? ''}": ${principal.kind} ${principal.name} may write ${allowed}`,
  };
}

function overLimit(point: MetricPoint): Refused {
  return {
    point,
    reason: 'cardinality',
    error: `Series limit reached for project "${point.tags['project'] ?? ''}": new series are refused, existing ones keep flowing`,
  };
}
