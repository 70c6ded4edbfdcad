/**
 * The rule engine's HTTP routes behind the hub's real authentication (users, tokens, projects)
 * and audit log: who sees which rules and alerts, who may change them, and what is audited.
 */
import type { Server } from 'node:http';
import { join } from 'node:path';
import express, { type ErrorRequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuleEngine, type RuleEngine } from '../../alerting/engine/engine.ts';
import { createFeedSource, createRecordingSink } from '../../alerting/engine/testing.ts';
import { parseRuleFile } from '../../alerting/rules/load.ts';
import { FakeClock } from '../../core/clock.ts';
import { toHubError } from '../../core/errors.ts';
import { createRuleRouter } from '../../ui/api/rule-routes.ts';
import { type AuditLog, openAuditLog } from '../../ui/auth/audit-log.ts';
import { createAuth } from '../../ui/auth/http-auth.ts';
import { openIdentityStore } from '../../ui/auth/identity-store.ts';
import { tempDir } from '../harness.ts';

const RULES = `
rules:
  - name: PushCpu
    expr: avg:cpu{project=push,app=*} > 90
    labels: { project: push }
  - name: BetaCpu
    expr: avg:cpu{project=beta,app=*} > 80
    labels: { project: beta }
  - name: OpsWide
    expr: avg:cpu{project=*,app=*} > 70
`;

let server: Server;
let url: string;
let engine: RuleEngine;
let audit: AuditLog;
let cleanup: () => Promise<void>;
const tokens: Record<string, string> = {};

