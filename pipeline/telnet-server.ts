/**
 * OpenTSDB's telnet-style line protocol: `put` lines (errors answered per line, as OpenTSDB
 * does), `version`, `help` and `exit`. Good lines are batched onto the Bus.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Principal } from '../core/auth.ts';
import type { Logger } from '../core/logger.ts';
import type { HubInstruments } from '../core/metrics.ts';
import type { MaybeMemo } from '../core/model.ts';
import { admitColumns } from './admission.ts';
import type { TelnetResult } from './codec/opentsdb-put.ts';
import { createTelnetLineDecoder } from './codec/telnet-line-decoder.ts';
import type { Ingest } from './ingest.ts';
import type { CardinalityLimiter } from './limits.ts';

export type TelnetServerOptions = {
  ingest: Ingest;
  logger: Logger;
  instruments: HubInstruments;
  maxTags: number;
  version: string;
  /** Points per Bus record (default 5,000). */
  batchSize?: number;
  /** Longest line accepted, in bytes (default 64 KiB). */
  maxLineBytes?: number;
  cardinality: CardinalityLimiter;
  /**
   * The principal of a connection before any `auth <token>` line: undefined when the hub requires
   * authentication (then `put` is refused until `auth` succeeds).
   */
  anonymous: () => Principal | undefined;
  /** The principal of an `auth <token>` line, or why not. */
  authenticate: (token: string) => { principal?: Principal; error?: string };
  /** Seconds a connection may stay silent before it is closed (default 300). */
  idleSeconds?: number;
};

export type TelnetServer = {
  server: Server;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
};

export function createTelnetServer(options: TelnetServerOptions): TelnetServer {
  const { ingest, logger, instruments } = options;
  const batchSize = options.batchSize ?? 5_000;
  const maxLine = options.maxLineBytes ?? 65_536;
  const sockets = new Set<Socket>();
  const decodeLine = createTelnetLineDecoder(options.maxTags);

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout((options.idleSeconds ?? 300) * 1000, () => socket.destroy());
    let principal = options.anonymous();
    /** The bytes after the last line feed, waiting for the rest of their line. */
    let rest: Buffer | undefined;
    /** The points read and not yet published, as columns. */
    let series: MaybeMemo[] = [];
    let ts: number[] = [];
    let values: number[] = [];
    const sink = (s: MaybeMemo, t: number, v: number) => {
      series.push(s);
      ts.push(t);
      values.push(v);
    };
    /** Settles once every batch published so far is settled (for `exit`). */
    let chain: Promise<void> = Promise.resolve();
    // Back-pressure: while this many batches wait for the bus, stop reading the socket, so a fast
    // sender is slowed to the bus's pace instead of filling the hub's memory.
    let waiting = 0;
    const maxWaiting = 4;
    const flush = () => {
      if (series.length === 0) return;
      if (!principal) return;
      const batch = { series, ts, values };
      const { admitted, keys, refused } = admitColumns(batch, principal, options.cardinality);
      series = [];
      ts = [];
      values = [];
      for (const r of refused) {
        instruments.pointsRejected.inc({ protocol: 'telnet', reason: r.reason });
        socket.write(`put: ${r.error}\n`);
      }
      waiting++;
      if (waiting >= maxWaiting) socket.pause();
      // Published at once, not after the previous batch is durable: the bus appends batches in the
      // order they are published (the next group commit takes them all), and a connection that
      // waited for each one before the next was paused for most of its time.
      const count = admitted.series.length;
      const published = ingest
        .publishColumns(admitted, 'telnet', keys)
        .catch((e) => {
          logger.error('telnet batch could not be published', { err: e, points: count });
          socket.write(`put: unable to store ${count} data points: ${(e as Error).message}\n`);
        })
        .finally(() => {
          waiting--;
          if (waiting < maxWaiting && socket.isPaused()) socket.resume();
        });
      chain = Promise.all([chain, published]).then(() => undefined);
    };
    const handle = (r: TelnetResult) => {
      if (r.kind === 'put' && !principal) {
        instruments.pointsRejected.inc({ protocol: 'telnet', reason: 'forbidden' });
        socket.write("put: not authenticated: send 'auth <token>' (a token with the ingest scope) first\n");
      } else if (r.kind === 'put') {
        sink(r.point, r.point.ts, r.point.value);
        if (series.length >= batchSize) flush();
      } else if (r.kind === 'error') {
        instruments.pointsRejected.inc({ protocol: 'telnet', reason: r.reason });
        socket.write(r.reply);
      } else if (r.kind === 'command') {
        if (r.command === 'auth') {
          const result = options.authenticate(r.args[0] ?? '');
          if (
            result.principal &&
            (result.principal.scopes.has('ingest') || result.principal.scopes.has('admin'))
          ) {
            principal = result.principal;
            socket.write('auth: ok\n');
          } else socket.write(`auth: failed: ${result.error ?? 'the token has no ingest scope'}\n`);
        } else if (r.command === 'version') socket.write(`net.opentsdb.tools ${options.version} obs\n`);
        else if (r.command === 'exit') {
          flush();
          chain.then(() => socket.end());
        } else if (r.command === 'help') socket.write('available commands: put auth version help exit\n');
        else socket.write(`unknown command: ${r.command}.  Try \`help'.\n`);
      }
    };
    const decodeAt = (b: Buffer, from: number, nl: number) => {
      handle(principal ? decodeLine(b, from, nl, sink) : decodeLine(b, from, nl));
      if (series.length >= batchSize) flush();
    };
    // Lines are cut from the bytes, so a character split between two chunks stays whole.
    socket.on('data', (chunk: Buffer) => {
      let from = 0;
      if (rest !== undefined) {
        // The line the last chunk began is joined with its end alone, not with the whole chunk.
        const nl = chunk.indexOf(0x0a);
        if (nl >= 0) {
          const line = Buffer.concat([rest, chunk.subarray(0, nl)]);
          rest = undefined;
          decodeAt(line, 0, line.length);
          from = nl + 1;
        } else {
          rest = Buffer.concat([rest, chunk]);
          from = chunk.length;
        }
      }
      for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        decodeAt(chunk, from, nl);
        from = nl + 1;
      }
      if (from < chunk.length) rest = chunk.subarray(from);
      if (rest !== undefined && rest.length > maxLine) {
        socket.write(`put: illegal argument: line longer than ${maxLine} bytes\n`);
        instruments.pointsRejected.inc({ protocol: 'telnet', reason: 'format' });
        rest = undefined;
      }
      flush();
    });
    socket.on('end', () => {
      if (rest !== undefined) handle(decodeLine(rest, 0, rest.length));
      rest = undefined;
      flush();
    });
    socket.on('error', (e) => logger.debug('telnet connection error', { err: e }));
    socket.on('close', () => sockets.delete(socket));
  });

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const addr = server.address();
          resolve(typeof addr === 'object' && addr ? addr.port : port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
