import { describe, expect, it } from 'vitest';
import { parseNotifyConfig } from './config.ts';
import { groupKeyOf, groupLabelsOf, matchRoutes } from './routing.ts';

const config = parseNotifyConfig({
  route: {
    receiver: 'default',
    group_by: ['alertname'],
    routes: [
      { matchers: ['severity="page"'], receiver: 'pager', group_wait: '10s', continue: true },
      {
        matchers: ['app=~"push.*"'],
        receiver: 'push-team',
        group_by: ['alertname', 'app'],
        routes: [{ matchers: ['env="dev"'], receiver: 'dev-null' }],
      },
      { matchers: ['team="db"'], receiver: 'db', group_by: ['...'] },
    ],
  },
  receivers: [
    { name: 'default' },
    { name: 'pager' },
    { name: 'push-team' },
    { name: 'dev-null' },
    { name: 'db' },
  ],
});

describe('matchRoutes', () => {
  it.each([
    [{ alertname: 'A' }, ['default']],
    [{ alertname: 'A', severity: 'page' }, ['pager']],
    [{ alertname: 'A', app: 'push-api' }, ['push-team']],
    [{ alertname: 'A', app: 'push-api', severity: 'page' }, ['pager', 'push-team']],
    [{ alertname: 'A', app: 'push-api', env: 'dev' }, ['dev-null']],
    [{ alertname: 'A', app: 'pusher', team: 'db' }, ['push-team']],
    [{ alertname: 'A', team: 'db' }, ['db']],
  ])('%o → %o', (labels, receivers) => {
    expect(matchRoutes(config.route, labels).map((r) => r.receiver)).toEqual(receivers);
  });

  it('children inherit settings and keep their own', () => {
    const [pager, push] = config.route.routes;
    expect(pager!.groupWait).toBe(10_000);
    expect(pager!.groupInterval).toBe(300_000);
    expect(pager!.groupBy).toEqual(['alertname']);
    expect(push!.routes[0]!.groupBy).toEqual(['alertname', 'app']);
    expect(push!.routes[0]!.repeatInterval).toBe(4 * 3_600_000);
  });
});

describe('group keys', () => {
  it('are Alertmanager-shaped and only use labels the alert has', () => {
    const push = config.route.routes[1]!;
    const labels = groupLabelsOf(push, { alertname: 'HighLatency', app: 'push-api', host: 'h1' });
    expect(labels).toEqual({ alertname: 'HighLatency', app: 'push-api' });
    expect(groupKeyOf(push, labels)).toBe('{}/{app=~"push.*"}:{alertname="HighLatency", app="push-api"}');
    expect(groupKeyOf(config.route, groupLabelsOf(config.route, { host: 'h' }))).toBe('{}:{}');
  });

  it('group_by ... groups by every label', () => {
    const db = config.route.routes[2]!;
    expect(groupLabelsOf(db, { alertname: 'A', team: 'db', host: 'h' })).toEqual({
      alertname: 'A',
      team: 'db',
      host: 'h',
    });
  });
});
