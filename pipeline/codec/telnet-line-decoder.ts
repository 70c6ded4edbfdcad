/**
 * Telnet `put` lines decoded straight from their bytes, with a memory of the series seen
 * (`SeriesMemory`): a line whose metric word and tag words are byte for byte those of a series
 * found valid before only has its timestamp and value read. Every other line (a new series,
 * another command, a bad field, a byte beyond ASCII) is decoded as text by `parseTelnetLine`, so
 * its answer is exactly the one the text path gives.
 *
 * A client also writes each line of a series as it wrote the last one, but for the timestamp and
 * value words. Each remembered series keeps the bytes of its last line around those two words (its
 * `PointLayout`), and a line of the series the decoder expects next is first tried against them:
 * equal bytes, and only the two words are read.
 */
import { LIMITS, type Tags } from '../../core/model.ts';
import { decimalAt } from './decimal.ts';
import { isAsciiSpace, parseTelnetLine, type TelnetResult, toEpochMs } from './opentsdb-put.ts';
import { equalAt, type KnownSeries, layoutOf, type PointLayout, SeriesMemory } from './series-memory.ts';

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

  /**
   * The line b[start, end) if its bytes are those of `known`'s layout with a timestamp and a value
   * word in it: its answer. Undefined if they are not.
   */
  const inLayout = (
    b: Buffer,
    start: number,
    end: number,
    known: KnownSeries,
    layout: PointLayout,
    sink: PointSink | undefined,
  ): TelnetResult | undefined => {
    const { bytes, head, middle } = layout;
    const rest = head + middle;
    if (!equalAt(b, start, bytes, 0, head)) return undefined;
    // The timestamp's digits, then the separator the layout has (whitespace: the word ends there).
    const tsStart = start + head;
    let i = tsStart;
    while (i < end && b[i]! >= ZERO && b[i]! <= NINE) i++;
    const tsEnd = i;
    if (tsEnd === tsStart || !equalAt(b, tsEnd, bytes, head, middle)) return undefined;
    // The value word, up to the tags as the layout has them, which end the line. (Bytes there that
    // are no value, a space among them, go to the text path, as the value word of a line would.)
    const vStart = tsEnd + middle;
    const vEnd = end - (bytes.length - rest);
    if (vEnd <= vStart || !equalAt(b, vEnd, bytes, rest, bytes.length - rest)) return undefined;
    return taken(b, start, end, known, tsStart, tsEnd, vStart, vEnd, sink);
  };

  /** The answer to a `put` line of a remembered series, its timestamp and value words where given. */
  const taken = (
    b: Buffer,
    start: number,
    end: number,
    series: KnownSeries,
    tsStart: number,
    tsEnd: number,
    vStart: number,
    vEnd: number,
    sink: PointSink | undefined,
  ): TelnetResult => {
    const ts = timestampAt(b, tsStart, tsEnd);
    const value = valueAt(b, vStart, vEnd);
    if (ts === undefined || value === undefined) return parseText(b.toString('utf8', start, end));
    memory.follow(series);
    if (sink === undefined)
      return { kind: 'put', point: { metric: series.metric, tags: series.tags as Tags, ts, value } };
    sink(series, ts, value);
    return TAKEN;
  };

  return (b, start, end, sink) => {
    const predicted = memory.predicted();
    // Most lines are written as the last line of their series was: only the two numbers differ.
    if (predicted?.layout !== undefined) {
      const answer = inLayout(b, start, end, predicted, predicted.layout, sink);
      if (answer !== undefined) return answer;
    }
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
        if (series.layout === undefined || series === predicted)
          series.layout = layoutOf(b, start, end, at[2]!, at[3]!, at[4]!, at[5]!);
        return taken(b, start, end, series, at[2]!, at[3]!, at[4]!, at[5]!, sink);
      }
    }
    const result = parseText(b.toString('utf8', start, end));
    if (fast && result.kind === 'put' && isAscii(b, at[0]!, at[1]!) && isAscii(b, tagsStart, tagsEnd)) {
      const remembered = memory.remember(
        b,
        at[0]!,
        at[1]!,
        tagsStart,
        tagsEnd,
        result.point.metric,
        result.point.tags,
      );
      remembered.layout = layoutOf(b, start, end, at[2]!, at[3]!, at[4]!, at[5]!);
      memory.follow(remembered);
    }
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
