/**
 * Turns parsed nginx lines into the interval's metrics. Pure: the caller feeds lines and calls
 * `flush` at the end of each interval (default 10 s); lines count in the interval they are read,
 * not by their `$time_local`.
 *
 * Per (vhost, upstream, status_class):
 * - `nginx.requests`          requests per second over the interval;
 * - `nginx.bytes_sent`        bytes per second (`$bytes_sent`, else `$body_bytes_sent`).
 * Per (vhost, upstream), the class being in the name:
 * - `nginx.status.1xx` … `nginx.status.5xx`   requests in the interval (a count);
 * - `nginx.request_time.p50` / `.p90` / `.p99` / `.max`   seconds;
 * - `nginx.upstream_time.p99`   seconds, summed over retries and redirects (upstream-time.ts).
 * Per reason of rejection: `nginx.malformed` (lines in the interval, tag `reason`); and
 * `nginx.lines`, every line read in the interval.
 *
 * Percentiles come from DDSketch, a mergeable sketch whose quantiles are within
 * {@link RELATIVE_ACCURACY} (1 %) of the exact value of the same rank; `max` is exact.
 * Every point also carries the agent's standard tags given in the options (`dc`, `cluster`, `host`).
 * Tag values are cleaned to what the store accepts: a character outside letters, digits and
 * `-_./` becomes `_` (`10.0.0.7:31000` → `10.0.0.7_31000`); a missing vhost or upstream is `none`.
 */
import type { MetricPoint, Tags } from '../../core/model.ts';
import { newScanOut, type ScanOut } from './line-scanner.ts';
import { compileLogFormat, type FailureCode, type LineParser, type ParsedLine } from './log-format.ts';
import { RELATIVE_ACCURACY, TimeSketch } from './time-sketch.ts';

export { RELATIVE_ACCURACY };

export type MalformedCode = FailureCode | 'too_long';

export type MalformedSample = { code: MalformedCode; reason: string; line: string };

export type NginxAggregatorOptions = {
  /** A format (name, directive or text) or a parser from `compileLogFormat`. */
  format: string | LineParser;
  /** The agent's standard tags (`dc`, `cluster`, `host`), added to every point. */
  tags?: Tags;
  /** Samples kept per reason of rejection, since start; default 10. */
  maxSamples?: number;
  /** Characters of a sampled line kept; default 1,000. */
  maxSampleChars?: number;
  /** Distinct (vhost, upstream) pairs per interval; the rest count under `_other`. Default 10,000. */
  maxGroups?: number;
};

export type NginxAggregator = {
  /** Parses and counts one line; false when it was rejected (then counted as malformed). */
  addLine(line: string): boolean;
  addLines(lines: readonly string[]): void;
  /**
   * Parses and counts every line of `text`: lines each ending with a newline (the last one may
   * lack it), as a read chunk comes, without cutting a string per line. Returns the line count.
   */
  addText(text: string): number;
  /** Counts one already-parsed line. */
  add(parsed: ParsedLine): void;
  /** Counts a line rejected elsewhere (the tailer's over-long lines). */
  addMalformed(code: MalformedCode, reason: string, line: string): void;
  /** The interval's points at `ts`; starts the next interval. */
  flush(ts: number, intervalMs: number): MetricPoint[];
  /** Rejections since start: counts per reason and the first samples of each. */
  malformed(): { counts: Partial<Record<MalformedCode, number>>; samples: MalformedSample[] };
  /** Lines since start. */
  totals(): { lines: number; parsed: number; failed: number };
};

const CLASS_NAMES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const NONE = 'none';
const OTHER = '_other';
const TAG_BAD = /[^\p{L}0-9\-_./]/gu;

/** A tag value the store accepts. */
export function cleanTagValue(value: string | null): string {
  if (value === null || value === '') return NONE;
  const clean = value.replace(TAG_BAD, '_');
  return clean.length > 256 ? clean.slice(0, 256) : clean;
}

class Group {
  readonly counts = [0, 0, 0, 0, 0, 0];
  readonly bytes = [0, 0, 0, 0, 0, 0];
  requestTime: TimeSketch | null = null;
  upstreamTime: TimeSketch | null = null;
  constructor(
    readonly vhost: string | null,
    readonly upstream: string | null,
  ) {}

