/**
 * `POST /api/logs` and `GET /api/logs/search` over real HTTP, behind the hub's real
 * authentication (identity store, tokens, sessions' scope guards), with the embedded bus and
 * log store built by `createLogs` as the hub builds them.
 */
import type { Server } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.ts';
import { toHubError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import type { LogRecord } from '../../core/model.ts';
import { createEmbeddedBus, type EmbeddedBus } from '../../pipeline/bus/embedded/embedded-bus.ts';
import { createLogs, type Logs } from '../../pipeline/logs/logs.ts';
import { openAuditLog } from '../../ui/auth/audit-log.ts';
import { createAuth } from '../../ui/auth/http-auth.ts';
import { openIdentityStore } from '../../ui/auth/identity-store.ts';
import { eventually, freePort, tempDir } from '../harness.ts';

const NOW = Date.now();
const tokens: Record<string, string> = {};
let base: string;
let server: Server;
let bus: EmbeddedBus;
let logs: Logs;
let cleanup: () => Promise<void>;

async function call(who: string | undefined, method: string, path: string, body?: string, type?: string) {
  const headers: Record<string, string> = { 'content-type': type ?? 'application/json' };
  if (who) headers['authorization'] = `Bearer ${tokens[who]}`;
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return { status: res.status, json: () => JSON.parse(text) };
}

const search = async (who: string, query: string) => {
  const res = await call(who, 'GET', `/api/logs/search?${query}`);
  expect(res.status).toBe(200);
  return res.json() as LogRecord[];
};

beforeAll(async () => {
  const tmp = await tempDir('obs-log-routes-');
  const identities = await openIdentityStore({ path: `${tmp.dir}/identities.json`, clock: systemClock });
  const audit = await openAuditLog({ path: `${tmp.dir}/audit.log`, clock: systemClock });
  await identities.addUser({ name: 'root', password: 'root-password', admin: true });
  await identities.addUser({ name: 'bob', password: 'bob-password', projects: { beta: 'viewer' } });
  const token = async (
    name: string,
    owner: string | null,
    scope: 'ingest' | 'read',
    projects: string[] | null,
  ) => (await identities.createToken({ name, owner, scopes: [scope], projects, expiresAt: null })).secret;
  tokens['agent'] = await token('agent', null, 'ingest', null);
  tokens['betaAgent'] = await token('beta-agent', null, 'ingest', ['beta']);
  tokens['reader'] = await token('reader', 'root', 'read', null);
  tokens['bobRead'] = await token('bob-read', 'bob', 'read', null);
  const auth = createAuth({ identities, clock: systemClock, audit });

  bus = await createEmbeddedBus({ dir: `${tmp.dir}/bus`, pollMs: 20 });
  logs = await createLogs({
    bus,
    dataDir: tmp.dir,
    clock: systemClock,
    logger: silentLogger,
    auth,
    config: {
      store: 'embedded',
      elastic: { url: 'http://127.0.0.1:9200', indexPrefix: 'obs', retentionDays: 7 },
    },
  });
  const app = express();
  app.use(auth.authenticate, auth.gate);
  app.use(logs.router);
  // As the hub's handler answers errors.
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const e = toHubError(err);
    res
      .status(e.status)
      .json({ error: { code: e.status, message: e.message, type: e.code, where: e.where } });
  };
  app.use(onError);
  const port = await freePort();
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${port}`;
  cleanup = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await logs.close();
    await bus.close();
    await tmp.cleanup();
  };
});

afterAll(async () => {
  await cleanup?.();
});

describe('POST /api/logs', () => {
  it('takes a JSON array, answers 202, and the records can be searched by source, words and time', async () => {
    const records: LogRecord[] = [
      { ts: NOW - 3000, source: 'nginx-a', fields: { status: 200, path: '/login' } },
      { ts: NOW - 2000, source: 'nginx-a', fields: { status: 502, path: '/api/orders' } },
      { ts: NOW - 1000, source: 'nginx-a', fields: {}, raw: 'upstream timed out while reading' },
      { ts: NOW - 500, source: 'worker', fields: { msg: 'orders exported' } },
    ];
    const res = await call('agent', 'POST', '/api/logs', JSON.stringify(records));
    expect(res.status).toBe(202);
    expect(res.json()).toEqual({ success: 4, failed: 0 });
    const got = await eventually(async () => {
      const r = await search('reader', 'source=nginx-a');
      expect(r).toHaveLength(3);
      return r;
    });
    expect(got).toEqual([records[2], records[1], records[0]]);
    expect(await search('reader', 'q=orders')).toEqual([records[3], records[1]]);
    expect(await search('reader', 'q=TIMED%20out&source=nginx-a')).toEqual([records[2]]);
    expect(await search('reader', `source=nginx-a&start=${NOW - 2500}&end=${NOW - 1500}`)).toEqual([
      records[1],
    ]);
    expect(await search('reader', 'source=nginx-a&limit=1')).toEqual([records[2]]);
    expect(await search('reader', `source=nginx-a&end=${NOW - 60 * 60_000}`)).toEqual([]);
  });

  it('takes JSON lines, refuses bad ones by index and field, and stores the good ones', async () => {
    const good = (n: number) => JSON.stringify({ ts: NOW - n, source: 'ndjson-src', fields: { n } });
    const body = [
      good(1),
      '{"ts":"yesterday","source":"ndjson-src","fields":{}}',
      'not json',
      good(2),
      '{"ts":1,"fields":{}}',
    ].join('\n');
    const res = await call('agent', 'POST', '/api/logs', body, 'application/x-ndjson');
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({
      success: 2,
      failed: 3,
      errors: [
        { index: 1, field: 'ts' },
        { index: 2, field: '' },
        { index: 4, field: 'source' },
      ],
    });
    const stored = await eventually(async () => {
      const r = await search('reader', 'source=ndjson-src');
      expect(r).toHaveLength(2);
      return r;
    });
    expect(stored.map((r) => r.fields['n'])).toEqual([1, 2]);
  });

  it('answers 400 to a body that is not JSON or holds no record', async () => {
    const broken = await call('agent', 'POST', '/api/logs', '[{"ts":');
    expect(broken.status).toBe(400);
    expect(broken.json().error.message).toMatch(/not JSON/);
    expect((await call('agent', 'POST', '/api/logs', '[]')).status).toBe(400);
  });

  it('lets a token limited to a project write only records of that project', async () => {
    const records = [
      { ts: NOW, source: 'limited', fields: { project: 'beta', msg: 'beta line' } },
      { ts: NOW, source: 'limited', fields: { project: 'alpha', msg: 'alpha line' } },
      { ts: NOW, source: 'limited', fields: { msg: 'no project' } },
    ];
    const res = await call('betaAgent', 'POST', '/api/logs', JSON.stringify(records));
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({
      success: 1,
      failed: 2,
      errors: [
        { index: 1, field: 'fields.project' },
        { index: 2, field: 'fields.project' },
      ],
    });
    await eventually(async () => expect(await search('reader', 'source=limited')).toEqual([records[0]]));
  });
});

describe('access', () => {
  it('needs credentials, the ingest scope to write and the read scope to search', async () => {
    expect((await call(undefined, 'POST', '/api/logs', '[]')).status).toBe(401);
    expect((await call(undefined, 'GET', '/api/logs/search')).status).toBe(401);
    const write = await call(
      'reader',
      'POST',
      '/api/logs',
      JSON.stringify([{ ts: 1, source: 's', fields: {} }]),
    );
    expect(write.status).toBe(403);
    expect(write.json().error.message).toMatch(/"ingest" scope/);
    const read = await call('agent', 'GET', '/api/logs/search');
    expect(read.status).toBe(403);
    expect(read.json().error.message).toMatch(/"read" scope/);
  });

  it("shows a project's people only their project's records", async () => {
    const records = [
      { ts: NOW - 10, source: 'shared-src', fields: { project: 'alpha', msg: 'alpha secret' } },
      { ts: NOW - 20, source: 'shared-src', fields: { project: 'beta', msg: 'beta line' } },
    ];
    expect((await call('agent', 'POST', '/api/logs', JSON.stringify(records))).status).toBe(202);
    await eventually(async () => expect(await search('reader', 'source=shared-src')).toHaveLength(2));
    expect(await search('bobRead', 'source=shared-src')).toEqual([records[1]]);
    expect(await search('bobRead', 'q=secret')).toEqual([]);
  });

  it('says what is wrong with a search', async () => {
    for (const [query, where] of [
      ['limit=0', 'limit'],
      ['start=soon', 'start'],
      [`start=${NOW}&end=${NOW - 1}`, 'start'],
    ] as const) {
      const res = await call('reader', 'GET', `/api/logs/search?${query}`);
      expect({ query, status: res.status, where: res.json().error.where }).toEqual({
        query,
        status: 400,
        where,
      });
    }
  });
});
