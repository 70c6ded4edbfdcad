/**
 * Pure pieces of the log path: the words a record can be found by, the words of a search, the
 * request body of `POST /api/logs` and the bus encoding of records. Searching matches whole
 * words, case-insensitively, as OpenSearch's standard analyzer does on the `message` field, so
 * the embedded store and the engines answer the same query the same way.
 */
import type { FieldError, LogRecord } from '../../core/model.ts';
import { validateLogRecord } from '../../core/model.ts';
import { logMessage } from '../../tracing/store/elastic/elastic-dsl.ts';

const WORD = /[\p{L}\p{N}_]+/gu;

/** The distinct lower-case words of a text. */
export function words(text: string): string[] {
  return [...new Set(text.toLowerCase().match(WORD) ?? [])];
}

/**
 * The words a record is found by (its raw line, else its fields' values), as ` a b c `: one
 * `contains(col, ' word ')` per search word then matches whole words only.
 */
export function recordWords(record: LogRecord): string {
  const w = words(logMessage(record));
  return w.length === 0 ? ' ' : ` ${w.join(' ')} `;
}

/** The project a record belongs to: its `project` field when that is a string. */
export function recordProject(record: LogRecord): string | undefined {
  const p = record.fields['project'];
  return typeof p === 'string' && p !== '' ? p : undefined;
}

/** One refused record of a request: its index in the body (0-based), the field and why. */
export type RecordError = { index: number } & FieldError;

export type ParsedLogBody = { records: LogRecord[]; indexes: number[]; errors: RecordError[] };

/** Keeps only the fields of a LogRecord, so that extra keys are not stored. */
function clean(r: LogRecord): LogRecord {
  const out: LogRecord = { ts: r.ts, source: r.source, fields: r.fields };
  if (typeof r.raw === 'string') out.raw = r.raw;
  return out;
}

function collect(items: unknown[], lineErrors: Map<number, string>): ParsedLogBody {
  const errors: RecordError[] = [];
  const records: LogRecord[] = [];
  const indexes: number[] = [];
  items.forEach((item, index) => {
    const bad = lineErrors.get(index);
    if (bad !== undefined) {
      errors.push({ index, field: '', message: bad });
      return;
    }
    const v = validateLogRecord(item);
    if (!v.ok) errors.push({ index, ...v.error });
    else if (v.value.raw !== undefined && typeof v.value.raw !== 'string')
      errors.push({ index, field: 'raw', message: 'raw must be a string' });
    else if (Array.isArray(v.value.fields))
      errors.push({ index, field: 'fields', message: 'fields must be an object, not an array' });
    else {
      records.push(clean(v.value));
      indexes.push(index);
    }
  });
  return { records, indexes, errors };
}

/**
 * Parses a body of log records: a JSON array (or one object), or JSON lines when `ndjson` (one
 * record per non-empty line; the index of a record is its line's position among those lines).
 * Bad records come back as errors with their index; a body that is not JSON at all throws.
 */
export function parseLogBody(text: string, ndjson: boolean): ParsedLogBody {
  if (ndjson) {
    const items: unknown[] = [];
    const lineErrors = new Map<number, string>();
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        items.push(JSON.parse(line));
      } catch (e) {
        lineErrors.set(items.length, `not JSON: ${(e as Error).message}`);
        items.push(undefined);
      }
    }
    return collect(items, lineErrors);
  }
  const body: unknown = JSON.parse(text);
  return collect(Array.isArray(body) ? body : [body], new Map());
}

/** The bus value of a batch of records of one source. */
export function encodeLogRecords(records: readonly LogRecord[]): Uint8Array {
  return Buffer.from(JSON.stringify(records));
}

/** Decodes a bus value; throws (the record is then dead-lettered) unless every record is valid. */
export function decodeLogRecords(value: Uint8Array): LogRecord[] {
  const body: unknown = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString());
  if (!Array.isArray(body)) throw new Error('a logs record must hold a JSON array');
  return body.map((item, i) => {
    const v = validateLogRecord(item);
    if (!v.ok) throw new Error(`log record ${i}: ${v.error.field} ${v.error.message}`);
    return clean(v.value);
  });
}
