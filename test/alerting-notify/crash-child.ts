/**
 * Child process of restart.test.ts: a notification pipeline on the system clock, fed like the rule
 * engine feeds it (every 50 ms). Commands on stdin: `fire` (the alert fires), `resolve` (it
 * resolves, reported once). Prints `flushed` once every group has been flushed with nothing in
 * flight after a command.
 * Usage: node --import tsx test/alerting-notify/crash-child.ts <data dir> <receiver url> <startsAt>
 */
import { createInterface } from 'node:readline';
import { parseNotifyConfig } from '../../alerting/notify/config.ts';
import { createNotifyPipeline } from '../../alerting/notify/pipeline.ts';
import { makeAlert, resolved, seen } from '../../alerting/notify/testing.ts';
import type { Alert } from '../../alerting/types.ts';
import { systemClock } from '../../core/clock.ts';

const [dir, url, startsAt] = process.argv.slice(2);
if (!dir || !url || !startsAt) throw new Error('usage: crash-child.ts <dir> <url> <startsAt>');

const config = parseNotifyConfig({
  route: { receiver: 'pager', group_by: ['alertname'], group_wait: '200ms', group_interval: '300ms' },
  receivers: [
    {
      name: 'pager',
      webhook_configs: [{ url: `${url}/hook` }],
      pagerduty_configs: [{ routing_key: 'crash-test', url: `${url}/pd` }],
    },
  ],
});
const pipeline = await createNotifyPipeline({ config, dataDir: dir, clock: systemClock });
const alert = makeAlert({ alertname: 'ApiDown', app: 'api', severity: 'page' }, Number(startsAt));

let state: 'idle' | 'firing' | 'resolving' | 'resolved' = 'idle';
let reported = true;

setInterval(async () => {
  const now = systemClock.now();
  let alerts: Alert[] = [];
  if (state === 'firing') alerts = [seen(alert, now)];
  if (state === 'resolving') {
    alerts = [resolved(alert, now)];
    state = 'resolved';
  }
  await pipeline.update(alerts, now);
  await pipeline.idle();
  if (!reported && pipeline.groups().every((g) => g.hasFlushed)) {
    reported = true;
    process.stdout.write('flushed\n');
  }
}, 50);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'fire') state = 'firing';
  if (line === 'resolve') state = 'resolving';
  reported = false;
});
