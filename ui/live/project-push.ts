/**
 * Live push of container and nginx metrics to the browser, per project: a page watches one
 * project and gets only that project's points, one `points` event per interval.
 *
 * Protocol (namespace `/`):
 * - client → server `watch` `{ project }` (optional ack): join room `project:<name>` when
 *   `canSee(socket, project)`; the ack gets `{ room, intervalMs }`, or `{ error: { code: 403 } }`
 *   when the caller may not see the project (`code: 400` for a missing or malformed project).
 * - client → server `unwatch` `{ project }` (optional ack): leave that room; the ack gets `{ room }`.
 * - server → room `project:<name>` `points`: `LivePoint[]` whose `project` tag is `<name>`, at most
 *   once per `intervalMs`, only when something new arrived.
 *
 * A point's project is its `project` tag. Points without one (nginx vhosts not mapped to a
 * project, containers without identity tags) belong to no project: they go to room
 * {@link UNSCOPED_ROOM} only, which a socket joins on its first successful `watch` when
 * `isAdmin(socket)` (operators see everything, like `/api/query` does for them). Without
 * `isAdmin` such points are dropped. Those admins get them as a separate `points` event.
 */
import type { Server, Socket } from 'socket.io';
import type { Clock } from '../../core/clock.ts';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { PointColumns, PointSeries } from '../../core/model.ts';
import { type LivePoint, livePointAt } from './live-push.ts';

export type ProjectPushOptions = {
  io: Server;
  /** Registers a listener of incoming points (as columns); returns the function that removes it. */
  subscribe: (listener: (batch: PointColumns) => void) => () => void;
  clock: Clock;
  /** How often buffered points go out; 2000 by default. */
  intervalMs?: number;
  /** Whether the socket's principal may read the project's data. */
  canSee: (socket: Socket, project: string) => boolean;
  /** Whether the socket also gets the points without a `project` tag; by default nobody does. */
  isAdmin?: (socket: Socket) => boolean;
  /** Which series' points go out; by default the metrics that start with `container.` or `nginx.`. */
  match?: (s: PointSeries) => boolean;
  /** Points kept between two pushes at most, over all projects; the oldest go first. 20 000 by default. */
  maxPending?: number;
  logger?: Logger;
};

export type ProjectPush = {
  /** Stops pushing and lets go of the point source and the sockets' listeners. */
  close(): void;
};

export const PROJECT_ROOM_PREFIX = 'project:';
/** The room of the points without a project tag: admins only. */
export const UNSCOPED_ROOM = 'project-unscoped';

export const projectRoom = (project: string): string => `${PROJECT_ROOM_PREFIX}${project}`;

export const isProjectMetric = (s: PointSeries): boolean =>
  s.metric.startsWith('container.') || s.metric.startsWith('nginx.');

/** Project names as tag values may be: letters, digits and `-_./`, at most 256 characters. */
const PROJECT_RE = /^[\w./-]{1,256}$/;

function projectOf(body: unknown): string | undefined {
  const p = (body as { project?: unknown } | null | undefined)?.project;
  return typeof p === 'string' && PROJECT_RE.test(p) ? p : undefined;
}

