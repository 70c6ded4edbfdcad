/**
 * Client side of Thrift tracing: one client span per call, whose context rides on the call as
 * trace fields (see protocol.ts). Works on any client the `thrift` package generates for Node.
 */
import { isIP } from 'node:net';
import type { Tags } from '../../core/model.ts';
import { isThenable, type Tracer, type TracerSpan } from '../tracer/tracer.ts';
import { tracedProtocolClass, withOutgoingTrace } from './protocol.ts';
import type { GeneratedClient } from './types.ts';

export type InstrumentClientOptions = {
  tracer: Tracer;
  /** Where the client's connection goes: `peerIp` / `peerPort` of its spans (a host name goes to tag `peer.hostname`). */
  peer?: { host: string; port: number };
  /** The remote Thrift service, tag `thrift.service`. */
  service?: string;
};

const INSTRUMENTED = Symbol.for('obs.thrift.instrumented');

type Callback = (error: unknown, result?: unknown) => void;
type Method = (...args: unknown[]) => unknown;

/** The RPC methods of a generated client: those with a `send_<name>` companion, up the class chain. */
export function clientMethods(client: object): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(client); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (!key.startsWith('send_')) continue;
      const name = key.slice('send_'.length);
      if (typeof (client as Record<string, unknown>)[name] === 'function') names.add(name);
    }
  }
  return [...names];
}

/**
 * The Thrift facts of a failure: a declared exception or a `TApplicationException` (an unexpected
 * server error) is named in `thrift.exception`.
 */
export function recordThriftError(span: TracerSpan, error: unknown): void {
  span.setError(error);
  if (error instanceof Error && isThriftException(error)) span.setTag('thrift.exception', error.name);
}

function isThriftException(error: Error): boolean {
  for (let p = Object.getPrototypeOf(error); p && p !== Error.prototype; p = Object.getPrototypeOf(p))
    if (p.constructor?.name === 'TException') return true;
  return false;
}

function peerOf(peer: InstrumentClientOptions['peer']): { peer?: { ip?: string; port: number }; tags: Tags } {
  if (!peer) return { tags: {} };
  if (isIP(peer.host)) return { peer: { ip: peer.host, port: peer.port }, tags: {} };
  return { peer: { port: peer.port }, tags: { 'peer.hostname': peer.host } };
}

/**
 * Instruments `client` in place and returns it: each RPC method starts a client span (child of the
 * active span), sends the call with the span's context, and ends the span with the reply. A
 * declared exception or a server error marks the span failed. Calling it twice is harmless.
 */
export function instrumentClient<C extends object>(client: C, options: InstrumentClientOptions): C {
  const c = client as unknown as GeneratedClient & Record<string | symbol, unknown>;
  if (c[INSTRUMENTED]) return client;
  c[INSTRUMENTED] = true;
  c.pClass = tracedProtocolClass(c.pClass);
  const { peer, tags: peerTags } = peerOf(options.peer);
  const baseTags: Tags = { ...peerTags };
  if (options.service !== undefined) baseTags['thrift.service'] = options.service;

  for (const method of clientMethods(c)) {
    const original = c[method] as Method;
    c[method] = function tracedCall(this: unknown, ...args: unknown[]): unknown {
      const span = options.tracer.startSpan(method, {
        kind: 'client',
        tags: { ...baseTags, 'thrift.method': method },
        ...(peer ? { peer } : {}),
      });
      const end = (error: unknown) => {
        if (error !== null && error !== undefined) recordThriftError(span, error);
        span.finish();
      };
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        const callback = args[last] as Callback;
        args[last] = (error: unknown, result?: unknown) => {
          end(error);
          callback(error, result);
        };
      }
      let result: unknown;
      try {
        result = withOutgoingTrace(c.output, options.tracer.inject(span.context), () =>
          original.apply(this, args),
        );
      } catch (e) {
        end(e);
        throw e;
      }
      if (isThenable(result))
        result.then(
          () => end(undefined),
          (e: unknown) => end(e ?? new Error('call failed')),
        );
      return result;
    };
  }
  return client;
}
