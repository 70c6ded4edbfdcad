import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { MetricPoint, PointColumns, PointSeries } from '../../core/model.ts';
import { columnsOf } from '../../pipeline/codec/point-columns.ts';
import { createLivePush, type LivePoint } from './live-push.ts';

type Harness = {
  clock: FakeClock;
  io: Server;
  feed: (points: MetricPoint[]) => void;
  listeners: Set<(batch: PointColumns) => void>;
  client: () => Promise<ClientSocket>;
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
    client: async () => {
      const socket = connect(url, { transports: ['websocket'], forceNew: true });
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

const point = (metric: string, value: number, ts = 1_000): MetricPoint => ({
  metric,
  tags: { host: 'h1' },
  ts,
  value,
});

const subscribe = (socket: ClientSocket) =>
  socket.emitWithAck('subscribe') as Promise<{ room: string; intervalMs: number }>;
const nextPoints = (socket: ClientSocket) =>
  new Promise<LivePoint[]>((r) => socket.once('points', (points: LivePoint[]) => r(points)));

describe('createLivePush', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  const start = (extra: { intervalMs?: number; match?: (s: PointSeries) => boolean } = {}) =>
    createLivePush({
      io: h.io,
      clock: h.clock,
      subscribe: (l) => {
        h.listeners.add(l);
        return () => h.listeners.delete(l);
      },
      ...extra,
    });

  it('sends the host points that arrived in one interval as one event to subscribers', async () => {
    const push = start();
    const socket = await h.client();
    expect(await subscribe(socket)).toEqual({ room: 'live', intervalMs: 2000 });
    const received = nextPoints(socket);
    h.feed([point('host.cpu.usage', 12), point('nginx.requests', 3)]);
    h.feed([point('host.mem.used', 1e9)]);
    h.clock.advance(1999);
    h.feed([{ ...point('host.cpu.usage', 13, 2_000), extra: 'dropped' } as MetricPoint]);
    h.clock.advance(1);
    expect(await received).toEqual([
      point('host.cpu.usage', 12),
      point('host.mem.used', 1e9),
      point('host.cpu.usage', 13, 2_000),
    ]);
    push.close();
  });

  it('emits nothing in an interval with no new points', async () => {
    const push = start({ intervalMs: 1000 });
    const socket = await h.client();
    await subscribe(socket);
    const received = nextPoints(socket);
    h.clock.advance(5000);
    h.feed([point('host.cpu.usage', 50, 7_000)]);
    h.clock.advance(1000);
    // Events on one socket arrive in order: an empty push would have come first.
    expect(await received).toEqual([point('host.cpu.usage', 50, 7_000)]);
    push.close();
  });

  it('keeps no points while nobody subscribed', async () => {
    const push = start();
    const socket = await h.client();
    h.feed([point('host.cpu.usage', 1)]);
    await subscribe(socket);
    const received = nextPoints(socket);
    h.clock.advance(2000);
    h.feed([point('host.cpu.usage', 2)]);
    h.clock.advance(2000);
    // The first interval had nothing to send: its point came while nobody watched.
    expect(await received).toEqual([point('host.cpu.usage', 2)]);
    push.close();
  });

  it('sends only to sockets that subscribed, and stops after unsubscribe', async () => {
    const push = start();
    const watcher = await h.client();
    const bystander = await h.client();
    await subscribe(watcher);
    const bystanderGot: LivePoint[][] = [];
    bystander.on('points', (p: LivePoint[]) => bystanderGot.push(p));

    const first = nextPoints(watcher);
    h.feed([point('host.cpu.usage', 1)]);
    h.clock.advance(2000);
    expect(await first).toHaveLength(1);

    await subscribe(bystander);
    const late = nextPoints(bystander);
    h.feed([point('host.cpu.usage', 2)]);
    h.clock.advance(2000);
    expect(await late).toEqual([point('host.cpu.usage', 2)]);
    expect(bystanderGot).toEqual([[point('host.cpu.usage', 2)]]);

    expect(await watcher.emitWithAck('unsubscribe')).toEqual({ room: 'live' });
    const afterLeave: LivePoint[][] = [];
    watcher.on('points', (p: LivePoint[]) => afterLeave.push(p));
    const third = nextPoints(bystander);
    h.feed([point('host.cpu.usage', 3)]);
    h.clock.advance(2000);
    await third;
    await subscribe(watcher); // a round trip on the same socket: a stray push would have come first
    expect(afterLeave).toEqual([]);
    push.close();
  });

  it('uses the given match', async () => {
    const push = start({ match: (p) => p.metric.startsWith('nginx.') });
    const socket = await h.client();
    await subscribe(socket);
    const received = nextPoints(socket);
    h.feed([point('host.cpu.usage', 12), point('nginx.requests', 3)]);
    h.clock.advance(2000);
    expect(await received).toEqual([point('nginx.requests', 3)]);
    push.close();
  });

  it('attaches to sockets connected before it started', async () => {
    const socket = await h.client();
    const push = start();
    await subscribe(socket);
    const received = nextPoints(socket);
    h.feed([point('host.cpu.usage', 4)]);
    h.clock.advance(2000);
    expect(await received).toEqual([point('host.cpu.usage', 4)]);
    push.close();
  });

  it('close stops the timer, unsubscribes from the source and detaches from sockets', async () => {
    const push = start();
    const socket = await h.client();
    expect(h.listeners.size).toBe(1);
    push.close();
    expect(h.listeners.size).toBe(0);
    expect(h.io.sockets.listenerCount('connection')).toBe(0);
    const [server] = h.io.sockets.sockets.values();
    expect(server!.listenerCount('subscribe')).toBe(0);
    socket.close();
  });
});
