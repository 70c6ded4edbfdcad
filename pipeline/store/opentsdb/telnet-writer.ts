/**
 * Writes telnet `put` lines over one TCP connection, with back-pressure.
 *
 * Neither OpenTSDB nor VictoriaMetrics answers a good `put`; OpenTSDB (and the hub) answer a bad
 * line with `put: <error>`, while VictoriaMetrics answers nothing at all and only logs the error.
 * So a write resolves once the kernel took the bytes: this is an acknowledgement of sending, not
 * of storing. Prefer HTTP `/api/put` where losing points in a crash matters.
 */
import { connect, type Socket } from 'node:net';
import type { Logger } from '../../../core/logger.ts';
import { TransientError } from './http.ts';

export type TelnetWriterOptions = {
  host: string;
  port: number;
  timeoutMs: number;
  logger: Logger;
  /** Every line the server sends back (errors of earlier puts). */
  onReply: (line: string) => void;
};

export type TelnetWriter = {
  /** Sends the lines; resolves once the socket flushed them. Connection problems are `TransientError`s. */
  write(lines: string[]): Promise<void>;
  close(): Promise<void>;
};

/** Bytes handed to the socket in one call. */
const CHUNK_BYTES = 64 * 1024;

export function createTelnetWriter(options: TelnetWriterOptions): TelnetWriter {
  const where = `${options.host}:${options.port}`;
  let socket: Socket | undefined;
  let opening: Promise<Socket> | undefined;
  let failure: Error | undefined;
  let pending = '';

  function open(): Promise<Socket> {
    opening ??= new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: options.host, port: options.port });
      s.setNoDelay(true);
      const timer = setTimeout(
        () => s.destroy(new Error(`no connection within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      s.once('connect', () => {
        clearTimeout(timer);
        failure = undefined;
        socket = s;
        resolve(s);
      });
      s.on('data', (d: Buffer) => {
        pending += d.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') options.onReply(line.trim());
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        failure = e;
        // The next write opens a fresh connection instead of reusing this broken one.
        if (socket === s) socket = undefined;
        opening = undefined;
        reject(new TransientError(`telnet ${where}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, e));
      });
      s.on('close', () => {
        if (socket === s) socket = undefined;
        opening = undefined;
      });
    });
    return opening;
  }

  // Waiting for each chunk's write callback (the kernel took it) is the back-pressure: memory
  // holds one chunk per connection, however large the batch.
  function send(s: Socket, text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      s.write(text, (e) => {
        if (e) reject(new TransientError(`telnet ${where}: ${e.message}`, e));
        else resolve();
      });
    });
  }

  return {
    async write(lines) {
      const s = socket && !socket.destroyed ? socket : await open();
      let chunk = '';
      for (const line of lines) {
        chunk += line;
        if (chunk.length >= CHUNK_BYTES) {
          await send(s, chunk);
          chunk = '';
        }
      }
      if (chunk !== '') await send(s, chunk);
      if (failure || s.destroyed) throw new TransientError(`telnet ${where}: connection lost`, failure);
    },
    async close() {
      const s = socket;
      socket = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.end(() => resolve());
        setTimeout(resolve, 1000).unref();
      });
      s.destroy();
    },
  };
}
