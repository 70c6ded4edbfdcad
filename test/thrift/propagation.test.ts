/**
 * Trace propagation over real Thrift servers on 127.0.0.1: web (A) → push-api (B) → worker (C),
 * each server on its own port, each service with its own tracer. Runs over two wire formats.
 */
import type { Server } from 'node:net';
import * as thrift from 'thrift';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Span } from '../../core/model.ts';
import { instrumentClient } from '../../tracing/thrift/client.ts';
import {
  DeliveryFailed,
  DeviceOffline,
  InvalidRequest,
  type Notification,
  Platform,
  PushApi,
  type PushApiClient,
  type PushApiHandler,
  Pushd,
  Worker,
  type WorkerClient,
  type WorkerHandler,
} from '../../tracing/thrift/push-idl.ts';
import { createTracedServer } from '../../tracing/thrift/server.ts';
import type { SamplerSpec } from '../../tracing/tracer/sampler.ts';
import { byName, createHarness, localPort, type Service, service, WIRES, type Wire } from './harness.ts';

const note = (body: string, deviceToken = 'dev-1'): Notification => ({
  app: '/push/app',
  deviceToken,
  platform: Platform.IOS,
  body,
  data: { campaign: 'c1' },
});

const h = createHarness();
afterEach(() => h.closeAll());

type WorkerLog = { delivered: Notification[]; requeued: string[] };

function workerHandler(log: WorkerLog): WorkerHandler {
  return {
    async deliver(n) {
      if (n.deviceToken === 'offline')
        throw new DeliveryFailed({ message: 'no pushd for device', retryable: true });
      log.delivered.push(n);
      return true;
    },
    requeue(id) {
      log.requeued.push(id);
    },
  };
}

function pushApiHandler(worker: () => WorkerClient): PushApiHandler {
  return {
    async push(n) {
      if (n.body === '') throw new InvalidRequest({ message: 'body is empty', field: 'body' });
      if (n.body === 'boom') throw new Error('boom');
      await worker().deliver(n);
      if (n.body === 'requeue') await worker().requeue('r-1');
      return { id: 'receipt-1', accepted: 1 };
    },
    pushMany: async (ns) => ({ id: 'many', accepted: ns.length }),
    ping: () => 'pong',
  };
}

type Chain = {
  a: Service;
  b: Service;
  c: Service;
  api: PushApiClient;
  ports: { b: number; c: number };
  /** Local ports of A's connection to B and of B's connection to C. */
  clientPorts(): Promise<{ a: number; b: number }>;
  log: WorkerLog;
};

async function startChain(wire: Wire, samplers: { a?: SamplerSpec; b?: SamplerSpec; c?: SamplerSpec } = {}) {
  const a = service('web', samplers.a);
  const b = service('push-api', samplers.b);
  const c = service('worker', samplers.c);
  const log: WorkerLog = { delivered: [], requeued: [] };
  const cPort = await h.listen(
    createTracedServer(new Worker.Processor(workerHandler(log)), {
      tracer: c.tracer,
      ...wire,
      service: 'Worker',
    }),
  );
  const toC = h.connect(Worker, cPort, wire);
  const worker = instrumentClient(toC.client, { tracer: b.tracer, peer: { host: '127.0.0.1', port: cPort } });
  const bPort = await h.listen(
    createTracedServer(new PushApi.Processor(pushApiHandler(() => worker)), {
      tracer: b.tracer,
      ...wire,
      service: 'PushApi',
    }),
  );
  const toB = h.connect(PushApi, bPort, wire);
  const api = instrumentClient(toB.client, { tracer: a.tracer, peer: { host: '127.0.0.1', port: bPort } });
  const clientPorts = async () => ({
    a: await localPort(toB.connection),
    b: await localPort(toC.connection),
  });
  return { a, b, c, api, ports: { b: bPort, c: cPort }, clientPorts, log } satisfies Chain;
}

const all = (...services: Service[]) => services.flatMap((s) => s.spans());

