/** Ingest limits: points per second per caller, and series per project. Pure, clock injected. */
import type { Clock } from '../core/clock.ts';
import type { Tags } from '../core/model.ts';
import { SeriesSet } from './series-set.ts';

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
  /** `admit` that also gives the series' key (`seriesKey`) when it may go in, else undefined. */
  admitSeries(metric: string, tags: Tags): string | undefined;
  seriesOf(project: string): number;
};

/** Bounds the number of series per project (`project` tag; points without one count as project ""). */
export function createCardinalityLimiter(options: {
  maxSeriesPerProject: number;
  known: Iterable<{ metric: string; tags: Tags }>;
}): CardinalityLimiter {
  const seen = new SeriesSet();
  const perProject = new Map<string, number>();
  const add = (metric: string, tags: Tags) => {
    const project = tags['project'] ?? '';
    perProject.set(project, (perProject.get(project) ?? 0) + 1);
    return seen.add(metric, tags).key;
  };
  for (const s of options.known) if (!seen.get(s.metric, s.tags)) add(s.metric, s.tags);
  const admitSeries = (metric: string, tags: Tags) => {
    const known = seen.get(metric, tags);
    if (known) return known.key;
    if ((perProject.get(tags['project'] ?? '') ?? 0) >= options.maxSeriesPerProject) return undefined;
    return add(metric, tags);
  };
  return {
    admit: (metric, tags) => admitSeries(metric, tags) !== undefined,
    admitSeries,
    seriesOf: (project) => perProject.get(project) ?? 0,
  };
}
