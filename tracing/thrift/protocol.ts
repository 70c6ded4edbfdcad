/**
 * The two protocol shims that move the trace fields (see trace-fields.ts):
 *
 * - the writer is a subclass of the client's protocol class that, in the argument struct of a
 *   call, writes the trace fields just before the struct's stop byte;
 * - the reader wraps the server's input protocol and takes the trace fields out of the argument
 *   struct, so the generated code never sees them.
 *
 * Both track struct depth, so only the top-level argument struct of a CALL / ONEWAY message is
 * touched; nested structs, replies and exceptions pass through as they are. They work over any
 * protocol built on the binary or compact encoding (`TBinaryProtocol`, `TCompactProtocol`,
 * `THeaderProtocol`, the multiplexer's wrapper).
 */
import type { TField, TMessage, TProtocol, TTransport } from 'thrift';
import { isTraceField, TRACE_FIELDS, traceFieldsOf } from './trace-fields.ts';

const TYPE_STRING = 11;
const MESSAGE_CALL = 1;
const MESSAGE_ONEWAY = 4;

// biome-ignore lint/suspicious/noExplicitAny: protocol constructors take transport-specific extras.
export type ProtocolClass = new (trans: TTransport, ...rest: any[]) => TProtocol;

const outgoing = new WeakMap<object, [number, string][]>();

/**
 * Runs `fn` (which sends one call on `transport`) with the B3 `headers` to write into that call.
 * Generated clients build their protocol and write the call synchronously, so the writer built for
 * this transport during `fn` picks them up.
 */
export function withOutgoingTrace<T>(transport: object, headers: Record<string, string>, fn: () => T): T {
  outgoing.set(transport, traceFieldsOf(headers));
  try {
    return fn();
  } finally {
    outgoing.delete(transport);
  }
}

const tracedClasses = new WeakMap<ProtocolClass, ProtocolClass>();
const isTraced = new WeakSet<ProtocolClass>();

/** `Base` extended to write the pending trace fields of its transport into the next call. */
export function tracedProtocolClass(Base: ProtocolClass): ProtocolClass {
  const known = tracedClasses.get(Base);
  if (known) return known;
  if (isTraced.has(Base)) return Base;
  // biome-ignore lint/suspicious/noExplicitAny: mirrors ProtocolClass.
  const Traced = class TracedProtocol extends (Base as new (...args: any[]) => TProtocol) {
    #fields: [number, string][] | undefined;
    #depth = 0;
    #inCall = false;

    // biome-ignore lint/suspicious/noExplicitAny: see ProtocolClass.
    constructor(trans: TTransport, ...rest: any[]) {
      super(trans, ...rest);
      this.#fields = outgoing.get(trans);
      outgoing.delete(trans);
    }

    override writeMessageBegin(name: string, type: number, seqid: number): void {
      this.#inCall = type === MESSAGE_CALL || type === MESSAGE_ONEWAY;
      this.#depth = 0;
      super.writeMessageBegin(name, type, seqid);
    }

    override writeStructBegin(name: string): void {
      this.#depth++;
      super.writeStructBegin(name);
    }

    override writeStructEnd(): void {
      this.#depth--;
      super.writeStructEnd();
    }

    override writeFieldStop(): void {
      const fields = this.#fields;
      if (fields && this.#inCall && this.#depth === 1) {
        this.#fields = undefined;
        for (const [id, value] of fields) {
          super.writeFieldBegin(TRACE_FIELDS.get(id)!, TYPE_STRING, id);
          super.writeString(value);
          super.writeFieldEnd();
        }
      }
      super.writeFieldStop();
    }
  };
  tracedClasses.set(Base, Traced);
  isTraced.add(Traced);
  return Traced;
}

export type TraceReader = {
  /** The protocol to hand to the generated processor instead of the original. */
  readonly protocol: TProtocol;
  /** The B3 headers read from the current call so far (empty for an uninstrumented caller). */
  headers(): Record<string, string>;
};

/**
 * Wraps `input` so that reading a call's argument struct takes the trace fields out of it. The
 * wrapper inherits from `input`, so the generated code and the protocol's own `skip` go through it.
 */
export function createTraceReader(input: TProtocol): TraceReader {
  let headers: Record<string, string> = {};
  let depth = 0;
  let inCall = false;
  const reader = Object.create(input) as TProtocol;

  reader.readMessageBegin = function (this: TProtocol): TMessage {
    const message = input.readMessageBegin.call(this);
    inCall = message.mtype === MESSAGE_CALL || message.mtype === MESSAGE_ONEWAY;
    depth = 0;
    headers = {};
    return message;
  };
  reader.readStructBegin = function (this: TProtocol) {
    depth++;
    return input.readStructBegin.call(this);
  };
  reader.readStructEnd = function (this: TProtocol) {
    depth--;
    input.readStructEnd.call(this);
  };
  reader.readFieldBegin = function (this: TProtocol): TField {
    for (;;) {
      const field = input.readFieldBegin.call(this);
      if (!(inCall && depth === 1 && field.ftype === TYPE_STRING && isTraceField(field.fid))) return field;
      const value = this.readString();
      this.readFieldEnd();
      headers[TRACE_FIELDS.get(field.fid)!] = value;
    }
  };
  return { protocol: reader, headers: () => headers };
}