async function settled(count: number, ...services: Service[]): Promise<Span[]> {
  await vi.waitFor(() => expect(all(...services)).toHaveLength(count));
  for (const s of services) await s.tracer.flush();
  return all(...services);
}

describe.each(WIRES)('Thrift propagation over $name', (wire) => {
  it('gives one trace with the right tree across three hops', async () => {
    const chain = await startChain(wire);
    await expect(chain.api.push(note('hello'))).resolves.toMatchObject({ id: 'receipt-1', accepted: 1 });
    expect(chain.log.delivered[0]).toMatchObject({ body: 'hello', data: { campaign: 'c1' } });

    const spans = await settled(4, chain.a, chain.b, chain.c);
    const aClient = byName(chain.a.spans(), 'push', 'client');
    const bServer = byName(chain.b.spans(), 'push', 'server');
    const bClient = byName(chain.b.spans(), 'deliver', 'client');
    const cServer = byName(chain.c.spans(), 'deliver', 'server');
    const ports = await chain.clientPorts();

    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([aClient.traceId]));
    expect(aClient.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(4);
    for (const s of spans) expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);

    expect(aClient.parentId).toBeUndefined();
    expect(bServer.parentId).toBe(aClient.spanId);
    expect(bClient.parentId).toBe(bServer.spanId);
    expect(cServer.parentId).toBe(bClient.spanId);

    expect(aClient).toMatchObject({
      service: 'web',
      peerIp: '127.0.0.1',
      peerPort: chain.ports.b,
      error: false,
    });
    expect(aClient.tags).toMatchObject({ 'thrift.method': 'push' });
    expect(bServer).toMatchObject({
      service: 'push-api',
      peerIp: '127.0.0.1',
      peerPort: ports.a,
      localIp: '127.0.0.1',
    });
    expect(bServer.tags).toMatchObject({ 'thrift.method': 'push', 'thrift.service': 'PushApi' });
    expect(bClient).toMatchObject({ service: 'push-api', peerIp: '127.0.0.1', peerPort: chain.ports.c });
    expect(cServer).toMatchObject({ service: 'worker', peerIp: '127.0.0.1', peerPort: ports.b });

    // Children lie within their parents on one clock.
    expect(bServer.start).toBeGreaterThanOrEqual(aClient.start);
    expect(cServer.start + cServer.duration).toBeLessThanOrEqual(bClient.start + bClient.duration + 1);
    expect(aClient.duration).toBeGreaterThan(0);
  });

  it('traces oneway calls as children too', async () => {
    const chain = await startChain(wire);
    await chain.api.push(note('requeue'));
    await vi.waitFor(() => expect(chain.log.requeued).toEqual(['r-1']));
    await settled(6, chain.a, chain.b, chain.c);
    const bServer = byName(chain.b.spans(), 'push', 'server');
    const requeueClient = byName(chain.b.spans(), 'requeue', 'client');
    const requeueServer = byName(chain.c.spans(), 'requeue', 'server');
    expect(requeueClient.parentId).toBe(bServer.spanId);
    expect(requeueServer.parentId).toBe(requeueClient.spanId);
    expect(requeueServer.traceId).toBe(bServer.traceId);
  });

  it('keeps several calls in flight on one connection apart', async () => {
    const chain = await startChain(wire);
    await Promise.all(['m1', 'm2', 'm3'].map((body) => chain.api.push(note(body))));
    const spans = await settled(12, chain.a, chain.b, chain.c);
    const traces = new Set(spans.map((s) => s.traceId));
    expect(traces.size).toBe(3);
    for (const t of traces) {
      const trace = spans.filter((s) => s.traceId === t);
      const ids = new Set(trace.map((s) => s.spanId));
      expect(trace.filter((s) => s.parentId === undefined)).toHaveLength(1);
      for (const s of trace) if (s.parentId !== undefined) expect(ids.has(s.parentId)).toBe(true);
    }
  });

  it('records a declared exception as an error on both sides', async () => {
    const chain = await startChain(wire);
    const err = await chain.api.push(note('')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequest);
    expect(err).toMatchObject({ message: 'body is empty', field: 'body' });
    await settled(2, chain.a, chain.b, chain.c);
    const aClient = byName(chain.a.spans(), 'push', 'client');
    const bServer = byName(chain.b.spans(), 'push', 'server');
    for (const s of [aClient, bServer]) {
      expect(s.error).toBe(true);
      expect(s.tags).toMatchObject({ 'thrift.exception': 'InvalidRequest', error: 'body is empty' });
    }
    expect(bServer.parentId).toBe(aClient.spanId);
  });

  it('records an unexpected server error, and an exception from the next hop', async () => {
    const chain = await startChain(wire);
    const boom = await chain.api.push(note('boom')).catch((e: unknown) => e);
    expect(boom).toBeInstanceOf(thrift.Thrift.TApplicationException);
    await settled(2, chain.a, chain.b);
    expect(byName(chain.a.spans(), 'push', 'client')).toMatchObject({
      error: true,
      tags: { 'thrift.exception': 'TApplicationException', error: 'boom' },
    });
    expect(byName(chain.b.spans(), 'push', 'server')).toMatchObject({
      error: true,
      tags: { error: 'boom', 'exception.class': 'Error' },
    });

    chain.a.exporter.reset();
    chain.b.exporter.reset();
    await expect(chain.api.push(note('hi', 'offline'))).rejects.toBeInstanceOf(
      thrift.Thrift.TApplicationException,
    );
    await settled(4, chain.a, chain.b, chain.c);
    expect(byName(chain.b.spans(), 'deliver', 'client')).toMatchObject({
      error: true,
      tags: { 'thrift.exception': 'DeliveryFailed', error: 'no pushd for device' },
    });
    expect(byName(chain.c.spans(), 'deliver', 'server').tags).toMatchObject({
      'thrift.exception': 'DeliveryFailed',
    });
    expect(byName(chain.b.spans(), 'push', 'server').error).toBe(true);
  });

  it('carries "not sampled" downstream: no spans anywhere, the call still works', async () => {
    const chain = await startChain(wire, { a: 'never' });
    await expect(chain.api.push(note('quiet'))).resolves.toMatchObject({ accepted: 1 });
    expect(chain.log.delivered).toHaveLength(1);
    for (const s of [chain.a, chain.b, chain.c]) await s.tracer.flush();
    expect(all(chain.a, chain.b, chain.c)).toEqual([]);
  });

  it('carries "sampled" downstream over services that would not sample themselves', async () => {
    const chain = await startChain(wire, { b: 'never', c: 'never' });
    await chain.api.push(note('loud'));
    const spans = await settled(4, chain.a, chain.b, chain.c);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
  });
});

