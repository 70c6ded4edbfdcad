/**
 * The points a page shows, kept per series over a sliding window. History and live points go in
 * the same way; a point at a timestamp already held replaces it, so overlaps do no harm.
 */

/** @param {Record<string, string>} tags */
function keyOf(metric, tags) {
  return `${metric}{${Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`)
    .join(',')}}`;
}

/** @param {number} windowMs how long points are kept, after the newest one */
export function createSeriesStore(windowMs) {
  /** @type {Map<string, { metric: string, tags: Record<string, string>, ts: number[], values: number[] }>} */
  const series = new Map();
  let newest = 0;

  return {
    /** @param {string} metric @param {Record<string, string>} tags @param {number} ts @param {number} value */
    add(metric, tags, ts, value) {
      if (!Number.isFinite(ts) || !Number.isFinite(value)) return;
      const key = keyOf(metric, tags);
      let s = series.get(key);
      if (!s) {
        s = { metric, tags, ts: [], values: [] };
        series.set(key, s);
      }
      const n = s.ts.length;
      if (n === 0 || ts > s.ts[n - 1]) {
        s.ts.push(ts);
        s.values.push(value);
      } else {
        let lo = 0;
        let hi = n;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (s.ts[mid] < ts) lo = mid + 1;
          else hi = mid;
        }
        if (s.ts[lo] === ts) s.values[lo] = value;
        else {
          s.ts.splice(lo, 0, ts);
          s.values.splice(lo, 0, value);
        }
      }
      if (ts > newest) newest = ts;
    },

    /** Drops points older than the window before `now`. @param {number} now */
    prune(now) {
      const cut = now - windowMs;
      for (const [key, s] of series) {
        let i = 0;
        while (i < s.ts.length && s.ts[i] < cut) i++;
        if (i) {
          s.ts.splice(0, i);
          s.values.splice(0, i);
        }
        if (s.ts.length === 0) series.delete(key);
      }
    },

    /** Values of tag `tag` seen on `metric`, e.g. the hosts. @param {string} metric @param {string} tag */
    tagValues(metric, tag) {
      /** @type {Map<string, number>} value → its newest timestamp */
      const out = new Map();
      for (const s of series.values()) {
        const v = s.tags[tag];
        if (s.metric !== metric || v === undefined) continue;
        out.set(v, Math.max(out.get(v) ?? 0, s.ts[s.ts.length - 1] ?? 0));
      }
      return out;
    },

    /**
     * The points of `metric` whose tags include `where`, summed across the other tags at equal
     * timestamps (e.g. all interfaces of a host). Time-ordered `[ts, value]` pairs.
     * @param {string} metric @param {Record<string, string>} where
     * @returns {[number, number][]}
     */
    sum(metric, where) {
      /** @type {Map<number, number>} */
      const byTs = new Map();
      for (const s of series.values()) {
        if (s.metric !== metric) continue;
        if (Object.entries(where).some(([k, v]) => s.tags[k] !== v)) continue;
        for (let i = 0; i < s.ts.length; i++) byTs.set(s.ts[i], (byTs.get(s.ts[i]) ?? 0) + s.values[i]);
      }
      return [...byTs].sort((a, b) => a[0] - b[0]);
    },

    /** Tag values of `tag` on `metric` for series matching `where`. */
    tagValuesWhere(metric, tag, where) {
      const out = new Set();
      for (const s of series.values()) {
        if (s.metric !== metric || s.tags[tag] === undefined) continue;
        if (Object.entries(where).some(([k, v]) => s.tags[k] !== v)) continue;
        out.add(s.tags[tag]);
      }
      return [...out].sort();
    },

    /** The newest timestamp of any point added. */
    get newest() {
      return newest;
    },
  };
}
