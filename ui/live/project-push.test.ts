import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { MetricPoint, PointColumns } from '../../core/model.ts';
import { columnsOf } from '../../pipeline/codec/point-columns.ts';
import type { LivePoint } from './live-push.ts';
import { createProjectPush, UNSCOPED_ROOM } from './project-push.ts';

type Harness = {
  clock: FakeClock;
  io: Server;
  feed: (points: MetricPoint[]) => void;
  listeners: Set<(batch: PointColumns) => void>;
  /** A client whose handshake says which projects it may see, and whether it is an admin. */
  client: (auth: { projects: string[]; admin?: boolean }) => Promise<ClientSocket>;
  close: () => Promise<void>;
};

async function harness(): Promise<Harness> {
  const http = createServer();
  const io = new Server(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const listeners = new Set<(batch: PointColumns) => void>();
  const clients: ClientSocket[] = [];
  return {
    clock: new FakeClock(),
    io,
    listeners,
    feed: (points) => {
      for (const l of listeners) l(columnsOf(points));
    },
    client: async (auth) => {
      const socket = connect(url, { transports: ['websocket'], forceNew: true, auth });
      clients.push(socket);
      await new Promise<void>((r) => socket.once('connect', () => r()));
      return socket;
    },
    close: async () => {
      for (const c of clients) c.close();
      await io.close();
    },
  };
}

const authOf = (s: Socket) => s.handshake.auth as { projects: string[]; admin?: boolean };

const pt = (metric: string, tags: Record<string, string>, value = 1, ts = 1_000): MetricPoint => ({
  metric,
  tags,
  ts,
  value,
});
const shop = (metric: string, value = 1) => pt(metric, { project: 'shop', app: 'cart', host: 'h1' }, value);
const blog = (metric: string, value = 1) => pt(metric, { project: 'blog', app: 'web', host: 'h1' }, value);

const watch = (socket: ClientSocket, body: unknown) => socket.emitWithAck('watch', body);
const nextPoints = (socket: ClientSocket) =>
  new Promise<LivePoint[]>((r) => socket.once('points', (points: LivePoint[]) => r(points)));
const collect = (socket: ClientSocket) => {
  const got: LivePoint[][] = [];
  socket.on('points', (p: LivePoint[]) => got.push(p));
  return got;
};

describe('createProjectPush', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  const start = (extra: { intervalMs?: number } = {}) =>
    createProjectPush({
      io: h.io,
      clock: h.clock,
      subscribe: (l) => {
        h.listeners.add(l);
        return () => h.listeners.delete(l);
      },
      canSee: (socket, project) => authOf(socket).projects.includes(project),
      isAdmin: (socket) => authOf(socket).admin === true,
      ...extra,
    });

  it("sends each watcher only its project's container and nginx points, once per interval", async () => {
    const push = start();
    const shopper = await h.client({ projects: ['shop'] });
    const blogger = await h.client({ projects: ['blog'] });
    expect(await watch(shopper, { project: 'shop' })).toEqual({ room: 'project:shop', intervalMs: 2000 });
    expect(await watch(blogger, { project: 'blog' })).toEqual({ room: 'project:blog', intervalMs: 2000 });
    const shopGot = nextPoints(shopper);
    const blogGot = nextPoints(blogger);
    h.feed([
      shop('container.cpu.usage', 0.5),
      blog('container.cpu.usage', 0.7),
      shop('host.cpu.usage', 12), // not a project metric
      shop('nginx.requests', 30),
    ]);
    h.clock.advance(1999);
    h.feed([{ ...shop('container.mem.working_set', 1e8), extra: 'dropped' } as MetricPoint]);
    h.clock.advance(1);
    expect(await shopGot).toEqual([
      shop('container.cpu.usage', 0.5),
      shop('nginx.requests', 30),
      shop('container.mem.working_set', 1e8),
    ]);
    expect(await blogGot).toEqual([blog('container.cpu.usage', 0.7)]);
    push.close();
  });

  it('keeps nothing for a project nobody watches: a page opened later gets only newer points', async () => {
    const push = start();
    h.feed([shop('container.cpu.usage', 0.1)]); // nobody watches yet: not kept
    const late = await h.client({ projects: ['shop'] });
    await watch(late, { project: 'shop' });
    const got = nextPoints(late);
    h.feed([shop('container.cpu.usage', 0.2)]);
    h.clock.advance(2000);
    expect(await got).toEqual([shop('container.cpu.usage', 0.2)]);
    push.close();
  });

  it('refuses a project the caller may not see, and a malformed watch', async () => {
    const push = start();
    const socket = await h.client({ projects: ['blog'] });
    const got = collect(socket);
    expect(await watch(socket, { project: 'shop' })).toMatchObject({ error: { code: 403 } });
    expect(await watch(socket, {})).toMatchObject({ error: { code: 400 } });
    expect(await watch(socket, { project: 'a b{c}' })).toMatchObject({ error: { code: 400 } });
    expect(await socket.emitWithAck('watch')).toMatchObject({ error: { code: 400 } });
    h.feed([shop('container.cpu.usage')]);
    h.clock.advance(2000);
    await watch(socket, { project: 'blog' }); // a round trip: a stray push would have come first
    expect(got).toEqual([]);
    push.close();
  });

  it('sends points without a project tag to admins only', async () => {
    const push = start();
    const admin = await h.client({ projects: ['shop'], admin: true });
    const user = await h.client({ projects: ['shop'] });
    await watch(admin, { project: 'shop' });
    await watch(user, { project: 'shop' });
    const adminGot = collect(admin);
    const userGot = collect(user);
    const orphan = pt('nginx.requests', { vhost: 'www.example.com', upstream: 'none', host: 'h1' }, 9);
    h.feed([orphan, shop('nginx.requests', 3)]);
    h.clock.advance(2000);
    await expect.poll(() => adminGot.flat().length).toBe(2);
    expect(adminGot.flat()).toEqual(expect.arrayContaining([orphan, shop('nginx.requests', 3)]));
    await expect.poll(() => userGot.length).toBe(1);
    await watch(user, { project: 'shop' }); // round trip
    expect(userGot).toEqual([[shop('nginx.requests', 3)]]);
    const [adminServer] = [...h.io.sockets.sockets.values()].filter((s) => authOf(s).admin);
    expect(adminServer!.rooms.has(UNSCOPED_ROOM)).toBe(true);
    push.close();
  });

  it('emits nothing in an interval with no new points, and stops after unwatch', async () => {
    const push = start({ intervalMs: 1000 });
    const socket = await h.client({ projects: ['shop'] });
    await watch(socket, { project: 'shop' });
    const first = nextPoints(socket);
    h.clock.advance(5000);
    h.feed([shop('container.cpu.usage', 2)]);
    h.clock.advance(1000);
    expect(await first).toEqual([shop('container.cpu.usage', 2)]);

    expect(await socket.emitWithAck('unwatch', { project: 'shop' })).toEqual({ room: 'project:shop' });
    const after = collect(socket);
    h.feed([shop('container.cpu.usage', 3)]);
    h.clock.advance(1000);
    await watch(socket, { project: 'shop' }); // round trip
    expect(after).toEqual([]);
    push.close();
  });

  it('attaches to sockets connected before it started; close lets go of everything', async () => {
    const socket = await h.client({ projects: ['shop'] });
    const push = start();
    await watch(socket, { project: 'shop' });
    const got = nextPoints(socket);
    h.feed([shop('container.net.rx_bytes', 100)]);
    h.clock.advance(2000);
    expect(await got).toEqual([shop('container.net.rx_bytes', 100)]);

    expect(h.listeners.size).toBe(1);
    push.close();
    expect(h.listeners.size).toBe(0);
    expect(h.io.sockets.listenerCount('connection')).toBe(0);
    const [server] = h.io.sockets.sockets.values();
    expect(server!.listenerCount('watch')).toBe(0);
    expect(server!.listenerCount('unwatch')).toBe(0);
  });
});
