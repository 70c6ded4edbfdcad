/**
 * The work of a decoding thread: a request body in, bus records (encoded spans) and per-span
 * errors out. Started by `decode-pool.ts` through `decode-worker.mjs`.
 */
import { parentPort } from 'node:worker_threads';
import { parseJsonBodyOr } from '../../core/json-body.ts';
import type { DecodeRequest, DecodeResponse } from './decode-pool.ts';
import { decodeOtlpTraces } from './otlp-json.ts';
import { encodeSpanRecord } from './spans-codec.ts';
import { decodeZipkinSpans } from './zipkin-json.ts';

function handle(req: DecodeRequest): { response: DecodeResponse; transfer: ArrayBuffer[] } {
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

parentPort!.on('message', (req: DecodeRequest) => {
  const { response, transfer } = handle(req);
  parentPort!.postMessage(response, transfer);
});
