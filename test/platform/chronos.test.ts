/**
 * The Chronos adapter over real HTTP against the Chronos contract server (built from Chronos'
 * documented REST API; Chronos itself cannot run here).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from '../../core/clock.ts';
import type { HubError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import {
  type ChronosContractServer,
  startChronosContractServer,
} from '../../platform/orchestrators/chronos/chronos-contract-server.ts';
import {
  type ChronosOrchestrator,
  createChronosOrchestrator,
} from '../../platform/orchestrators/chronos/chronos-orchestrator.ts';
import type { AppSpec, OrchestratorEvent } from '../../platform/types.ts';

const REPORT: AppSpec = {
  id: '/shop/nightly-report',
  type: 'Cron',
  cmd: 'report.sh',
  image: 'shop/report:3',
  cpus: 0.5,
  mem: 256,
  instances: 1,
  schedule: 'R/2026-11-26T02:00:00Z/PT1H',
};

async function waitFor<T>(what: string, probe: () => T | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let server: ChronosContractServer;
let chronos: ChronosOrchestrator;

beforeEach(async () => {
  server = await startChronosContractServer();
  chronos = createChronosOrchestrator({
    url: server.url,
    clock: systemClock,
    logger: silentLogger,
    retry: { attempts: 3, baseMs: 5 },
  });
});

afterEach(async () => {
  await chronos.close();
  await server.close();
});

describe('Chronos adapter', () => {
  it('creates a job with POST /v1/scheduler/iso8601 and lists it back as the Cron app', async () => {
    expect(await chronos.deploy(REPORT)).toEqual({});
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post).toMatchObject({
      path: '/v1/scheduler/iso8601',
      body: {
        name: 'shop-nightly-report',
        command: 'report.sh',
        schedule: REPORT.schedule,
        cpus: 0.5,
        mem: 256,
      },
    });
    expect((post!.body as { container: unknown }).container).toEqual({
      type: 'DOCKER',
      image: 'shop/report:3',
      network: 'BRIDGE',
    });
    const apps = await chronos.listApps();
    expect(apps).toEqual([{ spec: REPORT, tasks: [], deployments: [], orchestrator: 'chronos' }]);
    expect((await chronos.getApp('/shop/nightly-report'))?.spec).toEqual(REPORT);
    expect(await chronos.getApp('/shop/other')).toBeUndefined();
  });

  it('updates a job in place', async () => {
    await chronos.deploy(REPORT);
    await chronos.deploy({ ...REPORT, schedule: 'R/2026-11-26T03:00:00Z/P1D', mem: 512 });
    const jobs = await chronos.jobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ schedule: 'R/2026-11-26T03:00:00Z/P1D', mem: 512 });
  });

  it('runs a job now with PUT /v1/scheduler/job/{name}, and the run is counted', async () => {
    await chronos.deploy(REPORT);
    await chronos.run('/shop/nightly-report');
    expect(server.requests.at(-1)).toMatchObject({
      method: 'PUT',
      path: '/v1/scheduler/job/shop-nightly-report',
    });
    expect(server.state.runs.map((r) => r.name)).toEqual(['shop-nightly-report']);
    await waitFor('run counted', () => server.state.jobs.get('shop-nightly-report')?.successCount === 1);
  });

  it('deletes a job, and a second delete is NOT_FOUND', async () => {
    await chronos.deploy(REPORT);
    await chronos.remove('/shop/nightly-report');
    expect(server.requests.at(-1)).toMatchObject({
      method: 'DELETE',
      path: '/v1/scheduler/job/shop-nightly-report',
    });
    expect(await chronos.listApps()).toEqual([]);
    const err = await chronos.remove('/shop/nightly-report').catch((e: unknown) => e);
    expect((err as HubError).code).toBe('NOT_FOUND');
  });

  it('refuses what is not a Chronos job before sending anything, naming the fields', async () => {
    const err = await chronos
      .deploy({ ...REPORT, type: 'WEB', schedule: '0 2 * * *' })
      .catch((e: unknown) => e);
    expect((err as HubError).code).toBe('INVALID_INPUT');
    expect((err as HubError).details?.map((d) => d.field)).toEqual(['type', 'schedule']);
    expect(server.requests).toEqual([]);
  });

  it('scale 0 disables the job and 1 enables it; other counts are refused', async () => {
    await chronos.deploy(REPORT);
    await chronos.scale('/shop/nightly-report', 0);
    expect(server.state.jobs.get('shop-nightly-report')?.disabled).toBe(true);
    expect((await chronos.getApp('/shop/nightly-report'))?.spec.instances).toBe(0);
    await chronos.scale('/shop/nightly-report', 1);
    expect(server.state.jobs.get('shop-nightly-report')?.disabled).toBe(false);
    const err = await chronos.scale('/shop/nightly-report', 3).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_INPUT', details: [{ field: 'instances' }] });
    expect((await chronos.scale('/shop/none', 0).catch((e: unknown) => e)) as HubError).toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('retries a 503 from Chronos', async () => {
    server.failNext(503, 2);
    expect(await chronos.listApps()).toEqual([]);
    expect(server.requests).toHaveLength(3);
  });

  it('watch polls on the clock and reports added jobs and finished runs', async () => {
    const clock = new FakeClock();
    const watched = createChronosOrchestrator({ url: server.url, clock, logger: silentLogger, pollMs: 1000 });
    const events: OrchestratorEvent[] = [];
    const w = watched.watch((e) => events.push(e));
    await waitFor('first poll', () => server.requests.length === 1);
    await chronos.deploy(REPORT);
    clock.advance(1000);
    await waitFor('added', () => events.find((e) => e.message === 'job added'));
    await chronos.run('/shop/nightly-report');
    await waitFor('run counted', () => server.state.jobs.get('shop-nightly-report')?.successCount === 1);
    clock.advance(1000);
    const ran = await waitFor('run reported', () => events.find((e) => e.message === 'run succeeded'));
    expect(ran).toMatchObject({
      type: 'app_changed',
      orchestrator: 'chronos',
      appId: '/shop/nightly-report',
    });
    w.close();
    await watched.close();
  });
});

describe('Chronos contract server follows the documented API', () => {
  it('lists jobs with the documented fields, and refuses a bad schedule with 400', async () => {
    const post = (body: unknown) =>
      fetch(`${server.url}/v1/scheduler/iso8601`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // The doc's own example hash.
    const ok = await post({
      schedule: 'R10/2012-10-01T05:52:00Z/PT2S',
      name: 'SAMPLE_JOB1',
      epsilon: 'PT15M',
      command: "echo 'FOO' >> /tmp/JOB1_OUT",
      owner: 'bob@airbnb.com',
      async: false,
    });
    expect(ok.status).toBe(204);
    const [job] = (await (await fetch(`${server.url}/v1/scheduler/jobs`)).json()) as Record<
      string,
      unknown
    >[];
    for (const field of [
      'successCount',
      'errorCount',
      'lastSuccess',
      'lastError',
      'executor',
      'retries',
      'cpus',
      'mem',
      'disk',
      'disabled',
    ]) {
      expect(job, field).toHaveProperty(field);
    }
    expect(job).toMatchObject({ name: 'SAMPLE_JOB1', epsilon: 'PT15M', owner: 'bob@airbnb.com', retries: 2 });
    const bad = await post({ name: 'x', command: 'true', schedule: '*/5 * * * *' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('schedule');
    const search = await fetch(`${server.url}/v1/scheduler/jobs/search?name=sample`);
    expect(((await search.json()) as unknown[]).length).toBe(1);
  });
});
