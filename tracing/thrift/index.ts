/** Thrift trace propagation: instrumented clients and servers for `thrift` generated Node code. See README.md. */
export {
  clientMethods,
  type InstrumentClientOptions,
  instrumentClient,
  recordThriftError,
} from './client.ts';
export {
  createTraceReader,
  type ProtocolClass,
  type TraceReader,
  tracedProtocolClass,
  withOutgoingTrace,
} from './protocol.ts';
export {
  createTracedServer,
  type InstrumentProcessorOptions,
  instrumentProcessor,
  processorMethods,
  type TracedServerOptions,
} from './server.ts';
export {
  FIRST_RESERVED_FIELD,
  isTraceField,
  LAST_RESERVED_FIELD,
  TRACE_FIELDS,
  traceFieldsOf,
} from './trace-fields.ts';
export type { Answer, GeneratedClient, GeneratedProcessor, ThriftService } from './types.ts';
