/**
 * The leader election of hubs sharing a Kafka broker (pipeline/bus/kafka/kafka-leader.ts), on the
 * real broker: one member of a group leads; it keeps the leadership when others join; another
 * takes over when it leaves, and when its process is killed without leaving (after the session
 * timeout).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Leadership } from '../../core/ports.ts';
import type { KafkaBus } from '../../pipeline/bus/kafka/kafka-bus.ts';
import { chooseLeader } from '../../pipeline/bus/kafka/kafka-leader.ts';
import { skipWithoutBroker, TEST_BROKER, testBus, unique } from '../../pipeline/bus/kafka/test-broker.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const skip = await skipWithoutBroker('Kafka leader election');
const SESSION_MS = 6000;
const wait = { timeout: 45_000, interval: 100 };

describe('choosing the leader of a group', () => {
  it('keeps the member that leads, else takes the first by id', () => {
    expect(chooseLeader([])).toBeUndefined();
    expect(
      chooseLeader([
        { memberId: 'b', leads: false },
        { memberId: 'a', leads: false },
      ]),
    ).toBe('a');
    expect(
      chooseLeader([
        { memberId: 'a', leads: false },
        { memberId: 'c', leads: true },
        { memberId: 'b', leads: false },
      ]),
    ).toBe('c');
    // After a split two members may both claim it: the first by id keeps it.
    expect(
      chooseLeader([
        { memberId: 'd', leads: true },
        { memberId: 'c', leads: true },
      ]),
    ).toBe('c');
  });
});

describe.skipIf(skip)('leader election on a real broker', () => {
  const buses: KafkaBus[] = [];
  const children: ChildProcess[] = [];
  const admin = new Kafka({ brokers: [TEST_BROKER], logLevel: logLevel.NOTHING }).admin();
  let topic = '';

  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const b of buses.splice(0)) await b.close();
  });

  const join = async (group: string) => {
    const bus = await testBus({ leader: { topic, sessionTimeoutMs: SESSION_MS } });
    buses.push(bus);
    return bus.lead(group);
  };
  const leaders = (all: Leadership[]) => all.filter((l) => l.leads()).length;
  /** Waits until the group is stable with `n` members, each with its assignment. */
  const stable = (group: string, n: number) =>
    vi.waitFor(async () => {
      const [g] = (await admin.describeGroups([group])).groups;
      expect(g?.state).toBe('Stable');
      expect(g?.members).toHaveLength(n);
    }, wait);

  it('gives the leadership to one member, keeps it there as others join, and moves it when the leader leaves', async () => {
    topic = unique('leader');
    const group = unique('hubs');
    const first = await join(group);
    await vi.waitFor(() => expect(first.leads()).toBe(true), wait);
    const changes: boolean[] = [];
    first.onChange((leads) => changes.push(leads));

    const others = [await join(group), await join(group)];
    await stable(group, 3);
    expect(first.leads()).toBe(true);
    expect(leaders(others)).toBe(0);
    expect(changes).toEqual([]);

    await first.close();
    await vi.waitFor(() => expect(leaders(others)).toBe(1), wait);
    await stable(group, 2);
    expect(leaders(others)).toBe(1);
  }, 90_000);

  it('moves the leadership away from a killed process after the session timeout', async () => {
    topic = unique('leader');
    const group = unique('hubs');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/bus/leader-child.ts', group, topic], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await vi.waitFor(() => expect(out).toContain('leads'), wait);

    const follower = await join(group);
    await stable(group, 2);
    expect(follower.leads()).toBe(false);

    const killedAt = Date.now();
    child.kill('SIGKILL');
    await vi.waitFor(() => expect(follower.leads()).toBe(true), wait);
    // Kafka waits for the dead member's session to expire: not before, not much after.
    const took = Date.now() - killedAt;
    expect(took).toBeGreaterThanOrEqual(SESSION_MS - 1000);
    expect(took).toBeLessThan(SESSION_MS + 20_000);
  }, 90_000);
});
