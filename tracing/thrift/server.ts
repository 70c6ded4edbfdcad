/**
 * Server side of Thrift tracing: one server span per call, child of the caller's context when the
 * call carries one (a new trace otherwise), active while the handler runs so that the handler's own
 * calls become its children.
 *
 * The generated processor reads a call and invokes the handler synchronously within
 * `processor.process`, which the `thrift` server calls synchronously within the socket's `data`
 * event. So the trace fields read by the wrapped input protocol, and the socket the bytes came
 * from, are known when the handler wrapper runs; they are kept in module slots for exactly that
 * synchronous stretch.
 */
import type { Server as NetServer, Socket } from 'node:net';
import { type TlsOptions, Server as TlsServer } from 'node:tls';
import type { TProtocol, TProtocolConstructor, TTransportConstructor } from 'thrift';
import * as thrift from 'thrift';
import { isThenable, type Peer, type Tracer } from '../tracer/tracer.ts';
import { recordThriftError } from './client.ts';
import { createTraceReader, type TraceReader } from './protocol.ts';
import type { GeneratedProcessor } from './types.ts';

export type InstrumentProcessorOptions = {
  tracer: Tracer;
  /** This Thrift service's name, tag `thrift.service`. */
  service?: string;
};

export type TracedServerOptions = InstrumentProcessorOptions & {
  /** Default `TBufferedTransport`, as `thrift.createServer`. */
  transport?: TTransportConstructor;
  /** Default `TBinaryProtocol`. */
  protocol?: TProtocolConstructor;
  /** Serve over TLS with these options. */
  tls?: TlsOptions;
};

const INSTRUMENTED = Symbol.for('obs.thrift.instrumented');

/** `thrift.createMultiplexServer`, which @types/thrift does not declare: it serves a built processor. */
const createMultiplexServer = (
  thrift as unknown as {
    createMultiplexServer(processor: object, options: Record<string, unknown>): NetServer;
  }
).createMultiplexServer;

/** The reader of the call being processed, set only while `process` runs. */
let currentReader: TraceReader | undefined;
/** The peer whose bytes are being processed, set only during a socket's `data` event. */
let currentPeer: Peer | undefined;

type Method = (...args: unknown[]) => unknown;
type Callback = (error: unknown, result?: unknown) => void;

/** The RPC methods of a generated processor: those with a `process_<name>` method, up the class chain. */
export function processorMethods(processor: object): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(processor); p && p !== Object.prototype; p = Object.getPrototypeOf(p))
    for (const key of Object.getOwnPropertyNames(p)) if (key.startsWith('process_')) names.add(key.slice(8));
  return [...names];
}

function traceMethod(
  name: string,
  original: Method,
  target: object,
  options: InstrumentProcessorOptions,
): Method {
  const { tracer } = options;
  const tags: Record<string, string> = { 'thrift.method': name };
  if (options.service !== undefined) tags['thrift.service'] = options.service;
  const traced = function tracedHandler(...args: unknown[]): unknown {
    const headers = currentReader?.headers() ?? {};
    const span = tracer.startSpan(name, {
      kind: 'server',
      parent: tracer.extract(headers) ?? null,
      tags,
      ...(currentPeer ? { peer: currentPeer } : {}),
    });
    const end = (error: unknown) => {
      if (error !== null && error !== undefined) recordThriftError(span, error);
      span.finish();
    };
    const last = args.length - 1;
    const callback = typeof args[last] === 'function' ? (args[last] as Callback) : undefined;
    if (callback)
      args[last] = (error: unknown, result?: unknown) => {
        end(error);
        callback(error, result);
      };
    let result: unknown;
    try {
      result = tracer.withSpan(span, () => original.apply(target, args));
    } catch (e) {
      end(e);
      throw e;
    }
    if (isThenable(result))
      result.then(
        () => end(undefined),
        (e: unknown) => end(e ?? new Error('handler failed')),
      );
    else if (!callback) end(undefined);
    return result;
  };
  // The generated processor tells promise handlers from callback ones by their arity.
  Object.defineProperty(traced, 'length', { value: original.length });
  return traced;
}

/**
 * Instruments a generated processor in place and returns it: every call gets a server span (see
 * the module comment); trace fields are taken out of the arguments before the handler sees them.
 * Handlers may answer with a value, a promise or the callback, as the generated code allows.
 */
export function instrumentProcessor<P extends object>(processor: P, options: InstrumentProcessorOptions): P {
  const p = processor as unknown as GeneratedProcessor & Record<string | symbol, unknown>;
  if (p[INSTRUMENTED]) return processor;
  p[INSTRUMENTED] = true;
  const handler = p._handler as Record<string, unknown>;
  const traced = Object.create(handler) as Record<string, unknown>;
  for (const name of processorMethods(p)) {
    const method = handler[name];
    if (typeof method === 'function') traced[name] = traceMethod(name, method as Method, handler, options);
  }
  p._handler = traced;
  const process = p.process;
  p.process = function tracedProcess(this: unknown, input: TProtocol, output: TProtocol): void {
    const previous = currentReader;
    const reader = createTraceReader(input);
    currentReader = reader;
    try {
      process.call(this, reader.protocol, output);
    } finally {
      currentReader = previous;
    }
  };
  return processor;
}

function normalizeIp(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * Marks, for the synchronous run of each `data` event of each accepted socket, which peer the
 * bytes come from. Listeners go around the `thrift` server's own: one before it, one after.
 */
function trackPeers(server: NetServer, event: 'connection' | 'secureConnection'): void {
  server.prependListener(event, (socket: Socket) => {
    const peer: Peer = {};
    const ip = normalizeIp(socket.remoteAddress);
    if (ip !== undefined) peer.ip = ip;
    if (socket.remotePort !== undefined) peer.port = socket.remotePort;
    socket.on('data', () => {
      currentPeer = peer;
    });
  });
  server.on(event, (socket: Socket) => {
    socket.on('data', () => {
      currentPeer = undefined;
    });
  });
}

/**
 * A `thrift` TCP (or TLS) server for `processor`, instrumented: server spans carry the caller's IP
 * and port. Listen on it as on any `net.Server`.
 */
export function createTracedServer(processor: object, options: TracedServerOptions): NetServer {
  const traced = instrumentProcessor(processor, options);
  const server = createMultiplexServer(traced, {
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.protocol ? { protocol: options.protocol } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  trackPeers(server, server instanceof TlsServer ? 'secureConnection' : 'connection');
  return server;
}
