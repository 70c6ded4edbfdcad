/**
 * A Worker service in its own process, for the cross-process test: `worker-process.ts <span log>`.
 * Prints `port <n>` once listening; on SIGTERM closes, flushes its spans to the span log, exits.
 */
import * as thrift from 'thrift';
import { type Notification, Worker } from '../../tracing/thrift/push-idl.ts';
import { createTracedServer } from '../../tracing/thrift/server.ts';
import { createSpanLogExporter } from '../../tracing/tracer/span-log-exporter.ts';
import { createTracer } from '../../tracing/tracer/tracer.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: worker-process.ts <span log>');
const tracer = createTracer({
  service: 'worker',
  localIp: '127.0.0.1',
  exporter: createSpanLogExporter({ path }),
});
const server = createTracedServer(
  new Worker.Processor({
    // The generated processor calls a handler with as many parameters as the IDL method promise-style.
    deliver: async (_notification: Notification) => {
      tracer.startSpan('pick pushd').finish();
      return true;
    },
    requeue: (_id: string) => {},
  }),
  { tracer, transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol },
);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void tracer.shutdown().then(() => process.exit(0));
});