  merge(other: Group): void {
    for (let c = 0; c < 6; c++) {
      this.counts[c]! += other.counts[c]!;
      this.bytes[c]! += other.bytes[c]!;
    }
    this.requestTime = mergeSketch(this.requestTime, other.requestTime);
    this.upstreamTime = mergeSketch(this.upstreamTime, other.upstreamTime);
  }
}

function mergeSketch(a: TimeSketch | null, b: TimeSketch | null): TimeSketch | null {
  if (!a) return b;
  if (b) a.merge(b);
  return a;
}

export function createNginxAggregator(options: NginxAggregatorOptions): NginxAggregator {
  return new Aggregator(options);
}

class Aggregator implements NginxAggregator {
  private readonly parser: LineParser;
  private readonly baseTags: Tags;
  private readonly maxSamples: number;
  private readonly maxSampleChars: number;
  private readonly maxGroups: number;
  private readonly out = newScanOut();
  /** (vhost, upstream) → group, for the interval. */
  private groups = new Map<string, Group>();
  /** Group key of a line (see LineParser.groupKey) → group: one lookup per line. */
  private byKey = new Map<string, Group>();
  private intervalLines = 0;
  private intervalMalformed = new Map<MalformedCode, number>();
  private lines = 0;
  private failed = 0;
  private readonly malformedCounts: Partial<Record<MalformedCode, number>> = {};
  private readonly samples: MalformedSample[] = [];
  private readonly sampled = new Map<MalformedCode, number>();

  constructor(options: NginxAggregatorOptions) {
    this.parser = typeof options.format === 'string' ? compileLogFormat(options.format) : options.format;
    this.baseTags = { ...options.tags };
    this.maxSamples = options.maxSamples ?? 10;
    this.maxSampleChars = options.maxSampleChars ?? 1_000;
    this.maxGroups = options.maxGroups ?? 10_000;
  }

  addLine(line: string): boolean {
    return this.addRange(line, 0, line.length);
  }

  addLines(batch: readonly string[]): void {
    for (let i = 0; i < batch.length; i++) this.addRange(batch[i]!, 0, batch[i]!.length);
  }

  addText(text: string): number {
    let lines = 0;
    for (let start = 0; start < text.length; lines++) {
      let nl = text.indexOf('\n', start);
      if (nl < 0) nl = text.length;
      this.addRange(text, start, nl);
      start = nl + 1;
    }
    return lines;
  }

  private addRange(text: string, start: number, end: number): boolean {
    this.lines++;
    this.intervalLines++;
    const out = this.out;
    const failure = this.parser.scan(text, start, end, out);
    if (failure !== null) {
      this.countMalformed(failure.code, failure.reason, text, start, end);
      return false;
    }
    const key = this.parser.groupKey(text, out);
    let g = this.byKey.get(key);
    if (g === undefined) {
      g = this.group(this.parser.vhostOf(text, out), this.parser.upstreamOf(text, out));
      // Keys beyond this come from odd lines (many upstream lists); they are looked up the slow way.
      if (this.byKey.size < this.maxGroups * 4) this.byKey.set(own(key), g);
    }
    count(g, out);
    return true;
  }

  add(p: ParsedLine): void {
    this.lines++;
    this.intervalLines++;
    const out = this.out;
    out.status = p.status;
    out.bytesSent = p.bytesSent ?? -1;
    out.requestTime = p.requestTime ?? -1;
    out.upstreamTime = p.upstreamTime ?? -1;
    count(this.group(p.vhost, p.upstream), out);
  }

  addMalformed(code: MalformedCode, reason: string, line: string): void {
    this.lines++;
    this.intervalLines++;
    this.countMalformed(code, reason, line, 0, line.length);
  }

  flush(ts: number, intervalMs: number): MetricPoint[] {
    const points: MetricPoint[] = [];
    for (const g of cleanGroups(this.groups).values())
      groupPoints(g, this.baseTags, ts, intervalMs / 1000, points);
    for (const [code, n] of this.intervalMalformed)
      points.push({ metric: 'nginx.malformed', tags: { ...this.baseTags, reason: code }, ts, value: n });
    points.push({ metric: 'nginx.lines', tags: baseTagsOr(this.baseTags), ts, value: this.intervalLines });
    this.groups = new Map();
    this.byKey = new Map();
    this.intervalLines = 0;
    this.intervalMalformed = new Map();
    return points;
  }

