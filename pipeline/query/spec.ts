/** Parsing of the parts shared by the JSON body and the `m` syntax: aggregators, downsamplers. */
import { formatDuration } from '../../core/duration.ts';
import { AGGREGATORS, type Aggregator, type Downsample, type FillPolicy } from '../../core/query.ts';
import { invalidQuery } from './filters.ts';
import { parseTsdbDuration } from './time.ts';

export const FILL_POLICIES: readonly FillPolicy[] = ['none', 'nan', 'null', 'zero'];

/** Most buckets a filling downsampler may produce per series. */
export const MAX_FILLED_BUCKETS = 1_000_000;

/** Parses an aggregator name, case-insensitively. */
export function parseAggregator(value: unknown, where: string): Aggregator {
  if (typeof value !== 'string' || value === '')
    throw invalidQuery(where, `an aggregator is required (one of ${AGGREGATORS.join(', ')})`);
  const name = value.toLowerCase();
  if (!(AGGREGATORS as readonly string[]).includes(name))
    throw invalidQuery(where, `unknown aggregator "${value}" (known: ${AGGREGATORS.join(', ')})`);
  return name as Aggregator;
}

const DOWNSAMPLE_HELP = 'expected <interval>-<aggregator>[-<fill>] like 1m-avg, 1h-sum-zero or 0all-max';

function parseInterval(text: string, spec: string, where: string): number {
  if (/^\d+all$/i.test(text)) return 0;
  if (/^\d+[a-z]+c$/i.test(text) && parseTsdbDuration(text) === undefined)
    throw invalidQuery(where, `calendar downsampling "${spec}" is not supported`);
  const ms = parseTsdbDuration(text);
  if (ms === undefined)
    throw invalidQuery(where, `invalid downsample interval "${text}" in "${spec}": ${DOWNSAMPLE_HELP}`);
  if (ms <= 0) throw invalidQuery(where, `downsample interval in "${spec}" must be greater than zero`);
  return ms;
}

/** Parses `1m-avg`, `1h-sum-zero`, `0all-max`. */
export function parseDownsample(value: unknown, where: string): Downsample {
  if (typeof value !== 'string' || value === '')
    throw invalidQuery(where, `downsample must be a string: ${DOWNSAMPLE_HELP}`);
  const parts = value.split('-');
  if (parts.length < 2 || parts.length > 3)
    throw invalidQuery(where, `invalid downsample "${value}": ${DOWNSAMPLE_HELP}`);
  const intervalMs = parseInterval(parts[0]!, value, where);
  const aggregator = parseAggregator(parts[1], where);
  const fillText = (parts[2] ?? 'none').toLowerCase();
  if (!(FILL_POLICIES as readonly string[]).includes(fillText))
    throw invalidQuery(
      where,
      `unknown fill policy "${parts[2]}" in "${value}" (known: ${FILL_POLICIES.join(', ')})`,
    );
  return { intervalMs, aggregator, fill: fillText as FillPolicy };
}

/** Refuses a filling downsampler that would emit more than MAX_FILLED_BUCKETS per series. */
export function checkBucketCount(ds: Downsample, start: number, end: number, where: string): void {
  if (ds.fill === 'none' || ds.intervalMs === 0) return;
  const buckets = Math.floor((end - start) / ds.intervalMs) + 1;
  if (buckets > MAX_FILLED_BUCKETS)
    throw invalidQuery(
      where,
      `downsample "${formatDownsample(ds)}" would fill ${buckets} buckets per series; the limit is ${MAX_FILLED_BUCKETS}`,
    );
}

/** The OpenTSDB text of a downsampler, as echoed by `showQuery`. */
export function formatDownsample(ds: Downsample): string {
  const interval = ds.intervalMs === 0 ? '0all' : formatDuration(ds.intervalMs);
  return ds.fill === 'none' ? `${interval}-${ds.aggregator}` : `${interval}-${ds.aggregator}-${ds.fill}`;
}

/** Reads a JSON boolean that OpenTSDB clients also send as the strings "true" and "false". */
export function parseFlag(value: unknown, where: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalidQuery(where, `must be true or false, not ${JSON.stringify(value)}`);
}
