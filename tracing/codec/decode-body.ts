/**
 * The work of a decoding thread (`decode-worker.ts`): a request body in, bus records (encoded
 * spans) and per-span errors out.
 */
import { parseJsonBodyOr } from '../../core/json-body.ts';
import type { DecodedBatch, DecodeRequest, DecodeResponse } from './decode-pool.ts';
import { decodeOtlpTraces } from './otlp-json.ts';
import { encodeSpanRecord, recordWriter, type SpanRecordEncoding } from './spans-codec.ts';
import { decodeZipkinSpans } from './zipkin-json.ts';
import { ZipkinScanner } from './zipkin-scan.ts';

const scanners = new Map<SpanRecordEncoding, ZipkinScanner>();

/** Zipkin spans read straight from the body's bytes (`zipkin-scan.ts`), when it takes them. */
function scanZipkin(req: DecodeRequest): DecodedBatch | undefined {
  let scanner = scanners.get(req.encoding);
  if (!scanner) {
    scanner = new ZipkinScanner(recordWriter(req.encoding));
    scanners.set(req.encoding, scanner);
  }
  const scanned = scanner.scan(req.body, req.perRecord, req.withServices);
  return scanned && { id: req.id, ok: true, ...scanned };
}

/**
 * Decodes a request as a decoding thread does, with the buffers the answer can move instead of
 * copying. `fast`: Zipkin bodies go through `zipkin-scan.ts` first (off only to compare).
 */
export function decodeBody(
  req: DecodeRequest,
  fast = true,
): { response: DecodeResponse; transfer: ArrayBuffer[] } {
  const scanned = fast && req.format === 'zipkin' ? scanZipkin(req) : undefined;
  if (scanned)
    return { response: scanned, transfer: scanned.records.map((r) => r.value.buffer as ArrayBuffer) };
  let parsed: unknown;
  try {
    const body = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
    parsed = parseJsonBodyOr(body, req.format === 'zipkin' ? [] : {});
  } catch (e) {
    return {
      response: { id: req.id, ok: false, message: `The body is not valid JSON: ${(e as Error).message}` },
      transfer: [],
    };
  }
  const { spans, indexes, errors } =
    req.format === 'zipkin' ? decodeZipkinSpans(parsed) : decodeOtlpTraces(parsed);
  const records: { key: string; value: Uint8Array }[] = [];
  const transfer: ArrayBuffer[] = [];
  for (let i = 0; i < spans.length; i += req.perRecord) {
    const part = spans.slice(i, i + req.perRecord);
    const value = encodeSpanRecord(part, req.encoding);
    // Only a buffer that owns its whole memory can move; pooled small ones are copied.
    if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength)
      transfer.push(value.buffer as ArrayBuffer);
    records.push({ key: part[0]!.traceId, value });
  }
  return {
    response: {
      id: req.id,
      ok: true,
      records,
      count: spans.length,
      indexes,
      errors,
      services: req.withServices ? spans.map((s) => s.service) : undefined,
    },
    transfer,
  };
}
