/**
 * The input notation of rule tests, as promtool's: a series `metric{tag="v", other=w}` and its
 * values in the expanding notation — `1 2 3`, `1+1x3` (1 2 3 4), `10-2x2` (10 8 6), `5x2`
 * (5 5 5), `_` (no sample), `_x3` (three missing), `stale` (no sample; the hub has no staleness
 * markers).
 */
import { HubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';

const NUMBER = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN`;
const EXPAND_RE = new RegExp(String.raw`^(${NUMBER})(?:([-+])(${NUMBER}))?x(\d+)$`);
const SINGLE_RE = new RegExp(`^(${NUMBER})$`);
const NAME_RE = /^[\p{L}0-9\-_./]+$/u;

function num(text: string): number {
  if (/^[-+]?Inf$/.test(text))
    return text.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return Number(text);
}

/** Expands a values string; `null` stands for a missing sample. */
export function expandValues(text: string): (number | null)[] {
  const out: (number | null)[] = [];
  for (const word of text.trim().split(/\s+/)) {
    if (word === '') continue;
    if (word === '_' || word === 'stale') {
      out.push(null);
      continue;
    }
    const missing = /^_x(\d+)$/.exec(word);
    if (missing) {
      for (let i = 0; i < Number(missing[1]); i++) out.push(null);
      continue;
    }
    const m = EXPAND_RE.exec(word);
    if (m) {
      const start = num(m[1]!);
      const step = m[2] ? (m[2] === '-' ? -1 : 1) * num(m[3]!) : 0;
      for (let i = 0; i <= Number(m[4]); i++) out.push(start + i * step);
      continue;
    }
    if (SINGLE_RE.test(word)) {
      out.push(num(word));
      continue;
    }
    throw new HubError('BAD_REQUEST', `"${word}" is not a value: use 1, 1+2x3, 5x4, _ or _x2`, {
      where: 'values',
    });
  }
  return out;
}

/** Parses `metric{tag="v", other=w}` (quotes optional, as in OpenTSDB) into a metric and tags. */
export function parseSeries(text: string): { metric: string; tags: Tags } {
  const m = /^\s*([^{\s]+)\s*(?:\{(.*)\})?\s*$/s.exec(text);
  const bad = (why: string) =>
    new HubError('BAD_REQUEST', `series "${text}": ${why}; write metric{tag="value", …}`, {
      where: 'series',
    });
  if (!m) throw bad('not of the form metric{tags}');
  const metric = m[1]!;
  if (!NAME_RE.test(metric)) throw bad(`"${metric}" is not a metric name`);
  const tags: Tags = {};
  let rest = (m[2] ?? '').trim();
  while (rest !== '') {
    const pair = /^([\p{L}0-9\-_./]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s"]+))\s*(?:,\s*|$)/u.exec(rest);
    if (!pair) throw bad(`cannot read the tags at "${rest}"`);
    tags[pair[1]!] = pair[2] !== undefined ? (JSON.parse(`"${pair[2]}"`) as string) : pair[3]!;
    rest = rest.slice(pair[0].length);
  }
  return { metric, tags };
}
