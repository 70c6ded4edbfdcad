import { expect, it } from 'vitest';
import { parseNotifyConfig } from './config.ts';
import { inhibitedBy } from './inhibit.ts';

const { inhibitRules } = parseNotifyConfig({
  route: { receiver: 'r' },
  receivers: [{ name: 'r' }],
  inhibit_rules: [
    { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['cluster'] },
    { source_matchers: ['alertname="NodeDown"'], target_matchers: ['alertname=~".+"'], equal: ['host'] },
  ],
});

const a = (fingerprint: string, labels: Record<string, string>) => ({ fingerprint, labels });
const critical = a('c1', { alertname: 'Disk', severity: 'critical', cluster: 'eu' });
const nodeDown = a('n1', { alertname: 'NodeDown', host: 'h1', severity: 'critical' });

it.each([
  ['warning in the same cluster', a('w', { severity: 'warning', cluster: 'eu' }), ['c1']],
  ['warning in another cluster', a('w', { severity: 'warning', cluster: 'us' }), []],
  ['a missing label equals a missing label', a('w', { severity: 'warning' }), ['n1']],
  ['critical is not a target', a('x', { severity: 'critical', cluster: 'eu' }), []],
  ['anything on the down host', a('y', { alertname: 'HighCpu', host: 'h1' }), ['n1']],
  ['the source does not inhibit itself', nodeDown, []],
])('%s', (_name, target, expected) => {
  expect(inhibitedBy(inhibitRules, target, [critical, nodeDown])).toEqual(expected);
});
