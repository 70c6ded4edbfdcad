/** Which decoded points a caller may write: its projects only, within each project's series limit. */
import { canWriteProject, type Principal } from '../core/auth.ts';
import type { MetricPoint } from '../core/model.ts';
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
  const admitted: MetricPoint[] = [];
  const keys: string[] = [];
  const refused: Refused[] = [];
  for (const p of points) {
    const project = p.tags['project'];
    if (!canWriteProject(principal, project)) {
      const allowed = [...principal.projects.keys()].join(', ') || 'no project';
      refused.push({
        point: p,
        reason: 'forbidden',
        error: `Not allowed to write project "${project ?? ''}": ${principal.kind} ${principal.name} may write ${allowed}`,
      });
      continue;
    }
    const key = cardinality.admitSeries(p.metric, p.tags);
    if (key === undefined) {
      refused.push({
        point: p,
        reason: 'cardinality',
        error: `Series limit reached for project "${project ?? ''}": new series are refused, existing ones keep flowing`,
      });
    } else {
      admitted.push(p);
      keys.push(key);
    }
  }
  return { admitted, keys, refused };
}
