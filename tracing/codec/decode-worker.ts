/**
 * A decoding thread, started by `decode-pool.ts` through `decode-worker.mjs`: `decode-body.ts` on
 * every request.
 */
import { parentPort } from 'node:worker_threads';
import { decodeBody } from './decode-body.ts';
import type { DecodeRequest } from './decode-pool.ts';

parentPort!.on('message', (req: DecodeRequest) => {
  const { response, transfer } = decodeBody(req);
  parentPort!.postMessage(response, transfer);
});