describe.each(WIRES)('instrumented and plain peers over $name', (wire) => {
  it('instrumented client → plain server: the call works, the client span is recorded', async () => {
    const a = service('web');
    const log: WorkerLog = { delivered: [], requeued: [] };
    const server = thrift.createServer(Worker, workerHandler(log), wire) as unknown as Server;
    const port = await h.listen(server);
    const { client } = h.connect(Worker, port, wire);
    const worker = instrumentClient(client, { tracer: a.tracer, peer: { host: 'localhost', port } });

    await expect(worker.deliver(note('to plain'))).resolves.toBe(true);
    await expect(worker.requeue('r-9')).resolves.toBeUndefined();
    await expect(worker.deliver(note('x', 'offline'))).rejects.toBeInstanceOf(DeliveryFailed);
    await vi.waitFor(() => expect(log.requeued).toEqual(['r-9']));
    expect(log.delivered).toEqual([expect.objectContaining({ body: 'to plain', data: { campaign: 'c1' } })]);

    await settled(3, a);
    const [ok, oneway, failed] = a.spans();
    expect(ok).toMatchObject({ name: 'deliver', kind: 'client', peerPort: port, error: false });
    expect(ok!.peerIp).toBeUndefined();
    expect(ok!.tags).toMatchObject({ 'peer.hostname': 'localhost', 'thrift.method': 'deliver' });
    expect(oneway).toMatchObject({ name: 'requeue', kind: 'client' });
    expect(failed).toMatchObject({
      name: 'deliver',
      error: true,
      tags: { 'thrift.exception': 'DeliveryFailed' },
    });
  });

  it('plain client → instrumented server: the call works, the server span starts a new trace', async () => {
    const b = service('push-api');
    const c = service('worker');
    const log: WorkerLog = { delivered: [], requeued: [] };
    const cPort = await h.listen(
      createTracedServer(new Worker.Processor(workerHandler(log)), { tracer: c.tracer, ...wire }),
    );
    const worker = instrumentClient(h.connect(Worker, cPort, wire).client, { tracer: b.tracer });
    const bPort = await h.listen(
      createTracedServer(new PushApi.Processor(pushApiHandler(() => worker)), { tracer: b.tracer, ...wire }),
    );
    const plain = h.connect(PushApi, bPort, wire);

    await expect(plain.client.push(note('from plain'))).resolves.toMatchObject({ id: 'receipt-1' });
    await expect(plain.client.ping()).resolves.toBe('pong');
    await expect(plain.client.push(note(''))).rejects.toBeInstanceOf(InvalidRequest);

    await settled(5, b, c);
    const [push, ping, invalid] = b.spans().filter((s) => s.kind === 'server');
    expect(push!.parentId).toBeUndefined();
    expect(push).toMatchObject({
      name: 'push',
      peerIp: '127.0.0.1',
      peerPort: await localPort(plain.connection),
    });
    expect(ping).toMatchObject({ name: 'ping', error: false });
    expect(ping!.parentId).toBeUndefined();
    expect(ping!.traceId).not.toBe(push!.traceId);
    expect(invalid).toMatchObject({ error: true, tags: { 'thrift.exception': 'InvalidRequest' } });
    const cServer = byName(c.spans(), 'deliver', 'server');
    expect(cServer.traceId).toBe(push!.traceId);
    expect(cServer.parentId).toBe(byName(b.spans(), 'deliver', 'client').spanId);
  });
});

