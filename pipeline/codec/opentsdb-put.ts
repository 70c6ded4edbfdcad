/**
 * OpenTSDB's write formats, as pure functions: the JSON body of `/api/put` and the telnet
 * `put` line. Each bad point gets an error naming what is wrong; the good ones are kept.
 */
import {
  type FieldError,
  LIMITS,
  type MetricPoint,
  metricPointError,
  type Tags,
  validateMetricPoint,
} from '../../core/model.ts';

export type PutError = { datapoint: unknown; error: string };
export type PutDecoded = { points: MetricPoint[]; errors: PutError[] };

/** The reason labels the hub counts rejected points by. */
export type RejectReason =
  | 'metric'
  | 'timestamp'
  | 'value'
  | 'tags'
  | 'format'
  | 'forbidden'
  | 'cardinality'
  | 'rate_limited';

/** Seconds (up to 10 digits) or milliseconds (13 digits), as OpenTSDB reads them; else undefined. */
export function toEpochMs(raw: unknown): number | undefined {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw))
    n = Number(raw.includes('.') ? raw.replace('.', '') : raw);
  else return undefined;
  if (!Number.isFinite(n) || n <= 0) return undefined;
  if (!Number.isInteger(n)) n = Math.round(n * 1000);
  else if (n <= 9_999_999_999) n *= 1000;
  else if (n > LIMITS.maxTs) return undefined;
  return n;
}

/** A number, or a string OpenTSDB would parse as one. */
export function toValue(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

export function reasonOf(error: FieldError): RejectReason {
  const f = error.field;
  if (f === 'metric' || f === 'timestamp' || f === 'value') return f;
  if (f.startsWith('tags')) return 'tags';
  return 'format';
}

function describe(error: FieldError): string {
  return error.message;
}

/** Decodes one data point object of `/api/put`. */
export function decodePutPoint(
  input: unknown,
  maxTags: number = LIMITS.maxTags,
): { point?: MetricPoint; error?: FieldError } {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return { error: { field: '', message: 'A data point must be a JSON object' } };
  const dp = input as Record<string, unknown>;
  if (typeof dp['metric'] !== 'string' || dp['metric'] === '')
    return { error: { field: 'metric', message: 'Metric name was empty' } };
  const ts = toEpochMs(dp['timestamp']);
  if (ts === undefined)
    return {
      error: { field: 'timestamp', message: `Invalid timestamp: ${JSON.stringify(dp['timestamp'])}` },
    };
  if (dp['value'] === undefined || dp['value'] === null || dp['value'] === '')
    return { error: { field: 'value', message: 'Empty value' } };
  const value = toValue(dp['value']);
  if (value === undefined) return { error: { field: 'value', message: 'Unable to parse value to a number' } };
  if (
    dp['tags'] === undefined ||
    dp['tags'] === null ||
    (typeof dp['tags'] === 'object' && Object.keys(dp['tags']).length === 0)
  )
    return { error: { field: 'tags', message: 'Missing tags' } };
  const error = metricPointError(dp['metric'], dp['tags'], ts, value, maxTags);
  if (error) return { error };
  return { point: { metric: dp['metric'] as string, tags: dp['tags'] as Tags, ts, value } };
}

/** Decodes the parsed JSON body of `/api/put`: one object or an array of them. */
export function decodePutBody(
  body: unknown,
  maxTags: number = LIMITS.maxTags,
): PutDecoded & { reasons: RejectReason[] } {
  const items = Array.isArray(body) ? body : [body];
  const points: MetricPoint[] = [];
  const errors: PutError[] = [];
  const reasons: RejectReason[] = [];
  for (const item of items) {
    const r = decodePutPoint(item, maxTags);
    if (r.point) points.push(r.point);
    else {
      errors.push({ datapoint: item, error: describe(r.error!) });
      reasons.push(reasonOf(r.error!));
    }
  }
  return { points, errors, reasons };
}

export type TelnetResult =
  | { kind: 'put'; point: MetricPoint }
  | { kind: 'error'; reply: string; reason: RejectReason }
  | { kind: 'command'; command: string; args: string[] }
  | { kind: 'empty' };

/** ASCII whitespace as `\s` matches it: tab, line feed, vertical tab, form feed, carriage return, space. */
export const isAsciiSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** The whitespace-separated words of a line; a scan by char code, the regexp only beyond ASCII. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c >= 128) return line.split(/\s+/).filter((w) => w !== '');
    if (isAsciiSpace(c)) {
      if (start >= 0) words.push(line.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (start >= 0) words.push(line.slice(start));
  return words;
}

/** Parses one telnet line: `put <metric> <timestamp> <value> <tagk=tagv> ...` or another command. */
export function parseTelnetLine(line: string, maxTags: number = LIMITS.maxTags): TelnetResult {
  const words = splitWords(line);
  if (words.length === 0) return { kind: 'empty' };
  const command = words[0]!;
  const args = words.slice(1);
  if (command !== 'put') return { kind: 'command', command: command!, args };
  const fail = (msg: string, reason: RejectReason): TelnetResult => ({
    kind: 'error',
    reply: `put: ${msg}\n`,
    reason,
  });
  if (args.length < 4)
    return fail(`illegal argument: not enough arguments (need least 4, got ${args.length})`, 'format');
  const [metric, tsText, valueText, ...tagWords] = args as [string, string, string, ...string[]];
  const ts = /^\d+(\.\d+)?$/.test(tsText) ? toEpochMs(tsText) : undefined;
  if (ts === undefined) return fail(`illegal argument: invalid timestamp: ${tsText}`, 'timestamp');
  const value = toValue(valueText);
  if (value === undefined) return fail(`invalid value: ${valueText}`, 'value');
  const tags: Record<string, string> = {};
  for (const word of tagWords) {
    const eq = word.indexOf('=');
    if (eq <= 0 || eq === word.length - 1) return fail(`illegal argument: invalid tag: ${word}`, 'tags');
    const k = word.slice(0, eq);
    const v = word.slice(eq + 1);
    if (k in tags && tags[k] !== v)
      return fail(`illegal argument: duplicate tag: ${word}, tags=${JSON.stringify(tags)}`, 'tags');
    tags[k] = v;
  }
  const checked = validateMetricPoint({ metric, tags, ts, value }, maxTags);
  if (!checked.ok) return fail(`illegal argument: ${checked.error.message}`, reasonOf(checked.error));
  return { kind: 'put', point: checked.value };
}
