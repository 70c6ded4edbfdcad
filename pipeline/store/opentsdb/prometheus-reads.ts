/**
 * Pure parts of reading OpenTSDB-written series back through a Prometheus-style API
 * (VictoriaMetrics' `/api/v1/export`, `/api/v1/series`, `/api/v1/labels`): series selectors that
 * narrow the fetch safely (always a superset of what the hub's own filters keep), and the export
 * JSON-lines parser. The exact filtering stays with `compileFilters`, applied after the fetch.
 */
import { HubError } from '../../../core/errors.ts';
import { seriesKey, type Tags } from '../../../core/model.ts';
import type { ProjectScope } from '../../../core/ports.ts';
import type { RawSeries, SubQuery, TagFilter } from '../../../core/query.ts';

/** Escapes RE2 (Go regexp) metacharacters so the value matches itself only. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** A MetricsQL double-quoted string literal. */
export function quoteLabelValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Label names MetricsQL parses in a selector; OpenTSDB also allows `-` and `/`, which it does not. */
export function isSelectableLabel(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(name);
}

/** The anchored regex of an OpenTSDB `*` glob (Prometheus regex matchers are anchored). */
export function globToRegex(glob: string): string {
  return glob.split('*').map(escapeRegex).join('.*');
}

/**
 * A matcher that keeps at least every series `f` keeps, or undefined when none narrows safely.
 * Case-insensitive and regexp filters only require the tag to be present: JS and Go case folding
 * and regex dialects differ, so the exact test is left to `compileFilters`.
 */
export function filterMatcher(f: TagFilter): string | undefined {
  if (!isSelectableLabel(f.tagk) || f.tagk === '__name__') return undefined;
  if (f.type === 'literal_or')
    return `${f.tagk}=~${quoteLabelValue(f.filter.split('|').map(escapeRegex).join('|'))}`;
  if (f.type === 'wildcard' && f.filter.includes('*'))
    return `${f.tagk}=~${quoteLabelValue(f.filter === '*' ? '.+' : globToRegex(f.filter))}`;
  // A series without the tag key never matches an OpenTSDB filter; Prometheus reads it as "".
  return `${f.tagk}=~".+"`;
}

/** The `project` matcher of a scope, or undefined without one. */
export function scopeMatcher(scope: ProjectScope | undefined): string | undefined {
  if (!scope) return undefined;
  return `project=~${quoteLabelValue(scope.projects.map(escapeRegex).join('|'))}`;
}

/** The selector for one sub-query: its metric exactly, one narrowing matcher per tag key, the scope. */
export function subQuerySelector(sub: SubQuery, scope?: ProjectScope): string {
  const parts = [`__name__=${quoteLabelValue(sub.metric)}`];
  const seen = new Set<string>();
  for (const f of sub.filters) {
    if (seen.has(f.tagk)) continue;
    const m = filterMatcher(f);
    if (m === undefined) continue;
    seen.add(f.tagk);
    parts.push(m);
  }
  const s = scope && !seen.has('project') ? scopeMatcher(scope) : undefined;
  if (s) parts.push(s);
  return `{${parts.join(',')}}`;
}

/** The selector for a lookup (`metric` may be `*`; tag `k=*` asks the key be present; `*=v` is checked later). */
export function lookupSelector(metric: string, tags: Tags, scope?: ProjectScope): string {
  const parts = [metric === '*' || metric === '' ? '__name__=~".+"' : `__name__=${quoteLabelValue(metric)}`];
  for (const [k, v] of Object.entries(tags)) {
    if (k === '*' || !isSelectableLabel(k) || k === 'project') continue;
    parts.push(v === '*' ? `${k}=~".+"` : `${k}=${quoteLabelValue(v)}`);
  }
  const s = scopeMatcher(scope);
  if (s) parts.push(s);
  return `{${parts.join(',')}}`;
}

/** Splits a Prometheus label set into the OpenTSDB metric and tags. */
export function fromLabels(labels: Record<string, string>): { metric: string; tags: Tags } {
  const { __name__: metric = '', ...tags } = labels;
  return { metric, tags };
}

const SPECIAL_VALUES: Record<string, number> = {
  NaN: Number.NaN,
  Inf: Number.POSITIVE_INFINITY,
  '+Inf': Number.POSITIVE_INFINITY,
  '-Inf': Number.NEGATIVE_INFINITY,
};

function toNumber(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v in SPECIAL_VALUES) return SPECIAL_VALUES[v]!;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  throw new HubError('UPSTREAM_FAILED', `${where}: value ${JSON.stringify(v)} is not a number`);
}

type ExportLine = { metric?: Record<string, string>; values?: unknown[]; timestamps?: unknown[] };

/**
 * Parses `/api/v1/export` JSON lines into raw series in time order. Lines of one series (the
 * export may split a series into blocks) are merged; a timestamp seen twice keeps the later value,
 * as the embedded store does. `source` names the request in errors.
 */
export function parseExport(text: string, source = 'export'): RawSeries[] {
  const bySeries = new Map<string, { metric: string; tags: Tags; points: Map<number, number> }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `${source} line ${i + 1}`;
    let row: ExportLine;
    try {
      row = JSON.parse(line) as ExportLine;
    } catch (e) {
      throw new HubError('UPSTREAM_FAILED', `${where}: not JSON: ${line.slice(0, 120)}`, { cause: e });
    }
    if (!row.metric || !Array.isArray(row.values) || !Array.isArray(row.timestamps))
      throw new HubError('UPSTREAM_FAILED', `${where}: want {metric, values, timestamps}`);
    const { metric, tags } = fromLabels(row.metric);
    const key = seriesKey(metric, tags);
    const s = bySeries.get(key) ?? { metric, tags, points: new Map<number, number>() };
    bySeries.set(key, s);
    row.timestamps.forEach((t, j) => {
      s.points.set(toNumber(t, where), toNumber(row.values![j], where));
    });
  }
  const out: RawSeries[] = [];
  for (const s of bySeries.values()) {
    const ts = [...s.points.keys()].sort((a, b) => a - b);
    out.push({ metric: s.metric, tags: s.tags, ts, values: ts.map((t) => s.points.get(t)!) });
  }
  return out;
}

/** The `data` array of a Prometheus API answer (`{status:"success", data}`), else UPSTREAM_FAILED. */
export function promData(json: unknown, source: string): unknown[] {
  const o = json as { status?: unknown; data?: unknown; error?: unknown } | null;
  if (o && typeof o === 'object' && o.status === 'success' && Array.isArray(o.data)) return o.data;
  const why =
    o && typeof o === 'object' && 'error' in o ? String(o.error) : JSON.stringify(json)?.slice(0, 200);
  throw new HubError('UPSTREAM_FAILED', `${source}: unexpected answer: ${why}`);
}
