/**
 * Network figures from a container's own namespace, against the real kernel: a network namespace
 * made by the test, a veth pair with one end inside (10.213.N.1/30 outside, .2 inside, only between
 * the two ends), a TCP listener inside it placed in a test cgroup, and a known number of bytes each
 * way. `container.net.rx_bytes` / `tx_bytes` integrated over the interval must be within 5% of them.
 *
 * The veth MTU is raised to 65520 (as loopback has) so that per-packet headers, which the interface
 * counters include, are well under 1% of what is sent; at MTU 1500 they would be ~4.5%.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupSource } from '../../collector/containers/cgroup-source.ts';
import type { MetricPoint } from '../../core/model.ts';
import { cgroupsUnavailable, missingPrerequisite, TestCgroups, waitForLine } from './cgroup-harness.ts';

const IP = '/usr/sbin/ip';
const SENT = 20 * 1000 * 1000;
const REPLY = 10 * 1000 * 1000;

const skip = missingPrerequisite(
  'The network namespace test',
  cgroupsUnavailable() ?? (existsSync(IP) ? undefined : `${IP} is missing (Debian package iproute2)`),
);

const ip = (...args: string[]) => execFileSync(IP, args, { stdio: ['ignore', 'ignore', 'pipe'] });

const LISTENER = (host: string, reply: number) => `
const net = require('node:net');
const server = net.createServer((socket) => {
  let received = 0;
  socket.on('data', (d) => { received += d.length; });
  socket.on('end', () => {
    console.log('received ' + received);
    socket.end(Buffer.alloc(${reply}, 7));
  });
});
server.listen(0, '${host}', () => console.log('listening ' + server.address().port));
setTimeout(() => process.exit(0), 180000);
`;

function send(host: string, port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let back = 0;
    const socket = connect({ host, port }, () => socket.end(Buffer.alloc(bytes, 1)));
    socket.on('data', (d) => {
      back += d.length;
    });
    socket.on('close', () => resolve(back));
    socket.on('error', reject);
  });
}

const value = (points: MetricPoint[], metric: string) => points.find((p) => p.metric === metric)?.value;

describe.skipIf(skip)('network counters from a real network namespace', () => {
  const suffix = randomBytes(3).toString('hex');
  const ns = `obs-test-${suffix}`;
  const outside = `obs${suffix}o`;
  const inside = `obs${suffix}i`;
  const net = `10.213.${randomInt(256)}`;
  let cgroups: TestCgroups;

  beforeAll(async () => {
    cgroups = new TestCgroups();
    ip('netns', 'add', ns);
    ip('link', 'add', outside, 'mtu', '65520', 'type', 'veth', 'peer', 'name', inside, 'mtu', '65520');
    ip('link', 'set', inside, 'netns', ns);
    ip('addr', 'add', `${net}.1/30`, 'dev', outside);
    ip('link', 'set', outside, 'up');
    ip('-n', ns, 'addr', 'add', `${net}.2/30`, 'dev', inside);
    ip('-n', ns, 'link', 'set', inside, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    await cgroups.leaf('net');
  });

  afterAll(async () => {
    await cgroups?.cleanup();
    try {
      ip('netns', 'del', ns); // takes the veth pair with it
    } catch {}
    try {
      ip('link', 'del', outside);
    } catch {}
  });

  it('integrates rx and tx rates to the bytes sent and received, within 5%', async () => {
    const listener = cgroups.spawn(cgroups.procsFiles('net'), [
      IP,
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      LISTENER(`${net}.2`, REPLY),
    ]);
    const port = Number((await waitForLine(listener, /^listening \d+$/)).split(' ')[1]);
    const source = createCgroupSource({ tags: { host: 'test-host' }, include: cgroups.include });
    const containers = (await source.list()).filter((c) => c.id === 'net');
    expect(containers).toHaveLength(1);
    expect(containers[0]!.pid).toBe(listener.pid);

    const t0 = Date.now();
    const first = await source.sample(containers, t0);
    expect(first.filter((p) => p.metric.startsWith('container.net.'))).toEqual([]);

    const received = waitForLine(listener, /^received \d+$/);
    const back = await send(`${net}.2`, port, SENT);
    expect(await received).toBe(`received ${SENT}`);
    expect(back).toBe(REPLY);
    await sleep(Math.max(0, 1000 - (Date.now() - t0)));
    const t1 = Date.now();
    const second = await source.sample(containers, t1);
    const seconds = (t1 - t0) / 1000;
    const rx = value(second, 'container.net.rx_bytes')! * seconds;
    const tx = value(second, 'container.net.tx_bytes')! * seconds;
    console.log(
      `netns: rx ${rx.toFixed(0)} B for ${SENT} sent in (${((rx / SENT - 1) * 100).toFixed(2)}%), ` +
        `tx ${tx.toFixed(0)} B for ${REPLY} sent out (${((tx / REPLY - 1) * 100).toFixed(2)}%), ` +
        `rx packets ${(value(second, 'container.net.rx_packets')! * seconds).toFixed(0)}`,
    );
    expect(Math.abs(rx - SENT) / SENT).toBeLessThan(0.05);
    expect(Math.abs(tx - REPLY) / REPLY).toBeLessThan(0.05);
    expect(value(second, 'container.net.rx_errors')).toBe(0);
    expect(value(second, 'container.net.rx_packets')).toBeGreaterThan(0);
  });
});
