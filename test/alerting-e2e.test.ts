/**
 * From a point to a page, through the real hub: a point over a rule's threshold reaches a real
 * webhook receiver as Alertmanager's payload, once; the point back under it sends the resolve.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, postJson, startTestHub, type TestHub, tempDir } from './harness.ts';

type Payload = {
  version: string;
  status: string;
  alerts: { status: string; labels: Record<string, string> }[];
};

describe('alerting end to end', () => {
  let hub: TestHub | undefined;
  let receiver: Server | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await hub?.stop();
    receiver?.close();
    await cleanup?.();
  });

  it('pages once when a point crosses the threshold, and resolves', async () => {
    const received: Payload[] = [];
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        received.push(JSON.parse(body) as Payload);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

    const tmp = await tempDir('obs-alert-e2e-');
    cleanup = tmp.cleanup;
    const rulesDir = join(tmp.dir, 'rules');
    await mkdir(rulesDir);
    await writeFile(
      join(rulesDir, 'e2e.yaml'),
      'groups:\n  - name: e2e\n    interval: 1s\n    rules:\n      - name: HotRoom\n        expr: max:e2e.temp{room=*} > 50\n        labels: { severity: page, project: ops }\n        annotations: { summary: "{{ $labels.room }} is at {{ $value }}" }\n',
    );
    hub = await startTestHub({
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
    const put = (value: number) =>
      postJson(`${hub!.url}api/put`, {
        metric: 'e2e.temp',
        timestamp: Date.now(),
        value,
        tags: { room: 'a' },
      });
    expect((await put(70)).status).toBe(204);
    await eventually(async () => expect(received.length).toBeGreaterThanOrEqual(1), 20_000);
    const first = received[0]!;
    expect(first.version).toBe('4');
    expect(first.status).toBe('firing');
    expect(first.alerts[0]!.labels).toMatchObject({
      alertname: 'HotRoom',
      room: 'a',
      severity: 'page',
      project: 'ops',
    });

    await new Promise((r) => setTimeout(r, 3000)); // several evaluations and group intervals: no second page
    expect(received.filter((p) => p.status === 'firing')).toHaveLength(1);

    expect((await put(20)).status).toBe(204);
    await eventually(async () => expect(received.some((p) => p.status === 'resolved')).toBe(true), 20_000);
  }, 60_000);
});
