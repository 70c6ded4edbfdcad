/** Paging escalation on a fake clock, with each person's receiver a real HTTP endpoint. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeAlert } from '../../alerting/notify/testing.ts';
import { FakeClock } from '../../core/clock.ts';
import { EVAL, type Run, startRun, T0, tempDir } from './harness.ts';
import { type HttpReceiver, startHttpReceiver } from './servers.ts';

const S = 1000;
const M = 60_000;

let http: HttpReceiver;
let tmp: Awaited<ReturnType<typeof tempDir>>;
const runs: Run[] = [];

beforeEach(async () => {
  [http, tmp] = await Promise.all([startHttpReceiver(), tempDir()]);
});

afterEach(async () => {
  for (const r of runs.splice(0)) await r.pipeline.close();
  await http.close();
  await tmp.cleanup();
});

const person = (name: string) => ({ name, webhook_configs: [{ url: `${http.url}/${name}` }] });

function config() {
  return {
    route: {
      receiver: 'team',
      group_by: ['alertname'],
      routes: [{ matchers: ['severity="page"'], receiver: 'infra-oncall', group_wait: '30s' }],
    },
    receivers: [
      person('team'),
      { name: 'infra-oncall', oncall_configs: [{ team: 'infra' }] },
      person('alice'),
      person('bob'),
      person('carol'),
      person('lead'),
    ],
    oncall: {
      infra: {
        time_zone: 'Europe/Berlin',
        members: ['alice', 'bob', 'carol'].map((n) => ({ name: n, receiver: n })),
        shift: '1w',
        start: '2026-01-05T09:00',
        escalation: [{ oncall: 0, timeout: '5m' }, { oncall: 1, timeout: '10m' }, { receivers: ['lead'] }],
      },
    },
  };
}

async function start(clock?: FakeClock): Promise<Run> {
  const run = await startRun({ config: config(), dir: tmp.dir, ...(clock ? { clock } : {}) });
  runs.push(run);
  return run;
}

const paged = () => http.requests.map((r) => `${r.path} ${r.body.status}`);
const page = makeAlert({ alertname: 'ApiDown', app: 'api', severity: 'page' }, T0);

describe('escalation', () => {
  it('pages whoever is on call, then the next person, then the lead, each after its timeout', async () => {
    const run = await start();
    expect(run.pipeline.oncall()[0]).toMatchObject({ current: { name: 'alice' }, next: { name: 'bob' } });
    run.firing.set(page.fingerprint, page);
    await run.run(30 * S);
    expect(paged()).toEqual(['/alice firing']);

    await run.run(5 * M - EVAL);
    expect(paged()).toEqual(['/alice firing']);
    await run.run(EVAL);
    expect(paged()).toEqual(['/alice firing', '/bob firing']);

    await run.run(10 * M - EVAL);
    expect(paged()).toHaveLength(2);
    await run.run(EVAL);
    expect(paged()).toEqual(['/alice firing', '/bob firing', '/lead firing']);
    expect(run.pipeline.escalations.incidents()[0]).toMatchObject({
      level: 2,
      paged: ['alice', 'bob', 'lead'],
    });

    await run.run(30 * M);
    expect(paged()).toHaveLength(3);
    run.resolve(page);
    await run.run(5 * M);
    expect(paged().slice(3).sort()).toEqual(['/alice resolved', '/bob resolved', '/lead resolved']);
    expect(run.pipeline.escalations.incidents()).toEqual([]);
    expect(http.at('/team')).toEqual([]);
  });

  it('an acknowledgement stops escalation; a new unacknowledged alert restarts the timer', async () => {
    const run = await start();
    run.firing.set(page.fingerprint, page);
    await run.run(1 * M);
    expect(paged()).toEqual(['/alice firing']);
    const { ack, stopped } = await run.pipeline.ack(page.fingerprint, 'alice');
    expect(ack).toMatchObject({ fingerprint: page.fingerprint, startsAt: T0, by: 'alice', at: T0 + 1 * M });
    expect(stopped.map((i) => i.team)).toEqual(['infra']);
    expect(run.pipeline.alerts()[0]!.acknowledged).toEqual({ by: 'alice', at: T0 + 1 * M });

    await run.run(30 * M);
    expect(paged()).toEqual(['/alice firing']);

    const second = makeAlert(
      { alertname: 'ApiDown', app: 'api', host: 'h2', severity: 'page' },
      run.clock.now(),
    );
    run.firing.set(second.fingerprint, second);
    await run.run(5 * M);
    expect(paged()).toEqual(['/alice firing', '/alice firing']);
    expect(http.requests[1]!.body.alerts).toHaveLength(2);
    await run.run(5 * M);
    expect(paged()).toEqual(['/alice firing', '/alice firing', '/bob firing']);
  });

  it('an unknown fingerprint cannot be acknowledged', async () => {
    const run = await start();
    await expect(run.pipeline.ack('feedface', 'alice')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('escalation goes on after a restart, without paging the first level again', async () => {
    const first = await start();
    first.firing.set(page.fingerprint, page);
    await first.run(1 * M);
    expect(paged()).toEqual(['/alice firing']);

    // The first process dies here: its clock never moves again.
    const second = await start(new FakeClock(first.clock.now()));
    second.firing.set(page.fingerprint, page);
    await second.run(4 * M);
    expect(paged()).toEqual(['/alice firing']);
    await second.run(45 * S);
    expect(paged()).toEqual(['/alice firing', '/bob firing']);
  });
});
