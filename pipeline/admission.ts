/** Which decoded points a caller may write: its projects only, within each project's series limit. */
import { canWriteProject, type Principal } from '../core/auth.ts';
import type { MetricPoint } from '../core/model.ts';
import type { CardinalityLimiter } from './limits.ts';

export type Refused = { point: MetricPoint; error: string; reason: 'forbidden' | 'cardinality' };

export function admitPoints(
  points: readonly MetricPoint[],
  principal: Principal,
  cardinality: CardinalityLimiter,
): { admitted: MetricPoint[]; refused: Refused[] } {
  const admitted: MetricPoint[] = [];
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
    } else if (!cardinality.admit(p.metric, p.tags)) {
      refused.push({
        point: p,
        reason: 'cardinality',
        error: `Series limit reached for project "${project ?? ''}": new series are refused, existing ones keep flowing`,
      });
    } else admitted.push(p);
  }
  return { admitted, refused };
}
