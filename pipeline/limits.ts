/** Ingest limits: points per second per caller, and series per project. Pure, clock injected. */
import type { Clock } from '../core/clock.ts';
import { seriesKey, type Tags } from '../core/model.ts';

export type RateLimiter = {
  /** Takes `n` from the caller's bucket; false (and nothing taken) if it has not that many. */
  take(key: string, n: number): boolean;
  /** Seconds until `n` would be available. */
  retryAfter(key: string, n: number): number;
};

/** A token bucket per key: `perSecond` sustained, `burst` at once. */
export function createRateLimiter(options: { perSecond: number; burst: number; clock: Clock }): RateLimiter {
  const { perSecond, burst, clock } = options;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const fill = (key: string) => {
    const now = clock.now();
    const b = buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    buckets.set(key, b);
    return b;
  };
  return {
    take(key, n) {
      const b = fill(key);
      if (n > b.tokens) return false;
      b.tokens -= n;
      return true;
    },
    retryAfter(key, n) {
      const b = fill(key);
      return Math.max(1, Math.ceil((Math.min(n, burst) - b.tokens) / perSecond));
    },
  };
}

export type CardinalityLimiter = {
  /** Whether a point of this series may go in: a known series always, a new one while its project has room. */
  admit(metric: string, tags: Tags): boolean;
  seriesOf(project: string): number;
};

/** Bounds the number of series per project (`project` tag; points without one count as project ""). */
export function createCardinalityLimiter(options: {
  maxSeriesPerProject: number;
  known: Iterable<{ metric: string; tags: Tags }>;
}): CardinalityLimiter {
  const seen = new Set<string>();
  const perProject = new Map<string, number>();
  const add = (key: string, project: string) => {
    seen.add(key);
    perProject.set(project, (perProject.get(project) ?? 0) + 1);
  };
  for (const s of options.known) add(seriesKey(s.metric, s.tags), s.tags['project'] ?? '');
  return {
    admit(metric, tags) {
      const key = seriesKey(metric, tags);
      if (seen.has(key)) return true;
      const project = tags['project'] ?? '';
      if ((perProject.get(project) ?? 0) >= options.maxSeriesPerProject) return false;
      add(key, project);
      return true;
    },
    seriesOf: (project) => perProject.get(project) ?? 0,
  };
}