  malformed(): { counts: Partial<Record<MalformedCode, number>>; samples: MalformedSample[] } {
    return { counts: { ...this.malformedCounts }, samples: [...this.samples] };
  }

  totals(): { lines: number; parsed: number; failed: number } {
    return { lines: this.lines, parsed: this.lines - this.failed, failed: this.failed };
  }

  private group(rawVhost: string | null, rawUpstream: string | null): Group {
    let vhost = rawVhost === null ? null : own(rawVhost);
    let upstream = rawUpstream === null ? null : own(rawUpstream);
    let pair = (vhost ?? '') + '\n' + (upstream ?? '');
    let g = this.groups.get(pair);
    if (g !== undefined) return g;
    if (this.groups.size >= this.maxGroups) {
      vhost = OTHER;
      upstream = OTHER;
      pair = OTHER + '\n' + OTHER;
      g = this.groups.get(pair);
      if (g !== undefined) return g;
    }
    g = new Group(vhost, upstream);
    this.groups.set(pair, g);
    return g;
  }

  private countMalformed(
    code: MalformedCode,
    reason: string,
    text: string,
    start: number,
    end: number,
  ): void {
    this.failed++;
    this.malformedCounts[code] = (this.malformedCounts[code] ?? 0) + 1;
    this.intervalMalformed.set(code, (this.intervalMalformed.get(code) ?? 0) + 1);
    const kept = this.sampled.get(code) ?? 0;
    if (kept >= this.maxSamples) return;
    this.sampled.set(code, kept + 1);
    const line = text.slice(start, Math.min(end, start + this.maxSampleChars));
    this.samples.push({ code, reason, line: own(line) });
  }
}

function count(g: Group, o: ScanOut): void {
  const c = (o.status / 100) | 0;
  g.counts[c]!++;
  if (o.bytesSent >= 0) g.bytes[c]! += o.bytesSent;
  if (o.requestTime >= 0) {
    if (g.requestTime === null) g.requestTime = new TimeSketch();
    g.requestTime.accept(o.requestTime);
  }
  if (o.upstreamTime >= 0) {
    if (g.upstreamTime === null) g.upstreamTime = new TimeSketch();
    g.upstreamTime.accept(o.upstreamTime);
  }
}

/** The points of one (vhost, upstream) group over an interval of `seconds`. */
function groupPoints(g: Group, baseTags: Tags, ts: number, seconds: number, points: MetricPoint[]): void {
  const point = (metric: string, tags: Tags, value: number) => points.push({ metric, tags, ts, value });
  const pair: Tags = { ...baseTags, vhost: cleanTagValue(g.vhost), upstream: cleanTagValue(g.upstream) };
  for (let c = 1; c < 6; c++) {
    if (g.counts[c] === 0) continue;
    const tags = { ...pair, status_class: CLASS_NAMES[c]! };
    point('nginx.requests', tags, g.counts[c]! / seconds);
    point('nginx.bytes_sent', tags, g.bytes[c]! / seconds);
    point(`nginx.status.${CLASS_NAMES[c]}`, pair, g.counts[c]!);
  }
  const rt = g.requestTime?.summary();
  if (rt) {
    point('nginx.request_time.p50', pair, rt.p50);
    point('nginx.request_time.p90', pair, rt.p90);
    point('nginx.request_time.p99', pair, rt.p99);
    point('nginx.request_time.max', pair, rt.max);
  }
  const ut = g.upstreamTime?.summary();
  if (ut) point('nginx.upstream_time.p99', pair, ut.p99);
}

/** A point needs one tag at least: with no standard tags, `nginx.lines` carries `source=nginx`. */
function baseTagsOr(tags: Tags): Tags {
  return Object.keys(tags).length > 0 ? { ...tags } : { source: 'nginx' };
}

/**
 * A copy of `s` that does not keep the text it was cut from alive: V8 slices share their parent
 * string, and a map key cut from a line would pin the whole read chunk for the interval.
 */
function own(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/** Groups keyed by their cleaned tag values; raw values that clean to the same tags are merged. */
function cleanGroups(groups: Map<string, Group>): Map<string, Group> {
  const out = new Map<string, Group>();
  for (const g of groups.values()) {
    const key = cleanTagValue(g.vhost) + '\n' + cleanTagValue(g.upstream);
    const seen = out.get(key);
    if (seen) seen.merge(g);
    else out.set(key, g);
  }
  return out;
}
