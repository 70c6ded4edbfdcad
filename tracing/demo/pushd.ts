/**
 * A push daemon of the demo: a real, traced Thrift server (`Pushd`, framed binary) on a free
 * loopback port. It "writes to the device" after a short pause; a device on a slow network makes it
 * pause long, and a device that went away makes it throw the declared `DeviceOffline`.
 */
import type { Server, Socket } from 'node:net';
import * as thrift from 'thrift';
import type { Clock } from '../../core/clock.ts';
import { DeviceOffline, Pushd, type PushdHandler } from '../thrift/push-idl.ts';
import { createTracedServer } from '../thrift/server.ts';
import type { Tracer } from '../tracer/tracer.ts';
import { kindOfToken } from './scenario.ts';

/** A pause range in ms, `[min, max]`. */
export type Pause = readonly [number, number];

export type PushdOptions = {
  /** Instance name, tag `pushd.instance` of its server spans (`pushd-1`). */
  instance: string;
  tracer: Tracer;
  clock: Clock;
  /** Pause of a normal send. Default [2, 15] ms. */
  normalMs?: Pause;
  /** Pause of a send to a device on a slow network. Default [300, 900] ms. */
  slowMs?: Pause;
  /** Default `Math.random`. */
  random?: () => number;
};

export type PushdServer = {
  readonly instance: string;
  readonly port: number;
  /** Sends served, and those that failed with `DeviceOffline`. */
  stats(): { sent: number; offline: number };
  close(): Promise<void>;
};

export const PUSHD_TRANSPORT = thrift.TFramedTransport;
export const PUSHD_PROTOCOL = thrift.TBinaryProtocol;

/**
 * `DeviceOffline` with a readable message. The generated exception passes its constructor
 * arguments to `TException` as the message, so an exception without a `message` field would carry
 * an object there, and a span's `error` tag must be a string.
 */
function offline(deviceToken: string): Error {
  const e = new DeviceOffline({ deviceToken });
  e.message = `device ${deviceToken} has no open connection`;
  return e;
}

function pause(clock: Clock, [min, max]: Pause, random: () => number): Promise<void> {
  const ms = min + (max - min) * random();
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Starts a push daemon on a free port of 127.0.0.1. */
export async function startPushd(options: PushdOptions): Promise<PushdServer> {
  const { tracer, clock, instance } = options;
  const random = options.random ?? Math.random;
  const counts = { sent: 0, offline: 0 };
  const sockets = new Set<Socket>();
  const handler: PushdHandler = {
    async send(deviceToken, _payload) {
      tracer.activeSpan()?.setTag('pushd.instance', instance);
      const kind = kindOfToken(deviceToken);
      await pause(
        clock,
        kind === 'slow' ? (options.slowMs ?? [300, 900]) : (options.normalMs ?? [2, 15]),
        random,
      );
      if (kind === 'fail') {
        counts.offline++;
        throw offline(deviceToken);
      }
      counts.sent++;
      return true;
    },
    connections: () => sockets.size,
  };
  const server: Server = createTracedServer(new Pushd.Processor(handler), {
    tracer,
    service: 'Pushd',
    transport: PUSHD_TRANSPORT,
    protocol: PUSHD_PROTOCOL,
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    instance,
    port,
    stats: () => ({ ...counts }),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