async function call(who: string, method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(tokens[who] ? { authorization: `Bearer ${tokens[who]}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  const tmp = await tempDir('obs-rule-routes-');
  cleanup = tmp.cleanup;
  const clock = new FakeClock();
  const identities = await openIdentityStore({ path: join(tmp.dir, 'identities.json'), clock });
  audit = await openAuditLog({ path: join(tmp.dir, 'audit.log'), clock });
  await identities.addUser({ name: 'root', password: 'pw-root-123456', admin: true });
  await identities.addUser({ name: 'ann', password: 'pw-ann-1234567', projects: { push: 'editor' } });
  await identities.addUser({ name: 'vic', password: 'pw-vic-1234567', projects: { push: 'viewer' } });
  await identities.addUser({ name: 'bob', password: 'pw-bob-1234567', projects: { beta: 'editor' } });
  for (const owner of ['root', 'ann', 'vic', 'bob']) {
    const t = await identities.createToken({
      name: `${owner}-t`,
      owner,
      scopes: ['read', 'write'],
      projects: null,
      expiresAt: null,
    });
    tokens[owner] = t.secret;
  }
  const auth = createAuth({ identities, clock, audit });
  const feed = createFeedSource();
  for (const project of ['push', 'beta'])
    feed.add('cpu', { project, app: `/${project}/web` }, clock.now(), 95);
  engine = createRuleEngine({
    source: feed,
    sink: createRecordingSink(),
    clock,
    rules: parseRuleFile(RULES, 'r.yaml').rules,
  });
  await engine.start();
  await engine.idle();
  const app = express();
  app.use(auth.authenticate, auth.gate);
  app.use(createRuleRouter({ engine, auth, audit, now: () => clock.now() }));
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const e = toHubError(err);
    res
      .status(e.status)
      .json({ error: { code: e.status, message: e.message, type: e.code, where: e.where } });
  };
  app.use(onError);
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await engine?.stop();
  await new Promise((r) => server?.close(r));
  await cleanup?.();
});

describe('rule routes', () => {
  it('need authentication', async () => {
    expect((await call('nobody', 'GET', '/api/rules')).status).toBe(401);
    expect((await call('nobody', 'GET', '/api/alerts')).status).toBe(401);
  });

  it('show each caller the rules and alerts of its projects only', async () => {
    const names = async (who: string) =>
      (await call(who, 'GET', '/api/rules')).body.rules.map((r: any) => r.name).sort();
    expect(await names('root')).toEqual(['BetaCpu', 'OpsWide', 'PushCpu']);
    expect(await names('ann')).toEqual(['PushCpu']);
    expect(await names('bob')).toEqual(['BetaCpu']);
    const rule = (await call('ann', 'GET', '/api/rules/PushCpu')).body;
    expect(rule).toMatchObject({
      name: 'PushCpu',
      health: 'ok',
      series: { firing: 1 },
      lastEvaluation: { series: 1 },
    });
    expect((await call('bob', 'GET', '/api/rules/PushCpu')).status).toBe(404);

    const alerts = async (who: string) =>
      (await call(who, 'GET', '/api/alerts')).body
        .map((a: any) => `${a.rule}:${a.labels.project}:${a.state}`)
        .sort();
    expect(await alerts('ann')).toEqual(['OpsWide:push:firing', 'PushCpu:push:firing']);
    expect(await alerts('bob')).toEqual(['BetaCpu:beta:firing', 'OpsWide:beta:firing']);
    expect((await alerts('root')).length).toBe(4);
  });

  it('let editors change rules of their projects only, and audit every change', async () => {
    const spec = { name: 'AnnRule', expr: 'avg:cpu{project=*,app=*} > 50', labels: { project: 'push' } };
    expect((await call('vic', 'POST', '/api/rules', spec)).status).toBe(403);
    expect((await call('bob', 'POST', '/api/rules', spec)).status).toBe(403);
    expect((await call('ann', 'POST', '/api/rules', { ...spec, labels: {} })).status).toBe(403);
    const bad = await call('ann', 'POST', '/api/rules', { ...spec, expr: 'avg:cpu > ' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/rule "AnnRule": expr: unexpected end of expression at column 11/);

    const created = await call('ann', 'POST', '/api/rules', spec);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'AnnRule',
      project: 'push',
      origin: { kind: 'api', author: 'ann-t', scope: ['push'] },
    });
    expect((await call('bob', 'PUT', '/api/rules/AnnRule', { expr: '1' })).status).toBe(404);
    expect(
      (await call('ann', 'PUT', '/api/rules/AnnRule', { ...spec, labels: { project: 'beta' } })).status,
    ).toBe(403);
    const updated = await call('ann', 'PUT', '/api/rules/AnnRule', {
      expr: 'avg:cpu{project=*,app=*} > 60',
      labels: { project: 'push' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.spec.expr).toBe('avg:cpu{project=*,app=*} > 60');
    const fileRule = await call('ann', 'DELETE', '/api/rules/PushCpu');
    expect(fileRule.status).toBe(400);
    expect(fileRule.body.error.message).toMatch(/defined in r\.yaml/);
    expect((await call('ann', 'DELETE', '/api/rules/AnnRule')).status).toBe(204);

    const entries = await audit.list({ action: 'rule.' });
    expect(entries.map((e) => `${e.actor} ${e.action} ${e.target} ${e.details?.['project']}`)).toEqual([
      'ann-t rule.delete AnnRule push',
      'ann-t rule.update AnnRule push',
      'ann-t rule.create AnnRule push',
    ]);
  });

  it('serve the history by rule, app and time, within the caller’s projects', async () => {
    const all = (await call('root', 'GET', '/api/alerts/history')).body;
    expect(all.length).toBeGreaterThanOrEqual(4);
    const ann = (await call('ann', 'GET', '/api/alerts/history')).body;
    expect(ann.length).toBeGreaterThan(0);
    expect(ann.every((e: any) => e.labels.project === 'push')).toBe(true);
    const byRule = (await call('root', 'GET', '/api/alerts/history?rule=BetaCpu&app=/beta/web&since=1h'))
      .body;
    expect(byRule).toMatchObject([
      { rule: 'BetaCpu', from: 'inactive', to: 'firing', labels: { app: '/beta/web' } },
    ]);
    expect((await call('root', 'GET', '/api/alerts/history?since=2099-01-01T00:00:00Z')).body).toEqual([]);
    expect((await call('root', 'GET', '/api/alerts/history?since=soon')).status).toBe(400);
  });
});
