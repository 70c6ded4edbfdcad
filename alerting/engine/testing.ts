/**
 * In-memory parts for running the engine without a hub: a sink that records every update and
 * counts pages as the notification side would (one per new fingerprint + startsAt), and a metric
 * source whose series tests and demos append to.
 */
import { seriesKey, type Tags } from '../../core/model.ts';
import type { GrowingSeries, RawSeries } from '../../core/query.ts';
import { createMemorySource } from '../expr/source.ts';
import type { Alert, AlertSink } from '../types.ts';
import type { RuleSource } from './engine.ts';

export type RecordingSink = AlertSink & {
  updates: { alerts: Alert[]; now: number }[];
  /** The alerts of the last update. */
  last(): Alert[];
  /** Firing alerts never seen before (fingerprint + startsAt): what would page. */
  pages: Alert[];
  /** Resolved alerts, each once. */
  resolves: Alert[];
};

export function createRecordingSink(): RecordingSink {
  const paged = new Set<string>();
  const resolved = new Set<string>();
  const sink: RecordingSink = {
    updates: [],
    pages: [],
    resolves: [],
    last: () => sink.updates.at(-1)?.alerts ?? [],
    async update(alerts, now) {
      sink.updates.push({ alerts, now });
      for (const a of alerts) {
        const id = `${a.fingerprint}@${a.startsAt}`;
        if (a.status === 'firing' && !paged.has(id)) {
          paged.add(id);
          sink.pages.push(a);
        }
        if (a.status === 'resolved' && !resolved.has(id)) {
          resolved.add(id);
          sink.resolves.push(a);
        }
      }
    },
  };
  return sink;
}

export type FeedSource = RuleSource & {
  series: RawSeries[];
  /** Appends a point to the series `metric{tags}`, creating it. */
  add(metric: string, tags: Tags, ts: number, value: number): void;
};

/** A metric source over series held in memory, answered by the OpenTSDB query engine. */
export function createFeedSource(): FeedSource {
  const series: RawSeries[] = [];
  const byKey = new Map<string, GrowingSeries>();
  const memory = createMemorySource(series);
  return {
    series,
    query: (q) => memory.query(q),
    add(metric, tags, ts, value) {
      const key = seriesKey(metric, tags);
      let s = byKey.get(key);
      if (!s) {
        s = { metric, tags, ts: [], values: [] };
        byKey.set(key, s);
        series.push(s);
      }
      s.ts.push(ts);
      s.values.push(value);
    },
  };
}
