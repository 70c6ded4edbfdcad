/**
 * Two `obs hub` processes on one Kafka broker with the same rules and receivers: one leads and
 * pages, the other only evaluates. When the leader is killed, the other takes over after the
 * election's session timeout and sends the alert still firing once, from itself.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TEST_BROKER } from '../../pipeline/bus/kafka/test-broker.ts';
import { type ChildHub, eventually, spawnHub, tempDir } from '../harness.ts';
import {
  deleteGroup,
  killHub,
  runId,
  skipWithout,
  startGroupAtEnd,
  stopHub,
  waitForGroup,
} from './scale-out-harness.ts';

const skip = await skipWithout('leader election of hubs', ['kafka']);

type Payload = { status: string; alerts: { labels: Record<string, string> }[] };
/** A payload and the hub that sent it: each hub's webhook URL ends with its name. */
type Received = { from: string; payload: Payload };

describe.skipIf(skip)('two hubs on one broker elect the one that pages', () => {
  const received: Received[] = [];
  const hubs: ChildHub[] = [];
  let receiver: Server;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const group = runId('leader');

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        received.push({ from: req.url?.split('/').pop() ?? '', payload: JSON.parse(body) as Payload });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    tmp = await tempDir('obs-leader-');
    await mkdir(join(tmp.dir, 'rules'));
    await writeFile(
      join(tmp.dir, 'rules', 'watchdog.yaml'),
      stringify({ rules: [{ name: 'Watchdog', expr: '1', interval: '1s', labels: { severity: 'none' } }] }),
    );
    const port = (receiver.address() as { port: number }).port;
    for (const name of ['a', 'b'])
      await writeFile(
        join(tmp.dir, `${name}.yaml`),
        stringify({
          bus: { kafka: { group } },
          rules: join(tmp.dir, 'rules'),
          notify: {
            route: { receiver: 'hook', group_wait: '0s', group_interval: '1s', repeat_interval: '1h' },
            receivers: [
              { name: 'hook', webhook_configs: [{ url: `http://127.0.0.1:${port}/hook/${name}` }] },
            ],
          },
        }),
      );
    await startGroupAtEnd(group);
  }, 60_000);

  afterAll(async () => {
    for (const h of hubs) await stopHub(h);
    await deleteGroup(group);
    receiver?.close();
    await tmp?.cleanup();
  });

  const spawn = async (name: string) => {
    const hub = await spawnHub(join(tmp.dir, name), [
      '--config',
      join(tmp.dir, `${name}.yaml`),
      '--no-agent',
      '--bus',
      'kafka',
      '--kafka-brokers',
      TEST_BROKER,
    ]);
    hubs.push(hub);
    return hub;
  };
  const leaderCheck = async (hub: ChildHub) =>
    ((await (await fetch(`${hub.url}healthz`)).json()) as { checks: Record<string, string> }).checks[
      'leader'
    ];
  const firingFrom = (name: string) =>
    received.filter((r) => r.from === name && r.payload.status === 'firing').length;

  it('pages once from the leader, and once from the other hub after the leader is killed', async () => {
    const first = await spawn('a');
    await eventually(async () => expect(await leaderCheck(first)).toMatch(/^leads its group/), 30_000);
    const second = await spawn('b');
    await waitForGroup(`${group}-leader`, 2);
    expect(await leaderCheck(second)).toMatch(/^follows/);
    expect(await leaderCheck(first)).toMatch(/^leads its group/);
    const metrics = await (await fetch(`${second.url}metrics`)).text();
    expect(metrics).toMatch(/^obs_leader 0$/m);

    await eventually(async () => expect(firingFrom('a')).toBe(1), 20_000);
    // Both hubs evaluate the watchdog every second; only the leader's notifications leave.
    await new Promise((r) => setTimeout(r, 4000));
    expect(firingFrom('a')).toBe(1);
    expect(firingFrom('b')).toBe(0);

    await killHub(first);
    await eventually(async () => expect(await leaderCheck(second)).toMatch(/^leads its group/), 45_000);
    await eventually(async () => expect(firingFrom('b')).toBe(1), 20_000);
    expect(received.filter((r) => r.payload.status === 'firing')).toHaveLength(2);
    expect(received.every((r) => r.payload.alerts.some((a) => a.labels['alertname'] === 'Watchdog'))).toBe(
      true,
    );
  }, 150_000);
});
