/**
 * What Kafka adds over the contract, against the real broker: partitions shared by a consumer
 * group, keys that keep a series on one partition, the dead-letter topic, and lag in stats().
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MetricPoint } from '../../../core/model.ts';
import type { BusRecord, Subscription } from '../../../core/ports.ts';
import { decodePoints, encodePoints } from '../../codec/points-codec.ts';
import { createRecorder } from '../contract.ts';
import type { KafkaBus } from './kafka-bus.ts';
import { DLQ_HEADERS } from './record-mapping.ts';
import { skipWithoutBroker, testBus, unique } from './test-broker.ts';

const skip = await skipWithoutBroker('Kafka bus groups');
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const wait = { timeout: 60_000, interval: 50 };

describe.skipIf(skip)('kafka bus on a real broker', () => {
  const buses: KafkaBus[] = [];
  const subs: Subscription[] = [];
  const open = async (options: Parameters<typeof testBus>[0] = {}) => {
    const bus = await testBus(options);
    buses.push(bus);
    return bus;
  };

  afterEach(async () => {
    for (const s of subs.splice(0)) await s.close();
    for (const b of buses.splice(0)) await b.close();
  });

  it('keeps all records of one key on one partition, spread over the partitions', async () => {
    const bus = await open();
    const topic = unique('keys');
    const keys = Array.from({ length: 30 }, (_, i) => `series-${i}`);
    await bus.publish(
      topic,
      keys.flatMap((key) => Array.from({ length: 5 }, (_, i) => ({ key, value: text(`${key}/${i}`) }))),
    );
    const rec = createRecorder();
    subs.push(await bus.subscribe({ topic, group: unique('g'), onBatch: rec.onBatch }));
    await rec.until(150);
    const partitionOf = new Map<string, Set<number>>();
    for (const r of rec.records)
      partitionOf.set(r.key!, (partitionOf.get(r.key!) ?? new Set()).add(r.partition));
    expect([...partitionOf.values()].every((p) => p.size === 1)).toBe(true);
    expect(new Set(rec.records.map((r) => r.partition)).size).toBeGreaterThan(3);
    for (const key of keys) {
      const mine = rec.records.filter((r) => r.key === key).map((r) => str(r.value));
      expect(mine).toEqual([0, 1, 2, 3, 4].map((i) => `${key}/${i}`));
    }
    const stats = (await bus.stats()).filter((s) => s.topic === topic);
    expect(stats.map((s) => s.partition)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(stats.reduce((n, s) => n + s.endOffset, 0)).toBe(150);
  });

  it('shares partitions between two hubs of one group and loses nothing when one leaves mid-stream', async () => {
    const [hubA, hubB, publisher] = [await open(), await open(), await open()];
    const topic = unique('shared');
    const group = unique('g');
    const a = createRecorder();
    const b = createRecorder();
    subs.push(await hubA.subscribe({ topic, group, onBatch: a.onBatch }));
    const subB = await hubB.subscribe({ topic, group, onBatch: b.onBatch });
    subs.push(subB);
    const sent: string[] = [];
    const round = async (r: number) => {
      const batch = Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: text(`r${r}-${i}`) }));
      await publisher.publish(topic, batch);
      sent.push(...batch.map((m) => str(m.value)));
    };
    const seen = () => [...a.records, ...b.records].map((r) => str(r.value));

    // Until both members have partitions, records go to whoever holds them; wait for the split.
    let r = 0;
    await vi.waitFor(async () => {
      await round(r++);
      expect(a.records.length > 0 && b.records.length > 0).toBe(true);
    }, wait);
    const partitionsOf = (rec: typeof a) => new Set(rec.records.slice(-30).map((x) => x.partition));
    await vi.waitFor(() => expect(new Set(seen())).toEqual(new Set(sent)), wait);
    const aParts = partitionsOf(a);
    const bParts = partitionsOf(b);
    expect([...aParts].some((p) => bParts.has(p))).toBe(false);

    const streaming = (async () => {
      for (let i = 0; i < 20; i++) await round(r++);
    })();
    await a.until(a.records.length + 1);
    await subs.shift()!.close();
    const aTotal = a.records.length;
    const bAtClose = b.records.length;
    await streaming;

    await vi.waitFor(() => expect(new Set(seen())).toEqual(new Set(sent)), wait);
    expect(a.records.length).toBe(aTotal);
    // A left cleanly: it committed what it handled, so B saw none of it again.
    expect(seen()).toHaveLength(sent.length);
    const late = new Set(b.records.slice(bAtClose).map((x) => x.partition));
    expect([...aParts].every((p) => late.has(p))).toBe(true);
  });

  it('sends an undecodable record to the dead-letter topic with its reason, and the rest flows', async () => {
    const deadLetterTopic = unique('dlq');
    const bus = await open({ deadLetterTopic });
    const topic = unique('metrics');
    const point = (i: number): MetricPoint => ({
      metric: 'cpu.user',
      tags: { host: `h${i}` },
      ts: 1000 + i,
      value: i,
    });
    await bus.publish(topic, [
      { key: 'cpu.user', value: encodePoints([point(1), point(2)]) },
      { key: 'cpu.user', value: text('{not json'), headers: { agent: 'a1' } },
      { key: 'cpu.user', value: encodePoints([point(3)]) },
    ]);
    const stored: MetricPoint[] = [];
    const onBatch = async (batch: BusRecord[]) => {
      for (const r of batch) {
        try {
          stored.push(...decodePoints(r.value));
        } catch (e) {
          await bus.deadLetter(r, (e as Error).message);
        }
      }
    };
    subs.push(await bus.subscribe({ topic, group: unique('ingest'), onBatch }));
    await vi.waitFor(() => expect(stored.map((p) => p.value)).toEqual([1, 2, 3]), wait);

    const dead = createRecorder();
    subs.push(await bus.subscribe({ topic: deadLetterTopic, group: unique('ops'), onBatch: dead.onBatch }));
    await dead.until(1);
    const [r] = dead.records;
    expect(str(r!.value)).toBe('{not json');
    expect(r!.key).toBe('cpu.user');
    expect(r!.headers).toEqual({
      agent: 'a1',
      [DLQ_HEADERS.reason]: expect.stringContaining('not valid JSON'),
      [DLQ_HEADERS.topic]: topic,
      [DLQ_HEADERS.partition]: expect.stringMatching(/^[0-5]$/),
      [DLQ_HEADERS.offset]: '1',
    });
  });

  it('shows lag while a group is stopped and none once it caught up', async () => {
    const bus = await open();
    const topic = unique('lag');
    const group = unique('g');
    const lagOf = async () =>
      (await bus.stats())
        .filter((s) => s.topic === topic)
        .reduce((n, s) => n + s.groups.find((g) => g.group === group)!.lag, 0);
    const msgs = (p: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ key: `${p}${i}`, value: text(p) }));

    await bus.publish(topic, msgs('a', 10));
    const first = createRecorder();
    const sub = await bus.subscribe({ topic, group, onBatch: first.onBatch });
    await first.until(10);
    await vi.waitFor(async () => expect(await lagOf()).toBe(0), wait);
    await sub.close();

    await bus.publish(topic, msgs('b', 25));
    expect(await lagOf()).toBe(25);
    const again = createRecorder();
    subs.push(await bus.subscribe({ topic, group, onBatch: again.onBatch }));
    await vi.waitFor(async () => expect(await lagOf()).toBe(0), wait);
    expect(again.records).toHaveLength(25);
  });

  it('refuses bad input with a HubError that says where', async () => {
    const bus = await open();
    await expect(bus.publish('bad/topic', [{ value: text('x') }])).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      where: 'topic',
    });
    await expect(bus.publish('t', [{ value: 'text' as never }])).rejects.toMatchObject({ where: 't[0]' });
    await expect(bus.subscribe({ topic: 't', group: '', onBatch: async () => {} })).rejects.toMatchObject({
      where: 'group',
    });
    await bus.close();
    await expect(bus.publish('t', [{ value: text('x') }])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
