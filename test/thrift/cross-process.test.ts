/**
 * The last hop in another process: web (A, here) → push-api (B, here) → worker (C, a child process
 * that writes its spans to a span-log file). One trace across both processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSpanLog } from '../../tracing/codec/span-log.ts';
import { instrumentClient } from '../../tracing/thrift/client.ts';
import { Platform, PushApi, Worker } from '../../tracing/thrift/push-idl.ts';
import { createTracedServer } from '../../tracing/thrift/server.ts';
import { byName, createHarness, localPort, service, WIRES } from './harness.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const wire = WIRES.find((w) => w.name === 'framed binary')!;

let dir: string;
let child: ChildProcess | undefined;
const h = createHarness();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obs-thrift-'));
});
afterEach(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  await h.closeAll();
  await rm(dir, { recursive: true, force: true });
});

function startWorker(spanLog: string): Promise<number> {
  child = spawn(process.execPath, ['--import', 'tsx', script, spanLog], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  return new Promise((resolve, reject) => {
    child!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /port (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child!.once('exit', (code) => reject(new Error(`worker exited ${code}: ${err}`)));
  });
}

async function stopWorker(): Promise<void> {
  const exited = new Promise((resolve) => child!.once('exit', resolve));
  child!.kill('SIGTERM');
  expect(await exited).toBe(0);
}

describe('Thrift propagation across processes', () => {
  it('gives one trace whose last hop was recorded by another process', async () => {
    const spanLog = join(dir, 'spans.log');
    const cPort = await startWorker(spanLog);
    const a = service('web');
    const b = service('push-api');
    const toC = h.connect(Worker, cPort, wire);
    const worker = instrumentClient(toC.client, {
      tracer: b.tracer,
      peer: { host: '127.0.0.1', port: cPort },
    });
    const bPort = await h.listen(
      createTracedServer(
        new PushApi.Processor({
          push: async (n) => ({ id: String(await worker.deliver(n)), accepted: 1 }),
          pushMany: (ns) => ({ id: '', accepted: ns.length }),
          ping: () => 'pong',
        }),
        { tracer: b.tracer, ...wire },
      ),
    );
    const api = instrumentClient(h.connect(PushApi, bPort, wire).client, { tracer: a.tracer });

    await expect(
      api.push({ app: '/p/a', deviceToken: 'd', platform: Platform.WEB, body: 'x' }),
    ).resolves.toMatchObject({ id: 'true' });
    const bToCPort = await localPort(toC.connection);
    await stopWorker();

    const { spans: cSpans, errors } = parseSpanLog(await readFile(spanLog, 'utf8'));
    expect(errors).toEqual([]);
    const aClient = byName(a.spans(), 'push', 'client');
    const bServer = byName(b.spans(), 'push', 'server');
    const bClient = byName(b.spans(), 'deliver', 'client');
    const cServer = byName(cSpans, 'deliver', 'server');
    const cLocal = byName(cSpans, 'pick pushd', 'local');
    expect([bServer, bClient, cServer, cLocal].map((s) => s.traceId)).toEqual(Array(4).fill(aClient.traceId));
    expect(bServer.parentId).toBe(aClient.spanId);
    expect(bClient.parentId).toBe(bServer.spanId);
    expect(cServer).toMatchObject({
      parentId: bClient.spanId,
      service: 'worker',
      peerIp: '127.0.0.1',
      peerPort: bToCPort,
    });
    expect(cLocal.parentId).toBe(cServer.spanId);
  });
});
