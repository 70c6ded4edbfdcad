/** Structural types of the code `thrift --gen js:node,es6` generates, as the wrappers rely on them. */
import type { TProtocol, TTransport } from 'thrift';
import type { ProtocolClass } from './protocol.ts';

/** A generated service client: `send_<method>` writes a call with `new this.pClass(this.output)`. */
export type GeneratedClient = {
  output: TTransport;
  pClass: ProtocolClass;
};

/** A generated processor: `process_<method>` reads the arguments and calls `this._handler.<method>`. */
export type GeneratedProcessor = {
  _handler: object;
  process(input: TProtocol, output: TProtocol): void;
};

/** What a generated service module exports. */
export type ThriftService<Client, Handler> = {
  Client: new (output: TTransport, pClass: ProtocolClass) => Client;
  Processor: new (handler: Handler) => GeneratedProcessor;
};

/** A handler method may answer with a value or a promise (the generated processor awaits either). */
export type Answer<T> = T | Promise<T>;
