import { describe, expect, it } from 'vitest';
import { HubError } from '../core/errors.ts';
import type { Orchestrator } from '../core/ports.ts';
import {
  containersByApp,
  DECISION_HEARTBEAT_MS,
  decisionTasks,
  noDataVerdict,
  normalizeAppId,
  pickOrchestrator,
  projectOfAppId,
  scaleError,
  synthesizeApps,
  worthKeeping,
} from './service-match.ts';
import type { AppStatus, AppTask, ContainerUsage, ScalingRecord } from './types.ts';

const MIB = 1024 * 1024;
const task = (id: string, over: Partial<AppTask> = {}): AppTask => ({
  id,
  appId: '/shop/web',
  host: 'n1',
  state: 'running',
  healthChecks: [],
  ...over,
});
const status = (over: Partial<AppStatus> = {}, spec: Partial<AppStatus['spec']> = {}): AppStatus => ({
  spec: { id: '/shop/web', type: 'WEB', cpus: 1, mem: 256, instances: 2, ...spec },
  tasks: [task('t1'), task('t2')],
  deployments: [],
  orchestrator: 'marathon',
  ...over,
});
const record = (over: Partial<ScalingRecord> = {}): ScalingRecord => ({
  appId: '/shop/web',
  ts: 0,
  mode: 'advise',
  current: 2,
  desired: 2,
  observed: 0.5,
  target: 0.6,
  metric: 'cpu',
  action: 'none',
  reason: 'CPU 50 %: keep 2 instances.',
  ...over,
});

describe('app ids', () => {
  it.each([
    ['/shop/web', '/shop/web', 'shop'],
    ['shop/web', '/shop/web', 'shop'],
    ['/shop/api/v2/', '/shop/api/v2', 'shop'],
    ['', '/', undefined],
  ])('%j → %j, project %j', (raw, id, project) => {
    expect(normalizeAppId(raw)).toBe(id);
    expect(projectOfAppId(raw)).toBe(project);
  });
});

describe('synthesizeApps (advice-only mode)', () => {
  it('makes one app per app id, set to the largest limits its containers run with', () => {
    const usages: ContainerUsage[] = [
      { container: 'a1', appId: '/shop/api', cpuLimit: 0.5, memLimit: 128 * MIB },
      { container: 'a2', appId: '/shop/api', cpuLimit: 1, memLimit: 256 * MIB, task: 'task-a2' },
      { container: 'b1', appId: '/blog/www' },
    ];
    expect(
      synthesizeApps(usages).map((a) => [a.spec.id, a.spec.cpus, a.spec.mem, a.tasks.map((t) => t.id)]),
    ).toEqual([
      ['/blog/www', 0, 0, ['b1']],
      ['/shop/api', 1, 256, ['a1', 'task-a2']],
    ]);
  });
});

describe('containersByApp', () => {
  it("joins containers to apps by task first, then by app tag, and gives them their task's checks", () => {
    const apps = [status({ tasks: [task('t1', { healthChecks: [false] }), task('t2')] })];
    const usages: ContainerUsage[] = [
      { container: 'c1', appId: '/shop/web', task: 't1' },
      { container: 'c2', appId: '/wrong/tag', task: 't2' },
      { container: 'c3', appId: 'shop/web' },
      { container: 'c4', appId: '/other/app' },
    ];
    const byApp = containersByApp(apps, usages);
    expect([...byApp.keys()]).toEqual(['/shop/web']);
    expect(byApp.get('/shop/web')!.map((c) => [c.container, c.healthChecks])).toEqual([
      ['c1', [false]],
      ['c2', undefined],
      ['c3', undefined],
    ]);
  });
});

describe('decisionTasks', () => {
  it('sums CPU per task, marks failing or starting tasks not ready, and leaves out ended ones', () => {
    const app = status({
      tasks: [
        task('t1'),
        task('t2', { healthChecks: [true, false] }),
        task('t3', { state: 'starting' }),
        task('t4', { state: 'killed' }),
      ],
    });
    const containers: ContainerUsage[] = [
      { container: 'c1', appId: '/shop/web', task: 't1', cpu: 0.25 },
      { container: 'c1b', appId: '/shop/web', task: 't1', cpu: 0.25 },
      { container: 'c2', appId: '/shop/web', task: 't2', cpu: 0.75 },
    ];
    expect(decisionTasks(app, containers)).toEqual([
      { id: 't1', ready: true, cpu: 0.5 },
      { id: 't2', ready: false, cpu: 0.75 },
      { id: 't3', ready: false },
    ]);
  });
});

describe('noDataVerdict', () => {
  it.each([
    ['containers reported', status(), 1, undefined],
    ['tasks run but no metrics yet', status(), 0, 'unknown'],
    ['scaled to 0', status({ tasks: [] }, { instances: 0 }), 0, 'unknown'],
    ['a Cron app between runs', status({ tasks: [] }, { type: 'Cron', instances: 1 }), 0, 'unknown'],
    ['wants 2, none runs', status({ tasks: [] }), 0, undefined],
  ])('%s', (_name, s, n, state) => {
    expect(noDataVerdict(s, n)?.state).toBe(state);
  });
});

describe('worthKeeping', () => {
  it.each([
    ['the first record of an app', record(), undefined, true],
    ['a scale', record({ action: 'scaled', desired: 3 }), record({ action: 'scaled', desired: 3 }), true],
    ['an error', record({ error: 'boom' }), record(), true],
    ['the same outcome with other numbers', record({ ts: 15_000, reason: 'CPU 52 %' }), record(), false],
    ['a new desired count', record({ ts: 15_000, action: 'advised', desired: 3 }), record(), true],
    ['the same outcome after the heartbeat', record({ ts: DECISION_HEARTBEAT_MS }), record(), true],
    ['the first calm record after an error', record({ ts: 15_000 }), record({ error: 'boom' }), true],
  ])('%s → %s', (_name, r, previous, keep) => {
    expect(worthKeeping(r, previous)).toBe(keep);
  });
});

describe('scaleError', () => {
  it('names the locking deployments of a CONFLICT, from the error or else the listing', () => {
    const locked = new HubError('CONFLICT', 'locked', { cause: { deployments: [{ id: 'd-9' }] } });
    expect(scaleError(locked, status({ deployments: ['d-1'] }))).toBe(
      'app locked by deployment d-9; not forced',
    );
    expect(scaleError(new HubError('CONFLICT', 'locked'), status({ deployments: ['d-1'] }))).toBe(
      'app locked by deployment d-1; not forced',
    );
    expect(scaleError(new HubError('UPSTREAM_FAILED', 'Marathon answered 503'), status())).toBe(
      'Marathon answered 503',
    );
  });
});

describe('pickOrchestrator', () => {
  const o = (name: string) => ({ name }) as Orchestrator;
  it.each([
    [['marathon', 'chronos', 'docker'], 'WEB', 'marathon'],
    [['marathon', 'chronos'], 'Cron', 'chronos'],
    [['marathon'], 'Cron', undefined],
    [['chronos', 'docker'], 'Worker', 'docker'],
    [['chronos'], 'WEB', undefined],
    [[], 'WEB', undefined],
  ])('%j, %s → %s', (names, type, expected) => {
    expect(pickOrchestrator(names.map(o), type)?.name).toBe(expected);
  });
});
