/**
 * The /v2/events side of the Marathon contract server (not Marathon): server-sent events in the
 * shape of events.txt, filtered by `event_type` as Marathon 1.3.7+ does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../../core/clock.ts';

type Stream = { res: ServerResponse; types: Set<string> | undefined };

export type ContractEventHub = {
  /** Sends one event, with `eventType` and `timestamp` added, to every stream subscribed to its type. */
  publish(eventType: string, data: Record<string, unknown>): void;
  /** Answers GET /v2/events: 405 without `Accept: text/event-stream`, 503 while refusing. */
  open(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void;
  /** Ends every open stream; refuses new ones for `refuseMs`. */
  drop(refuseMs: number): void;
};

export function createContractEventHub(clock: Clock): ContractEventHub {
  const streams = new Set<Stream>();
  let refuseUntil = 0;
  const iso = () => new Date(clock.now()).toISOString();

  const send = (s: Stream, eventType: string, payload: string) => {
    if (!s.types || s.types.has(eventType)) s.res.write(`event: ${eventType}\ndata: ${payload}\n\n`);
  };

  return {
    publish(eventType, data) {
      const payload = JSON.stringify({ ...data, eventType, timestamp: iso() });
      for (const s of streams) send(s, eventType, payload);
    },
    open(req, res, query) {
      if (!(req.headers.accept ?? '').includes('text/event-stream')) {
        res.writeHead(405, { 'content-type': 'text/html' }).end('<h2>HTTP ERROR: 405</h2>');
        return;
      }
      if (clock.now() < refuseUntil) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"event stream refused"}');
        return;
      }
      const types = query.getAll('event_type');
      const stream: Stream = { res, types: types.length ? new Set(types) : undefined };
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      streams.add(stream);
      res.on('close', () => streams.delete(stream));
      const attached = {
        remoteAddress: req.socket.remoteAddress,
        eventType: 'event_stream_attached',
        timestamp: iso(),
      };
      // A comment line flushes the headers even when the filter drops the attach event.
      res.write(':\n\n');
      send(stream, 'event_stream_attached', JSON.stringify(attached));
    },
    drop(refuseMs) {
      refuseUntil = clock.now() + refuseMs;
      for (const s of streams) s.res.destroy();
      streams.clear();
    },
  };
}
