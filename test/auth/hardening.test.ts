/** Limits against bad or greedy clients: rate limits, slow clients, body size, TLS, non-loopback refusal. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startHub } from '../../bin/hub.ts';
import { loadConfig } from '../../core/config.ts';
import { silentLogger } from '../../core/logger.ts';
import { startTestHub, type TestHub, tempDir } from '../harness.ts';

const hubs: TestHub[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const h of hubs) await h.stop();
  for (const c of cleanups) await c();
});

const point = (i: number) => ({
  metric: 'rl.m',
  timestamp: Math.floor(Date.now() / 1000),
  value: i,
  tags: { c: `c${i}` },
});

describe('limits', () => {
  it('rate-limits ingest per caller with 429 and Retry-After, counted on /metrics', async () => {
    const hub = await startTestHub({ limits: { ingestPointsPerSecond: 100, ingestBurst: 200 } });
    hubs.push(hub);
    const put = (n: number) =>
      fetch(`${hub.url}api/put`, {
        method: 'POST',
        body: JSON.stringify(Array.from({ length: n }, (_, i) => point(i))),
      });
    expect((await put(150)).status).toBe(204);
    const limited = await put(150);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as any).error.message).toMatch(/Rate limit/);
    const metrics = await (await fetch(`${hub.url}metrics`)).text();
    expect(metrics).toMatch(/obs_points_rejected_total\{protocol="http",reason="rate_limited"\} 150/);
  });

  it('refuses a body over the size limit with 413', async () => {
    const hub = await startTestHub({ maxBodyBytes: 10_000 });
    hubs.push(hub);
    const res = await fetch(`${hub.url}api/put`, {
      method: 'POST',
      body: JSON.stringify(Array.from({ length: 500 }, (_, i) => point(i))),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.message).toMatch(/over the limit of 10000 bytes/);
  });

  it('cuts off a client that sends its headers too slowly', async () => {
    const hub = await startTestHub({ limits: { headersTimeout: 1000 } });
    hubs.push(hub);
    const socket = connect(hub.httpPort, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('POST /api/put HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never the rest
    const started = Date.now();
    let answer = '';
    socket.on('data', (d) => {
      answer += d;
    });
    await new Promise((r) => socket.once('close', r));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('safe defaults', () => {
  it('refuses to listen beyond loopback without users, saying how to fix it', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const config = loadConfig({
      env: {},
      flags: { host: '0.0.0.0', port: 0, telnetPort: 0, dataDir: tmp.dir },
    });
    await expect(startHub(config, { logger: silentLogger })).rejects.toThrow(
      /Refusing to listen on 0\.0\.0\.0 without authentication.*obs users add/,
    );
  });

  it('serves HTTPS when given a certificate and key', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const cert = join(tmp.dir, 'cert.pem');
    const key = join(tmp.dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const hub = await startTestHub({ tls: { cert, key } });
    hubs.push(hub);
    expect(hub.url).toMatch(/^https:/);
    const body = await new Promise<string>((resolve, reject) => {
      request(`${hub.url}healthz`, { ca: readFileSync(cert) }, (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    expect(JSON.parse(body).status).toBe('ok');
  });
});
