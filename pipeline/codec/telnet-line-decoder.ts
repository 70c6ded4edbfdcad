/**
 * Telnet `put` lines decoded straight from their bytes, with a memory of the series seen
 * (`SeriesMemory`): a line whose metric word and tag words are byte for byte those of a series
 * found valid before only has its timestamp and value read. Every other line (a new series,
 * another command, a bad field, a byte beyond ASCII) is decoded as text by `parseTelnetLine`, so
 * its answer is exactly the one the text path gives.
 */
import { LIMITS, type Tags } from '../../core/model.ts';
import { decimalAt } from './decimal.ts';
import { isAsciiSpace, parseTelnetLine, type TelnetResult, toEpochMs } from './opentsdb-put.ts';
import { type KnownSeries, SeriesMemory } from './series-memory.ts';

/**
 * Decodes the line b[start, end) (without its line feed). Given `sink`, a `put` of a remembered
 * series goes there instead, with no object made for it, and the answer is `TAKEN`.
 */
export type TelnetLineDecoder = (b: Buffer, start: number, end: number, sink?: PointSink) => TelnetResult;

/** Takes a decoded point of a remembered series (its `KnownSeries`, shared by all its points). */
export type PointSink = (series: KnownSeries, ts: number, value: number) => void;

/** The answer when a point went to the sink. */
export const TAKEN: TelnetResult = Object.freeze({ kind: 'empty' });

const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const P = 0x70;
const U = 0x75;
const T = 0x74;
/** Digits of the longest timestamp OpenTSDB reads (milliseconds). */
const MAX_TS_DIGITS = 13;

export function createTelnetLineDecoder(
  maxTags: number = LIMITS.maxTags,
  maxSeries = 200_000,
): TelnetLineDecoder {
  const parseText = (text: string) => parseTelnetLine(text, maxTags);
  const memory = new SeriesMemory(maxSeries);
  /** Start and end of the metric, timestamp and value words of the line being decoded. */
  const at = new Int32Array(6);

  return (b, start, end, sink) => {
    let i = start;
    while (i < end && isAsciiSpace(b[i]!)) i++;
    let fast = b[i] === P && b[i + 1] === U && b[i + 2] === T && i + 3 < end && isAsciiSpace(b[i + 3]!);
    i += 3;
    // The metric, timestamp and value words, then the rest (the tags), trimmed. (A byte beyond
    // ASCII is never one of its spaces: the words are those of the text.)
    for (let word = 0; word < 6 && fast; word += 2) {
      while (i < end && isAsciiSpace(b[i]!)) i++;
      at[word] = i;
      while (i < end && !isAsciiSpace(b[i]!)) i++;
      at[word + 1] = i;
      if (at[word] === i) fast = false;
    }
    while (i < end && isAsciiSpace(b[i]!)) i++;
    let tagsEnd = end;
    while (tagsEnd > i && isAsciiSpace(b[tagsEnd - 1]!)) tagsEnd--;
    const tagsStart = i;
    if (tagsStart === tagsEnd) fast = false;
    // A series is remembered only from ASCII bytes, so bytes equal to its own need no check; the
    // timestamp and value words are read only if they are digits.
    if (fast) {
      const series = memory.find(b, at[0]!, at[1]!, tagsStart, tagsEnd);
      if (series !== undefined) {
        const ts = timestampAt(b, at[2]!, at[3]!);
        const value = valueAt(b, at[4]!, at[5]!);
        if (ts !== undefined && value !== undefined) {
          memory.follow(series);
          if (sink === undefined)
            return { kind: 'put', point: { metric: series.metric, tags: series.tags as Tags, ts, value } };
          sink(series, ts, value);
          return TAKEN;
        }
        return parseText(b.toString('utf8', start, end));
      }
    }
    const result = parseText(b.toString('utf8', start, end));
    if (fast && result.kind === 'put' && isAscii(b, at[0]!, at[1]!) && isAscii(b, tagsStart, tagsEnd))
      memory.follow(
        memory.remember(b, at[0]!, at[1]!, tagsStart, tagsEnd, result.point.metric, result.point.tags),
      );
    return result;
  };
}

function isAscii(b: Buffer, start: number, end: number): boolean {
  for (let j = start; j < end; j++) if (b[j]! >= 0x80) return false;
  return true;
}

/** A timestamp word of digits only, in epoch ms as `toEpochMs` reads it; else undefined. */
function timestampAt(b: Buffer, start: number, end: number): number | undefined {
  if (end - start > MAX_TS_DIGITS) return undefined;
  let n = 0;
  for (let j = start; j < end; j++) {
    const c = b[j]!;
    if (c < ZERO || c > NINE) return undefined;
    n = n * 10 + (c - ZERO);
  }
  return toEpochMs(n);
}

/** A value word `-?digits(.digits)?` as `Number` reads it, if finite; else undefined. */
function valueAt(b: Buffer, start: number, end: number): number | undefined {
  let j = b[start] === MINUS ? start + 1 : start;
  const digitsFrom = j;
  while (j < end && b[j]! >= ZERO && b[j]! <= NINE) j++;
  if (j === digitsFrom) return undefined;
  if (j < end && b[j] === DOT) {
    const fractionFrom = ++j;
    while (j < end && b[j]! >= ZERO && b[j]! <= NINE) j++;
    if (j === fractionFrom) return undefined;
  }
  if (j !== end) return undefined;
  const value = decimalAt(b, start, end);
  return Number.isFinite(value) ? value : undefined;
}
