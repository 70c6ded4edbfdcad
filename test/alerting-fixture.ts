/**
 * A real hub with one alert rule (`HotRoom`: `max:e2e.temp{room=*} > 50`, every second) routed to
 * a real webhook receiver on loopback that records every payload.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { freePort, startTestHub, type TestHub, tempDir } from './harness.ts';

export type WebhookPayload = {
  version: string;
  status: string;
  externalURL: string;
  alerts: { status: string; labels: Record<string, string> }[];
};

export type AlertingHub = { hub: TestHub; received: WebhookPayload[]; stop(): Promise<void> };

const RULE = `groups:
  - name: e2e
    interval: 1s
    rules:
      - name: HotRoom
        expr: max:e2e.temp{room=*} > 50
        labels: { severity: page, project: ops }
        annotations: { summary: "{{ $labels.room }} is at {{ $value }}" }
`;

export async function startAlertingHub(): Promise<AlertingHub> {
  const received: WebhookPayload[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      received.push(JSON.parse(body) as WebhookPayload);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const tmp = await tempDir('obs-alerting-');
  const rulesDir = join(tmp.dir, 'rules');
  await mkdir(rulesDir);
  await writeFile(join(rulesDir, 'e2e.yaml'), RULE);
  const hub = await startTestHub({
    // A fixed port, as operators run it: the notifications' links point at it.
    port: await freePort(),
    dataDir: join(tmp.dir, 'data'),
    rules: rulesDir,
    notify: {
      route: {
        receiver: 'hook',
        group_by: ['alertname'],
        group_wait: '1s',
        group_interval: '1s',
        repeat_interval: '1h',
      },
      receivers: [{ name: 'hook', webhook_configs: [{ url: hookUrl }] }],
    },
  });
  return {
    hub,
    received,
    async stop() {
      await hub.stop();
      receiver.close();
      await tmp.cleanup();
    },
  };
}
