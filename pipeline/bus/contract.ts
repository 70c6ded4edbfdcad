/**
 * The contract every `Bus` adapter passes: run `runBusContract` from the adapter's test file.
 * Each case uses fresh topic and group names, so a shared broker can serve all of them.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Bus, BusMessage, BusRecord, Subscription } from '../../core/ports.ts';

export type BusFixture = { bus: Bus; cleanup(): Promise<void> };

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Collects delivered records and lets a test wait for a count of them. */
export function createRecorder(handle?: (batch: BusRecord[], call: number) => Promise<void> | void) {
  const records: BusRecord[] = [];
  const batches: BusRecord[][] = [];
  let waiters: { n: number; resolve(): void }[] = [];
  let calls = 0;
  return {
    records,
    batches,
    async onBatch(batch: BusRecord[]): Promise<void> {
      calls++;
      await handle?.(batch, calls);
      batches.push(batch);
      records.push(...batch);
      const ready = waiters.filter((w) => records.length >= w.n);
      waiters = waiters.filter((w) => records.length < w.n);
      for (const w of ready) w.resolve();
    },
    /** Resolves once at least `n` records were handled successfully. */
    until(n: number): Promise<void> {
      if (records.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}

function expectStrictlyIncreasing(records: BusRecord[]): void {
  for (let i = 1; i < records.length; i++) expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset);
}

function messages(prefix: string, n: number, size = 0): BusMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${prefix}-k${i % 7}`,
    value: text(`${prefix}-${i}`.padEnd(size, '.')),
  }));
}

type Recorder = ReturnType<typeof createRecorder>;

/**
 * Publishes a marker and waits until each recorder sees it: afterwards a recorder holds
 * everything delivered before the marker, so a test can check that nothing came twice.
 */
async function drain(bus: Bus, topic: string, ...recorders: Recorder[]): Promise<void> {
  const marker = unique('marker');
  await bus.publish(topic, [{ value: text(marker) }]);
  for (const recorder of recorders) {
    await vi.waitFor(() => expect(recorder.records.some((r) => str(r.value) === marker)).toBe(true), {
      timeout: 20_000,
      interval: 20,
    });
    expect(str(recorder.records.at(-1)!.value)).toBe(marker);
  }
}

export function runBusContract(name: string, makeBus: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${name}`, () => {
    let fixture: BusFixture;
    let bus: Bus;
    const subs: Subscription[] = [];

    beforeEach(async () => {
      fixture = await makeBus();
      bus = fixture.bus;
    });

    afterEach(async () => {
      for (const s of subs.splice(0)) await s.close();
      await fixture.cleanup();
    });

    const subscribe = async (topic: string, group: string, recorder: Recorder, maxBatchBytes?: number) => {
      const sub = await bus.subscribe({ topic, group, onBatch: recorder.onBatch, maxBatchBytes });
      subs.push(sub);
      return sub;
    };

    it('delivers every published record once, in order, with key, headers and value intact', async () => {
      const topic = unique('t');
      const sent: BusMessage[] = [
        {
          key: 'series-a',
          value: new Uint8Array([0, 1, 2, 255]),
          headers: { 'content-type': 'x', ü: 'ñ €' },
        },
        { value: new Uint8Array(0) },
        { key: '', value: text('empty key') },
        { key: 'k', value: new Uint8Array(100_000).fill(7), headers: {} },
      ];
      await bus.publish(topic, sent.slice(0, 2));
      await bus.publish(topic, sent.slice(2));
      const rec = createRecorder();
      await subscribe(topic, unique('g'), rec);
      await rec.until(sent.length);
      await drain(bus, topic, rec);

      expect(rec.records).toHaveLength(sent.length + 1);
      expectStrictlyIncreasing(rec.records);
      sent.forEach((m, i) => {
        const r = rec.records[i]!;
        expect(r.topic).toBe(topic);
        expect(r.partition).toBeTypeOf('number');
        expect(r.ts).toBeTypeOf('number');
        expect(r.key).toBe(m.key);
        expect(r.headers ?? {}).toEqual(m.headers ?? {});
        expect(Buffer.from(r.value).equals(Buffer.from(m.value))).toBe(true);
      });
    });

    it('delivers records published after subscribing', async () => {
      const topic = unique('t');
      const rec = createRecorder();
      await subscribe(topic, unique('g'), rec);
      await bus.publish(topic, messages('late', 5));
      await rec.until(5);
      expect(rec.records.map((r) => str(r.value))).toEqual(messages('late', 5).map((m) => str(m.value)));
    });

    it('gives every group every record', async () => {
      const topic = unique('t');
      await bus.publish(topic, messages('m', 50));
      const a = createRecorder();
      const b = createRecorder();
      await subscribe(topic, unique('ga'), a);
      await subscribe(topic, unique('gb'), b);
      await bus.publish(topic, messages('n', 50));
      await Promise.all([a.until(100), b.until(100)]);
      await drain(bus, topic, a, b);
      const values = (r: Recorder) => r.records.slice(0, 100).map((x) => str(x.value));
      expect(values(a)).toEqual(values(b));
      expect(a.records).toHaveLength(101);
      expect(b.records).toHaveLength(101);
    });

    it('delivers a batch again after its handler fails, and commits only after success', async () => {
      const topic = unique('t');
      await bus.publish(topic, messages('m', 20));
      const attempts: number[][] = [];
      const rec = createRecorder((batch, call) => {
        attempts.push(batch.map((r) => r.offset));
        if (call === 1) throw new Error('store is down');
      });
      await subscribe(topic, unique('g'), rec);
      await rec.until(20);
      await drain(bus, topic, rec);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts[1]![0]).toBe(attempts[0]![0]);
      expect(attempts[1]!.slice(0, attempts[0]!.length)).toEqual(attempts[0]);
      expect(rec.records.map((r) => str(r.value)).slice(0, 20)).toEqual(
        messages('m', 20).map((m) => str(m.value)),
      );
      expect(rec.records).toHaveLength(21);
    });

    it('resumes a re-opened group after its last commit: nothing twice, nothing lost', async () => {
      const topic = unique('t');
      const group = unique('g');
      for (let i = 0; i < 10; i++) await bus.publish(topic, messages(`p${i}`, 20, 1024));
      let firstBatch: () => void = () => {};
      const seen = new Promise<void>((resolve) => {
        firstBatch = resolve;
      });
      const first = createRecorder(() => firstBatch());
      const sub = await bus.subscribe({ topic, group, onBatch: first.onBatch, maxBatchBytes: 10 * 1024 });
      await seen;
      await sub.close();
      const handled = first.records.length;
      expect(handled).toBeGreaterThan(0);

      await bus.publish(topic, messages('after', 50, 1024));
      const second = createRecorder();
      await subscribe(topic, group, second, 10 * 1024);
      await second.until(250 - handled);
      await drain(bus, topic, second);

      expect(first.records).toHaveLength(handled);
      const all = [...first.records, ...second.records.slice(0, -1)];
      expect(all).toHaveLength(250);
      expectStrictlyIncreasing(all);
      const expected = [
        ...Array.from({ length: 10 }, (_, i) => messages(`p${i}`, 20, 1024)).flat(),
        ...messages('after', 50, 1024),
      ].map((m) => str(m.value));
      expect(all.map((r) => str(r.value))).toEqual(expected);
    });

    it('commits no further than a handler says: a re-opened group gets the held-back records again', async () => {
      const topic = unique('t');
      const group = unique('g');
      await bus.publish(topic, messages('held', 30));
      const first = createRecorder();
      const sub = await bus.subscribe({
        topic,
        group,
        async onBatch(batch) {
          await first.onBatch(batch);
          // The first 10 records are "durable"; the handler keeps the rest for itself.
          return { commitUpTo: first.records[9]?.offset ?? batch[0]!.offset - 1 };
        },
      });
      await first.until(30);
      await sub.close();

      const second = createRecorder();
      await subscribe(topic, group, second);
      await second.until(20);
      await drain(bus, topic, second);
      expect(second.records.slice(0, -1).map((r) => str(r.value))).toEqual(
        messages('held', 30)
          .slice(10)
          .map((m) => str(m.value)),
      );
    });

    it('keeps every record of concurrent publishes, each publish in its own order', async () => {
      const topic = unique('t');
      const publishers = 25;
      const perPublish = 40;
      await Promise.all(
        Array.from({ length: publishers }, (_, p) =>
          bus.publish(
            topic,
            Array.from({ length: perPublish }, (_, i) => ({ key: `p${p}`, value: text(`${p}:${i}`) })),
          ),
        ),
      );
      const rec = createRecorder();
      await subscribe(topic, unique('g'), rec);
      await rec.until(publishers * perPublish);
      await drain(bus, topic, rec);
      const got = rec.records.slice(0, -1);
      expect(got).toHaveLength(publishers * perPublish);
      expectStrictlyIncreasing(got);
      const last = new Map<string, number>();
      for (const r of got) {
        const [p, i] = str(r.value).split(':') as [string, string];
        expect(Number(i)).toBe((last.get(p) ?? -1) + 1);
        last.set(p, Number(i));
      }
      expect(last.size).toBe(publishers);
    });

    it('reports end offsets and the lag of each group', async () => {
      const topic = unique('t');
      const group = unique('g');
      await bus.publish(topic, messages('m', 30));
      const rec = createRecorder();
      await subscribe(topic, group, rec);
      await rec.until(30);
      const end = rec.records.at(-1)!.offset + 1;
      await vi.waitFor(
        async () => {
          const stats = (await bus.stats()).find((s) => s.topic === topic);
          expect(stats?.endOffset).toBe(end);
          expect(stats?.groups.find((g) => g.group === group)).toEqual({ group, committed: end, lag: 0 });
        },
        { timeout: 20_000, interval: 20 },
      );
    });
  });
}