describe('callback-style handlers', () => {
  it('traces handlers that answer through the callback, with their declared exceptions', async () => {
    const wire = WIRES[0]!;
    const a = service('worker');
    const d = service('pushd');
    // Callback style: one parameter more than the IDL method, as the generated processor expects.
    const handler = {
      send(token: string, _payload: string, done: (err: unknown, ok?: boolean) => void) {
        setTimeout(
          () => (token === 'gone' ? done(new DeviceOffline({ deviceToken: token })) : done(null, true)),
          2,
        );
      },
      connections(done: (err: unknown, n?: number) => void) {
        done(null, 3);
      },
    };
    const port = await h.listen(
      createTracedServer(new Pushd.Processor(handler as never), { tracer: d.tracer, ...wire }),
    );
    const pushd = instrumentClient(h.connect(Pushd, port, wire).client, { tracer: a.tracer });
    await a.tracer.trace('deliver', { kind: 'server' }, async () => {
      await expect(pushd.send('dev', '{}')).resolves.toBe(true);
      await expect(pushd.connections()).resolves.toBe(3);
      await expect(pushd.send('gone', '{}')).rejects.toBeInstanceOf(DeviceOffline);
    });
    await settled(7, a, d);
    const servers = d.spans();
    expect(servers.map((s) => [s.name, s.error])).toEqual([
      ['send', false],
      ['connections', false],
      ['send', true],
    ]);
    expect(servers[2]!.tags['thrift.exception']).toBe('DeviceOffline');
    const root = byName(a.spans(), 'deliver', 'server');
    const clients = a.spans().filter((s) => s.kind === 'client');
    for (const [i, c] of clients.entries()) {
      expect(c.parentId).toBe(root.spanId);
      expect(servers[i]!.parentId).toBe(c.spanId);
    }
    expect(servers[0]!.duration).toBeGreaterThanOrEqual(1000);
  });
});
