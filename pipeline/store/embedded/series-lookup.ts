/** Names and series of the embedded store for auto-completion and lookup, in the caller's scope. */
import type { Tags } from '../../../core/model.ts';
import type { ProjectScope } from '../../../core/ports.ts';
import type { LookupResult } from '../../../core/query.ts';
import type { SeriesIndex } from './series-index.ts';

/** Whether a series belongs to a project the caller may see. */
export function inScope(tags: Tags, scope: ProjectScope | undefined): boolean {
  if (!scope) return true;
  const project = tags['project'];
  return project !== undefined && scope.projects.includes(project);
}

export function suggest(
  index: SeriesIndex,
  type: 'metrics' | 'tagk' | 'tagv',
  prefix: string,
  max: number,
  scope: ProjectScope | undefined,
): string[] {
  const found = new Set<string>();
  if (type === 'metrics' && !scope) {
    for (const m of index.metrics()) if (m.startsWith(prefix)) found.add(m);
    return [...found].sort().slice(0, max);
  }
  for (const e of index.all()) {
    if (!inScope(e.tags, scope)) continue;
    if (type === 'metrics') {
      if (e.metric.startsWith(prefix)) found.add(e.metric);
      continue;
    }
    for (const [k, v] of Object.entries(e.tags)) {
      const name = type === 'tagk' ? k : v;
      if (name.startsWith(prefix)) found.add(name);
    }
  }
  return [...found].sort().slice(0, max);
}

export function lookup(
  index: SeriesIndex,
  metric: string,
  tags: Tags,
  limit: number,
  scope: ProjectScope | undefined,
): LookupResult[] {
  const pool = metric === '*' || metric === '' ? index.all() : index.ofMetric(metric);
  const wanted = Object.entries(tags);
  const out: LookupResult[] = [];
  for (const e of pool) {
    if (!inScope(e.tags, scope)) continue;
    const ok = wanted.every(([k, v]) =>
      k === '*' ? Object.values(e.tags).includes(v) : k in e.tags && (v === '*' || e.tags[k] === v),
    );
    if (!ok) continue;
    out.push({ metric: e.metric, tags: e.tags, tsuid: e.id.toString(16).padStart(12, '0').toUpperCase() });
    if (out.length >= limit) break;
  }
  return out;
}
