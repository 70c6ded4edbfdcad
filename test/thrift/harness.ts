/**
 * Real Thrift servers and clients on 127.0.0.1 for the propagation tests: free ports, in-memory
 * span exporters, and one `closeAll` for everything opened.
 */
import type { Server, Socket } from 'node:net';
import type { Connection, TProtocolConstructor, TTransportConstructor } from 'thrift';
import * as thrift from 'thrift';
import type { Span } from '../../core/model.ts';
import type { ThriftService } from '../../tracing/thrift/types.ts';
import { createInMemoryExporter, type InMemoryExporter } from '../../tracing/tracer/in-memory-exporter.ts';
import type { SamplerSpec } from '../../tracing/tracer/sampler.ts';
import { createTracer, type Tracer } from '../../tracing/tracer/tracer.ts';

export type Wire = { name: string; transport: TTransportConstructor; protocol: TProtocolConstructor };

/** Declared by the `thrift` package, not by @types/thrift. */
const THeaderProtocol = (thrift as unknown as { THeaderProtocol: TProtocolConstructor }).THeaderProtocol;

export const WIRES: readonly Wire[] = [
  { name: 'framed binary', transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol },
  { name: 'buffered compact', transport: thrift.TBufferedTransport, protocol: thrift.TCompactProtocol },
  { name: 'framed header', transport: thrift.TFramedTransport, protocol: THeaderProtocol },
];

export type Service = { tracer: Tracer; exporter: InMemoryExporter; spans(): readonly Span[] };

export function service(name: string, sampler: SamplerSpec = 'always'): Service {
  const exporter = createInMemoryExporter();
  const tracer = createTracer({ service: name, localIp: '127.0.0.1', sampler, exporter });
  return { tracer, exporter, spans: () => exporter.finishedSpans() };
}

export type Harness = {
  listen(server: Server): Promise<number>;
  connect<C>(svc: ThriftService<C, never>, port: number, wire: Wire): { client: C; connection: Connection };
  closeAll(): Promise<void>;
};

export function createHarness(): Harness {
  const servers: Server[] = [];
  const connections: Connection[] = [];
  const sockets = new Set<Socket>();
  return {
    async listen(server) {
      servers.push(server);
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      return address.port;
    },
    connect(svc, port, wire) {
      const connection = thrift.createConnection('127.0.0.1', port, {
        transport: wire.transport,
        protocol: wire.protocol,
      });
      connection.on('error', () => {});
      connections.push(connection);
      return { client: thrift.createClient(svc, connection), connection };
    },
    async closeAll() {
      for (const c of connections.splice(0)) c.end();
      const closed = servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const socket of sockets) socket.destroy();
      await Promise.all(closed);
    },
  };
}

/** The local port of a client connection's socket, once connected. */
export async function localPort(connection: Connection): Promise<number> {
  if (!connection.connected) await new Promise((resolve) => connection.once('connect', resolve));
  return connection.connection.localPort!;
}

export const byName = (spans: readonly Span[], name: string, kind: Span['kind']): Span => {
  const found = spans.filter((s) => s.name === name && s.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} span ${name}, found ${found.length}`);
  return found[0]!;
};