export function createProjectPush(options: ProjectPushOptions): ProjectPush {
  const { io, clock, canSee } = options;
  const intervalMs = options.intervalMs ?? 2000;
  const match = options.match ?? isProjectMetric;
  const maxPending = options.maxPending ?? 20_000;
  const logger = options.logger ?? silentLogger;
  /** project (or '' for none) → points waiting for the next push. */
  let pending = new Map<string, LivePoint[]>();
  let pendingCount = 0;

  const reply = (ack: unknown, body: unknown) => {
    if (typeof ack === 'function') ack(body);
  };

  // Two arguments at most: socket.io passes the ack last, so `watch` without a body still works.
  const onWatch = (socket: Socket) => (body?: unknown, ack?: unknown) => {
    const cb = typeof body === 'function' ? body : ack;
    const project = projectOf(typeof body === 'function' ? undefined : body);
    if (project === undefined)
      return reply(cb, { error: { code: 400, message: 'watch needs { project: "<name>" }' } });
    if (!canSee(socket, project))
      return reply(cb, { error: { code: 403, message: `You may not see project "${project}"` } });
    const rooms = [projectRoom(project)];
    if (options.isAdmin?.(socket)) rooms.push(UNSCOPED_ROOM);
    // The ack goes out once the socket is in the room, so a client that waits for it misses no push.
    Promise.resolve(socket.join(rooms)).then(
      () => reply(cb, { room: projectRoom(project), intervalMs }),
      (error: unknown) =>
        logger.warn('Could not add a socket to a project room', { socket: socket.id, project, error }),
    );
  };
  const onUnwatch = (socket: Socket) => (body?: unknown, ack?: unknown) => {
    const cb = typeof body === 'function' ? body : ack;
    const project = projectOf(typeof body === 'function' ? undefined : body);
    if (project === undefined)
      return reply(cb, { error: { code: 400, message: 'unwatch needs { project: "<name>" }' } });
    Promise.resolve(socket.leave(projectRoom(project))).then(
      () => reply(cb, { room: projectRoom(project) }),
      (error: unknown) =>
        logger.warn('Could not remove a socket from a project room', { socket: socket.id, project, error }),
    );
  };

  type Handlers = { watch: (...a: unknown[]) => void; unwatch: (...a: unknown[]) => void };
  const handlers = new Map<Socket, Handlers>();
  const attach = (socket: Socket) => {
    const h: Handlers = { watch: onWatch(socket), unwatch: onUnwatch(socket) };
    handlers.set(socket, h);
    socket.on('watch', h.watch);
    socket.on('unwatch', h.unwatch);
    socket.once('disconnect', () => handlers.delete(socket));
  };
  for (const socket of io.sockets.sockets.values()) attach(socket);
  io.sockets.on('connection', attach);

  /** Drops the oldest points of the biggest backlog until under the limit. */
  const trim = () => {
    while (pendingCount > maxPending) {
      let biggest: LivePoint[] | undefined;
      for (const list of pending.values()) if (!biggest || list.length > biggest.length) biggest = list;
      if (!biggest) return;
      const drop = Math.min(biggest.length, pendingCount - maxPending);
      biggest.splice(0, drop);
      pendingCount -= drop;
    }
  };

  const unsubscribe = options.subscribe((batch) => {
    // Only points somebody watches are kept: with no page open, the hub pushes nothing.
    if (io.sockets.sockets.size === 0) return;
    const rooms = io.sockets.adapter.rooms;
    const watched = new Map<string, boolean>();
    for (let i = 0; i < batch.series.length; i++) {
      const s = batch.series[i]!;
      if (!match(s)) continue;
      const project = s.tags['project'] ?? '';
      let seen = watched.get(project);
      if (seen === undefined) {
        seen = (rooms.get(project === '' ? UNSCOPED_ROOM : projectRoom(project))?.size ?? 0) > 0;
        watched.set(project, seen);
      }
      if (!seen) continue;
      let list = pending.get(project);
      if (!list) {
        list = [];
        pending.set(project, list);
      }
      list.push(livePointAt(batch, i));
      pendingCount++;
    }
    if (pendingCount > maxPending) trim();
  });

  const stopTimer = clock.setInterval(() => {
    if (pendingCount === 0) return;
    const batches = pending;
    pending = new Map();
    pendingCount = 0;
    for (const [project, batch] of batches) {
      if (batch.length === 0) continue;
      io.to(project === '' ? UNSCOPED_ROOM : projectRoom(project)).emit('points', batch);
    }
  }, intervalMs);

  return {
    close() {
      stopTimer();
      unsubscribe();
      io.sockets.off('connection', attach);
      for (const [socket, h] of handlers) {
        socket.off('watch', h.watch);
        socket.off('unwatch', h.unwatch);
      }
      handlers.clear();
      pending = new Map();
      pendingCount = 0;
    },
  };
}
