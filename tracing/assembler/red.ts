/**
 * RED metrics per service and operation, from spans as they stream: request and error counts and
 * duration quantiles from a DDSketch (mergeable, 1 % relative accuracy), handed out once per
 * interval as metric points.
 *
 * Counted: server and consumer spans, and local spans without a parent (entry points such as
 * jobs). Points, one set per service and operation active in the interval, all at the flush time:
 * `trace.requests` and `trace.errors` (counts within the interval), `trace.duration.p50`, `.p95`
 * and `.p99` (milliseconds). Tags: `service`, `operation` and `project` when known; values are
 * made safe for the metric store (characters outside letters, digits, `-_./` become `_`).
 */
import { DDSketch } from '@datadog/sketches-js';
import type { MetricPoint, Tags } from '../../core/model.ts';
import type { TraceSpan } from '../model.ts';

export type RedOptions = {
  projectOfService?: (service: string) => string | undefined;
  /** Operations kept apart per service; the rest are counted as `other`. Default 200. */
  maxOperationsPerService?: number;
};

type Cell = {
  raw: string;
  service: string;
  operation: string;
  requests: number;
  errors: number;
  sketch: DDSketch;
};

type Labels = { service: string; operation: string; key: string };

const UNSAFE = /[^\p{L}0-9\-_./]/gu;

/** A tag value the metric store accepts. */
export function safeTagValue(v: string): string {
  const s = v.replace(UNSAFE, '_').slice(0, 256);
  return s === '' ? '_' : s;
}

/** Whether a span counts as a request served by its service. */
export function isRequestSpan(s: TraceSpan): boolean {
  return s.kind === 'server' || s.kind === 'consumer' || (s.kind === 'local' && s.parentId === undefined);
}

export type RedMetrics = {
  /** Counts one span if it is a request span. */
  record(span: TraceSpan): void;
  /** The interval's points at `tsMs`; starts a new interval. */
  flush(tsMs: number): MetricPoint[];
};

export function createRedMetrics(options: RedOptions = {}): RedMetrics {
  const maxOps = options.maxOperationsPerService ?? 200;
  let cells = new Map<string, Cell>();
  /** Operations seen per service, to bound cardinality across intervals. */
  const operations = new Map<string, Set<string>>();
  /** Raw service → raw span name → its tag values and cell key, so a span costs no regex. */
  let labels = new Map<string, Map<string, Labels>>();
  let labelCount = 0;

  function labelsOf(rawService: string, name: string): Labels {
    let byName = labels.get(rawService);
    if (!byName) {
      byName = new Map();
      labels.set(rawService, byName);
    }
    let l = byName.get(name);
    if (!l) {
      const service = safeTagValue(rawService);
      const operation = operationOf(service, name);
      l = { service, operation, key: service + '\u0000' + operation };
      // Names with ids in them are many: the cache starts over rather than grow without bound.
      if (++labelCount > 100_000) {
        labels = new Map([[rawService, byName]]);
        byName.clear();
        labelCount = 1;
      }
      byName.set(name, l);
    }
    return l;
  }

  function operationOf(service: string, name: string): string {
    const op = safeTagValue(name || 'unnamed');
    let ops = operations.get(service);
    if (!ops) {
      ops = new Set();
      operations.set(service, ops);
    }
    if (ops.has(op)) return op;
    if (ops.size >= maxOps) return 'other';
    ops.add(op);
    return op;
  }

  return {
    record(span) {
      if (!isRequestSpan(span)) return;
      const { service, operation, key } = labelsOf(span.service, span.name);
      let cell = cells.get(key);
      if (!cell) {
        cell = {
          raw: span.service,
          service,
          operation,
          requests: 0,
          errors: 0,
          sketch: new DDSketch({ relativeAccuracy: 0.01 }),
        };
        cells.set(key, cell);
      }
      cell.requests++;
      if (span.error) cell.errors++;
      cell.sketch.accept(span.duration / 1000);
    },
    flush(tsMs) {
      const out: MetricPoint[] = [];
      for (const c of cells.values()) {
        const tags: Tags = { service: c.service, operation: c.operation };
        const project = options.projectOfService?.(c.raw);
        if (project) tags['project'] = safeTagValue(project);
        const point = (metric: string, value: number) => out.push({ metric, tags, ts: tsMs, value });
        point('trace.requests', c.requests);
        point('trace.errors', c.errors);
        point('trace.duration.p50', c.sketch.getValueAtQuantile(0.5));
        point('trace.duration.p95', c.sketch.getValueAtQuantile(0.95));
        point('trace.duration.p99', c.sketch.getValueAtQuantile(0.99));
      }
      cells = new Map();
      return out;
    },
  };
}
