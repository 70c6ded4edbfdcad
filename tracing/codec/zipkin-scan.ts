/**
 * The fast path of `POST /api/v2/spans`: reads a Zipkin v2 JSON body byte by byte and writes the
 * bus records (`record-writer.ts`) straight from it, copying the bytes of ids, names and tags into
 * the rows instead of making JavaScript objects of them (`JSON.parse`, `decodeZipkinSpan`) and JSON
 * again (`JSON.stringify`): on the decoding thread that was most of the CPU of a span, and most of
 * the garbage.
 *
 * It only takes the plain form every Zipkin client writes: the fields of `zipkin2-api.yaml`,
 * strings of printable ASCII without escapes, integers as digits, string tags. A span in any other
 * form (an escape, a non-ASCII byte, an unknown field, a number tag, a lower-case kind, a field
 * twice, a span that is refused) is decoded the usual way, on its own, so its answer and its
 * error are exactly `decodeZipkinSpan`'s. A body that is not a JSON array, or not JSON, is left to
 * the caller (`undefined`): the usual path gives the error a bad body gets.
 */
import type { SpanError } from '../model.ts';
import type { SpanRecordWriter } from './record-writer.ts';
import { decodeZipkinSpan } from './zipkin-json.ts';
import { writeZipkinRow } from './zipkin-row.ts';
import { ZipkinSpanBytes } from './zipkin-span-bytes.ts';

// Byte values and `SLOW` of `json-bytes.ts`, as constants of this module (see there).
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const SLOW = -1;

export type ScannedSpans = {
  records: { key: string; value: Uint8Array }[];
  count: number;
  indexes: number[];
  errors: SpanError[];
  /** The service of each good span, when asked for. */
  services: string[] | undefined;
};

/** Reads bodies on one thread; keeps its scratch memory from one body to the next. */
export class ZipkinScanner {
  private readonly spanBytes = new ZipkinSpanBytes();
  private b: Uint8Array = new Uint8Array(0);
  /** Spans decoded the usual way so far. */
  slowSpans = 0;

  constructor(private readonly writer: SpanRecordWriter) {}

  /**
   * The records of a body, `perRecord` spans each, or undefined when the body is not a JSON array
   * (or not JSON at all).
   */
  scan(body: Uint8Array, perRecord: number, withServices: boolean): ScannedSpans | undefined {
    const b = body;
    this.b = b;
    this.spanBytes.setBody(b);
    const out: ScannedSpans = {
      records: [],
      count: 0,
      indexes: [],
      errors: [],
      services: withServices ? [] : undefined,
    };
    const writer = this.writer;
    try {
      let i = this.spanBytes.ws(0);
      if (b[i] !== OPEN_ARRAY) return undefined;
      i = this.spanBytes.ws(i + 1);
      if (b[i] === CLOSE_ARRAY) return this.spanBytes.ws(i + 1) === b.length ? out : undefined;
      for (let index = 0; ; index++) {
        const start = i;
        let end = b[i] === OPEN_OBJECT ? this.spanBytes.span(i) : SLOW;
        if (end >= 0 && this.write(start, end, out)) out.indexes.push(index);
        else {
          if (end < 0) end = this.spanBytes.skip(start);
          if (end < 0 || !this.slowSpan(start, end, index, out)) return undefined;
        }
        if (writer.n >= perRecord) this.flush(out);
        i = this.spanBytes.ws(end);
        if (b[i] === CLOSE_ARRAY) break;
        if (b[i] !== COMMA) return undefined;
        i = this.spanBytes.ws(i + 1);
      }
      if (this.spanBytes.ws(i + 1) !== b.length) return undefined;
      if (writer.n > 0) this.flush(out);
      return out;
    } finally {
      // An unfinished record is dropped, and the body is not kept.
      writer.reset();
      this.b = new Uint8Array(0);
      this.spanBytes.setBody(this.b);
    }
  }

  private flush(out: ScannedSpans): void {
    const n = this.writer.n;
    const key = this.writer.firstTraceId;
    out.records.push({ key, value: this.writer.finish() });
    out.count += n;
  }

  /** Decodes the span at [start, end) the usual way; false when it is not JSON. */
  private slowSpan(start: number, end: number, index: number, out: ScannedSpans): boolean {
    this.slowSpans++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(this.b.buffer, this.b.byteOffset + start, end - start).toString());
    } catch {
      return false;
    }
    const r = decodeZipkinSpan(parsed);
    if (r.ok) {
      this.writer.addSpan(r.span);
      out.indexes.push(index);
      out.services?.push(r.span.service);
    } else out.errors.push({ index, field: r.field, message: r.message });
    return true;
  }

  /** Writes the row of the span just read, from [start, end); false when it does not pass. */
  private write(start: number, end: number, out: ScannedSpans): boolean {
    if (!writeZipkinRow(this.spanBytes, this.b, this.writer, start, end)) return false;
    const m = this.writer.mark;
    out.services?.push(this.writer.rows.toString('latin1', m.serviceAt, m.serviceEnd));
    return true;
  }
}
