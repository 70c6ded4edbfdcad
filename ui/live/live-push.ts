/**
 * Live push to the browser: collects the points the hub receives and sends them in one `points`
 * event per interval to the sockets that asked for them. The browser never polls.
 *
 * Protocol (namespace `/`):
 * - client → server `subscribe` (optional ack): join room `live`; the ack gets `{ room, intervalMs }`.
 * - client → server `unsubscribe` (optional ack): leave it; the ack gets `{ room }`.
 * - server → room `live` `points`: `LivePoint[]`, at most once per `intervalMs`, only when
 *   something new arrived.
 */
import type { Server, Socket } from 'socket.io';
import type { Clock } from '../../core/clock.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { PointColumns, PointSeries, Tags } from '../../core/model.ts';

/** One point as it travels to the browser. */
export type LivePoint = { metric: string; tags: Tags; ts: number; value: number };

export type LivePushOptions = {
  io: Server;
  /** Registers a listener of incoming points (as columns); returns the function that removes it. */
  subscribe: (listener: (batch: PointColumns) => void) => () => void;
  clock: Clock;
  /** How often buffered points go out; 2000 by default. */
  intervalMs?: number;
  /** Which series' points go out; by default the metrics that start with `host.`. */
  match?: (s: PointSeries) => boolean;
  /** Points kept between two pushes at most; the oldest go first. 10 000 by default. */
  maxPending?: number;
  logger?: Logger;
  /** Whether a socket may join the room; the points are host metrics, so by default every socket. */
  authorize?: (socket: Socket) => boolean;
};

export type LivePush = {
  /** Stops pushing and lets go of the point source and the sockets' listeners. */
  close(): void;
};

export const LIVE_ROOM = 'live';

export const isHostMetric = (s: PointSeries): boolean => s.metric.startsWith('host.');

/** Point `i` of a batch with the fields the browser needs, and nothing its series carries besides. */
export function livePointAt(batch: PointColumns, i: number): LivePoint {
  const s = batch.series[i]!;
  return { metric: s.metric, tags: s.tags as Tags, ts: batch.ts[i]!, value: batch.values[i]! };
}

export function createLivePush(options: LivePushOptions): LivePush {
  const { io, clock } = options;
  const intervalMs = options.intervalMs ?? 2000;
  const match = options.match ?? isHostMetric;
  const maxPending = options.maxPending ?? 10_000;
  const logger = options.logger ?? silentLogger;
  let pending: LivePoint[] = [];

  // The ack goes out once the socket is in the room (a shared adapter joins asynchronously), so a
  // client that waits for it misses no push.
  const onSubscribe = (socket: Socket) => (ack?: unknown) => {
    if (options.authorize && !options.authorize(socket)) {
      if (typeof ack === 'function')
        ack({ error: { code: 403, message: 'Host metrics are for operators (admins) only' } });
      return;
    }
    Promise.resolve(socket.join(LIVE_ROOM)).then(
      () => {
        if (typeof ack === 'function') ack({ room: LIVE_ROOM, intervalMs });
      },
      (error: unknown) =>
        logger.warn('Could not add a socket to the live room', { socket: socket.id, error }),
    );
  };
  const onUnsubscribe = (socket: Socket) => (ack?: unknown) => {
    Promise.resolve(socket.leave(LIVE_ROOM)).then(
      () => {
        if (typeof ack === 'function') ack({ room: LIVE_ROOM });
      },
      (error: unknown) =>
        logger.warn('Could not remove a socket from the live room', { socket: socket.id, error }),
    );
  };
  type Handlers = { subscribe: (ack?: unknown) => void; unsubscribe: (ack?: unknown) => void };
  const handlers = new Map<Socket, Handlers>();
  const attach = (socket: Socket) => {
    const h: Handlers = { subscribe: onSubscribe(socket), unsubscribe: onUnsubscribe(socket) };
    handlers.set(socket, h);
    socket.on('subscribe', h.subscribe);
    socket.on('unsubscribe', h.unsubscribe);
    socket.once('disconnect', () => handlers.delete(socket));
  };
  for (const socket of io.sockets.sockets.values()) attach(socket);
  io.sockets.on('connection', attach);

  const unsubscribe = options.subscribe((batch) => {
    // Only points somebody watches are kept: with nobody in the room, nothing is looked at.
    if ((io.sockets.adapter.rooms.get(LIVE_ROOM)?.size ?? 0) === 0) return;
    for (let i = 0; i < batch.series.length; i++)
      if (match(batch.series[i]!)) pending.push(livePointAt(batch, i));
    if (pending.length > maxPending) pending = pending.slice(pending.length - maxPending);
  });

  const stopTimer = clock.setInterval(() => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    io.to(LIVE_ROOM).emit('points', batch);
  }, intervalMs);

  return {
    close() {
      stopTimer();
      unsubscribe();
      io.sockets.off('connection', attach);
      for (const [socket, h] of handlers) {
        socket.off('subscribe', h.subscribe);
        socket.off('unsubscribe', h.unsubscribe);
      }
      handlers.clear();
      pending = [];
    },
  };
}
