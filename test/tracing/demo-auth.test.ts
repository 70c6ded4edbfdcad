/**
 * The demo against hubs it cannot simply post to: none running, and one with users, where only a
 * token with the ingest scope gets the spans in. Real hubs, real tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identitiesPath } from '../../bin/hub.ts';
import { systemClock } from '../../core/clock.ts';
import type { HubError } from '../../core/errors.ts';
import { startDemo } from '../../tracing/demo/demo.ts';
import { checkHub } from '../../tracing/demo/hub-link.ts';
import { openIdentityStore } from '../../ui/auth/identity-store.ts';
import { eventually, freePort, startTestHub, type TestHub, tempDir } from '../harness.ts';

async function refusal(p: Promise<unknown>): Promise<HubError> {
  try {
    await p;
  } catch (e) {
    return e as HubError;
  }
  throw new Error('expected a refusal');
}

describe('no hub running', () => {
  it('says so, and how to start one', async () => {
    const port = await freePort();
    const e = await refusal(startDemo({ hub: `http://127.0.0.1:${port}/`, rate: 0 }));
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toContain(`No hub answers at http://127.0.0.1:${port}/`);
    expect(e.message).toContain('start one with "npm start"');
  });
});

describe('a hub with users', () => {
  let hub: TestHub;
  let cleanup: () => Promise<void>;
  const tokens: Record<'ingest' | 'read', string> = { ingest: '', read: '' };

  beforeAll(async () => {
    const tmp = await tempDir('obs-demo-auth-');
    cleanup = tmp.cleanup;
    const ids = await openIdentityStore({ path: identitiesPath(tmp.dir), clock: systemClock });
    await ids.addUser({ name: 'root', password: 'root-password', admin: true });
    const token = async (name: string, scopes: ('ingest' | 'read')[], owner: string | null) =>
      (await ids.createToken({ name, owner, scopes, projects: null, expiresAt: null })).secret;
    tokens.ingest = await token('demo', ['ingest'], null);
    // A read token of an admin sees every service.
    tokens.read = await token('dash', ['read'], 'root');
    hub = await startTestHub({ dataDir: tmp.dir });
  });

  afterAll(async () => {
    await hub?.stop();
    await cleanup?.();
  });

  it('asks for a token when none is given', async () => {
    const e = await refusal(startDemo({ hub: hub.url, rate: 0 }));
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.message).toContain('obs tokens create demo --scope ingest');
  });

  it('says which scope is missing when the token cannot ingest', async () => {
    const e = await refusal(checkHub(hub.url, tokens.read));
    expect(e.code).toBe('FORBIDDEN');
    expect(e.message).toContain('needs the ingest scope');
  });

  it('sends every span with an ingest token', async () => {
    const demo = await startDemo({ hub: hub.url, token: tokens.ingest, rate: 40, slowMs: [20, 40] });
    await new Promise((r) => setTimeout(r, 1000));
    const stats = await demo.stop();
    expect(stats.pushapi.accepted).toBeGreaterThan(10);
    expect(stats.spans).toMatchObject({ sent: stats.pushapi.accepted * 5, failed: 0, dropped: 0 });
    const services = await eventually(async () => {
      const res = await fetch(new URL('api/v2/services', hub.url), {
        headers: { authorization: `Bearer ${tokens.read}` },
      });
      const list = (await res.json()) as string[];
      if (list.length < 3) throw new Error(`services so far: ${list}`);
      return list;
    });
    expect(services.sort()).toEqual(['pushapi', 'pushd', 'worker']);
  });
});
