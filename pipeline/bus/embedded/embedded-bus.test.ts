import { spawnSync } from 'node:child_process';
import { constants } from 'node:fs';
import {
  appendFile,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import { createMemoryLogger } from '../../../core/logger.ts';
import type { Bus } from '../../../core/ports.ts';
import { createRecorder, runBusContract } from '../contract.ts';
import { createEmbeddedBus, type EmbeddedBusOptions } from './embedded-bus.ts';
import { Segment } from './segment.ts';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const values = (records: { value: Uint8Array }[]) => records.map((r) => str(r.value));
const msgs = (prefix: string, n: number, size = 0) =>
  Array.from({ length: n }, (_, i) => ({ value: text(`${prefix}${i}`.padEnd(size, '.')) }));

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'obs-bus-'));
}

for (const [name, extra] of [
  ['embedded', {}],
  ['embedded, 4 KiB segments', { segmentBytes: 4096 }],
  ['embedded, every read from disk', { recentBytes: 0 }],
  ['embedded, 300 bytes of recent records in memory', { recentBytes: 300 }],
] as const) {
  runBusContract(name, async () => {
    const dir = await tempDir();
    const bus = await createEmbeddedBus({ dir, ...extra });
    return {
      bus,
      async cleanup() {
        await bus.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

describe('embedded bus', () => {
  let dir: string;
  const opened: Bus[] = [];

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    for (const bus of opened.splice(0)) await bus.close();
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  const openBus = async (options: Partial<EmbeddedBusOptions> = {}) => {
    const bus = await createEmbeddedBus({ dir, ...options });
    opened.push(bus);
    return bus;
  };

  const closeBus = async (bus: Bus) => {
    opened.splice(opened.indexOf(bus), 1);
    await bus.close();
  };

  /** Reads a topic from a group's position to the end, then closes the subscription. */
  const consume = async (bus: Bus, topic: string, group: string) => {
    const end = (await bus.stats()).find((s) => s.topic === topic)!.endOffset;
    const rec = createRecorder();
    const sub = await bus.subscribe({ topic, group, onBatch: rec.onBatch, maxBatchBytes: 1024 });
    await vi.waitFor(() => expect(rec.records.at(-1)?.offset).toBe(end - 1), {
      timeout: 10_000,
      interval: 5,
    });
    await sub.close();
    return rec.records;
  };

  const segments = async (topic: string) =>
    (await readdir(join(dir, topic))).filter((n) => n.endsWith('.log')).sort();

  const lastSegment = async (topic: string) => join(dir, topic, (await segments(topic)).at(-1)!);

  it('hands a subscriber that keeps up the newest records from memory, as they were written', async () => {
    const reads = vi.spyOn(Segment.prototype, 'read');
    const bus = await openBus({ recentBytes: 1024 * 1024 });
    const buffers = msgs('m', 20).map((m, i) => ({ ...m, key: `k${i % 3}` }));
    await bus.publish('t', buffers);
    // The producer's buffers are its own again once published.
    for (const m of buffers) m.value.fill(0x21);
    const first = await consume(bus, 't', 'g1');
    expect(values(first)).toEqual(values(msgs('m', 20)));
    expect(reads).not.toHaveBeenCalled();
    // A reader's change to its record objects does not reach another group.
    for (const r of first) (r as { offset: number }).offset = -1;
    const second = await consume(bus, 't', 'g2');
    expect(second.map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(reads).not.toHaveBeenCalled();

    // After a restart nothing is in memory: the same records come from disk.
    await closeBus(bus);
    const again = await openBus({ recentBytes: 1024 * 1024 });
    const fromDisk = await consume(again, 't', 'g3');
    expect(reads).toHaveBeenCalled();
    expect(fromDisk.map(({ offset, ts, key, value }) => ({ offset, ts, key, value: str(value) }))).toEqual(
      second.map(({ offset, ts, key, value }) => ({ offset, ts, key, value: str(value) })),
    );
  });

  it('keeps offsets and committed positions across a reopen', async () => {
    const first = await openBus();
    await first.publish('t', msgs('a', 5));
    expect(values(await consume(first, 't', 'g'))).toEqual(values(msgs('a', 5)));
    await closeBus(first);

    const second = await openBus();
    await second.publish('t', msgs('b', 5));
    const records = await consume(second, 't', 'g');
    expect(records.map((r) => r.offset)).toEqual([5, 6, 7, 8, 9]);
    expect(values(records)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    const [stats] = await second.stats();
    expect(stats).toMatchObject({
      topic: 't',
      endOffset: 10,
      groups: [{ group: 'g', committed: 10, lag: 0 }],
    });
  });

  it('cuts a torn tail off the last segment and appends after the last good record', async () => {
    const first = await openBus();
    await first.publish('t', msgs('r', 10));
    await closeBus(first);
    const torn = Buffer.alloc(50, 0xab);
    torn.writeUInt32BE(1000, 0);
    await appendFile(await lastSegment('t'), torn);

    const logger = createMemoryLogger();
    const second = await openBus({ logger });
    const warning = logger.lines.find((l) => l['level'] === 'warn');
    expect(warning).toMatchObject({ topic: 't', droppedBytes: 50 });
    expect(values(await consume(second, 't', 'g'))).toEqual(values(msgs('r', 10)));
    await second.publish('t', [{ value: text('after') }]);
    const more = await consume(second, 't', 'g');
    expect(more.map((r) => [r.offset, str(r.value)])).toEqual([[10, 'after']]);
    await closeBus(second);

    const quiet = createMemoryLogger();
    const third = await openBus({ logger: quiet });
    expect(quiet.lines.filter((l) => l['level'] === 'warn')).toEqual([]);
    expect(values(await consume(third, 't', 'fresh'))).toEqual([...values(msgs('r', 10)), 'after']);
  });

  it.each([
    ['a flipped byte in the last record', async (file: string) => flipLastByte(file), 1],
    ['zeros after the last record', async (file: string) => appendFile(file, Buffer.alloc(4096)), 0],
  ])('treats %s as a torn tail', async (_name, damage, lost) => {
    const first = await openBus();
    await first.publish('t', msgs('r', 3));
    await closeBus(first);
    await damage(await lastSegment('t'));

    const logger = createMemoryLogger();
    const second = await openBus({ logger });
    expect(logger.lines.filter((l) => l['level'] === 'warn')).toHaveLength(1);
    expect((await second.stats())[0]!.endOffset).toBe(3 - lost);
    await second.publish('t', [{ value: text('new') }]);
    const records = await consume(second, 't', 'g');
    expect(values(records)).toEqual([...values(msgs('r', 3 - lost)), 'new']);
    expect(records.at(-1)!.offset).toBe(3 - lost);
  });

  it('rolls to a new segment at segmentBytes, each named by its base offset', async () => {
    const bus = await openBus({ segmentBytes: 1024 });
    for (let i = 0; i < 3; i++) await bus.publish('t', msgs(`p${i}-`, 10, 100));
    await bus.publish('t', [{ value: new Uint8Array(3000) }]);
    await bus.publish('t', [{ value: text('tail') }]);

    const names = await segments('t');
    expect(names.length).toBeGreaterThan(4);
    expect(names[0]).toBe('00000000000000000000.log');
    const bases = names.map((n) => Number(n.slice(0, 20)));
    expect(bases).toEqual([...bases].sort((a, b) => a - b));
    for (const name of names.slice(0, -2))
      expect((await stat(join(dir, 't', name))).size).toBeLessThanOrEqual(1024);
    expect(bases.at(-2)).toBe(30);
    expect(bases.at(-1)).toBe(31);

    const records = await consume(bus, 't', 'g');
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    for (const [i, name] of names.entries()) {
      const first = records.find((r) => r.offset === bases[i]);
      expect(first, name).toBeDefined();
    }
    const [stats] = await bus.stats();
    let onDisk = 0;
    for (const name of names) onDisk += (await stat(join(dir, 't', name))).size;
    expect(stats!.bytes).toBe(onDisk);

    await closeBus(bus);
    const reopened = await openBus({ segmentBytes: 1024 });
    expect(values(await consume(reopened, 't', 'other'))).toEqual(values(records));
  });

  it('deletes the oldest segments while a topic is over retentionBytes, and skips a group past them', async () => {
    const logger = createMemoryLogger();
    const bus = await openBus({ segmentBytes: 1024, retentionBytes: 3000, logger });
    await bus.publish('t', msgs('early', 5, 100));
    await consume(bus, 't', 'slow');
    for (let i = 0; i < 10; i++) await bus.publish('t', msgs(`p${i}-`, 10, 100));
    await bus.enforceRetention();

    const [stats] = await bus.stats();
    expect(stats!.bytes).toBeLessThanOrEqual(3000);
    expect(stats!.endOffset).toBe(105);
    const earliest = Number((await segments('t'))[0]!.slice(0, 20));
    expect(earliest).toBeGreaterThan(5);
    expect(stats!.groups).toEqual([{ group: 'slow', committed: 5, lag: 105 - earliest }]);

    const slow = await consume(bus, 't', 'slow');
    expect(slow[0]!.offset).toBe(earliest);
    expect(logger.lines.find((l) => l['skipped'] !== undefined)).toMatchObject({
      level: 'warn',
      group: 'slow',
      committed: 5,
      skipped: earliest - 5,
    });
    expect((await consume(bus, 't', 'fresh'))[0]!.offset).toBe(earliest);
  });

  it('deletes segments older than retentionAgeMs on a timer, never the active one', async () => {
    const clock = new FakeClock();
    const bus = await openBus({
      clock,
      segmentBytes: 1024,
      retentionAgeMs: 60_000,
      retentionCheckMs: 10_000,
    });
    await bus.publish('t', msgs('old', 20, 100));
    clock.advance(30_000);
    await bus.publish('t', msgs('new', 20, 100));
    const before = await segments('t');

    clock.advance(31_000);
    await vi.waitFor(async () => expect((await segments('t')).length).toBeLessThan(before.length), {
      interval: 5,
    });
    await bus.enforceRetention();
    const after = await segments('t');
    expect(Number(after[0]!.slice(0, 20))).toBeLessThanOrEqual(20);
    expect(Number(after[0]!.slice(0, 20))).toBeGreaterThan(0);
    const kept = values(await consume(bus, 't', 'g'));
    expect(kept.some((v) => v.startsWith('new0.'))).toBe(true);
    expect(kept.some((v) => v.startsWith('old0.'))).toBe(false);

    clock.advance(60_000);
    await vi.waitFor(async () => expect(await segments('t')).toHaveLength(1), { interval: 5 });
    expect((await bus.stats())[0]!.endOffset).toBe(40);
    await bus.publish('t', [{ value: text('still works') }]);
    expect(values(await consume(bus, 't', 'g'))).toEqual(['still works']);
  });

  it('refuses a second subscriber of one group and topic until the first is closed', async () => {
    const bus = await openBus();
    const onBatch = async () => {};
    const first = await bus.subscribe({ topic: 't', group: 'g', onBatch });
    await expect(bus.subscribe({ topic: 't', group: 'g', onBatch })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const other = await bus.subscribe({ topic: 't', group: 'h', onBatch });
    await first.close();
    const again = await bus.subscribe({ topic: 't', group: 'g', onBatch });
    await Promise.all([other.close(), again.close()]);
  });

  it('lets the batch in flight finish and commit when a subscription closes', async () => {
    const bus = await openBus();
    await bus.publish('t', msgs('r', 3));
    let release: () => void = () => {};
    let started: () => void = () => {};
    const inHandler = new Promise<void>((resolve) => {
      started = resolve;
    });
    const sub = await bus.subscribe({
      topic: 't',
      group: 'g',
      onBatch: () => {
        started();
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    await inHandler;
    let closed = false;
    const closing = sub.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    await closing;
    expect((await bus.stats())[0]!.groups).toEqual([{ group: 'g', committed: 3, lag: 0 }]);
  });

  it('backs off exponentially on the injected clock before redelivering', async () => {
    const clock = new FakeClock();
    const logger = createMemoryLogger();
    const bus = await openBus({ clock, logger });
    await bus.publish('t', msgs('r', 2));
    const rec = createRecorder((_batch, call) => {
      if (call <= 3) throw new Error(`failure ${call}`);
    });
    const sub = await bus.subscribe({ topic: 't', group: 'g', onBatch: rec.onBatch });
    const failures = () => logger.lines.filter((l) => l['retryInMs'] !== undefined);
    for (const [n, delay] of [
      [1, 100],
      [2, 200],
      [3, 400],
    ] as const) {
      await vi.waitFor(() => expect(failures()).toHaveLength(n), { interval: 5 });
      expect(failures()[n - 1]).toMatchObject({ level: 'error', retryInMs: delay, attempt: n });
      clock.advance(delay - 1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(failures()).toHaveLength(n);
      clock.advance(1);
    }
    await rec.until(2);
    expect(values(rec.records)).toEqual(['r0', 'r1']);
    await sub.close();
  });

  it('writes and syncs concurrent publishes together (group commit)', async () => {
    const bus = await openBus();
    await bus.publish('t', [{ value: text('warm up') }]);
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write(): Promise<unknown>; datasync(): Promise<void> };
    await probe.close();
    const write = vi.spyOn(proto, 'write');
    const datasync = vi.spyOn(proto, 'datasync');
    await Promise.all(Array.from({ length: 50 }, (_, i) => bus.publish('t', msgs(`p${i}-`, 10))));
    // Each write is synced by itself (O_DSYNC) or followed by an fdatasync where there is none.
    expect(write.mock.calls.length).toBeGreaterThan(0);
    expect(write.mock.calls.length).toBeLessThan(10);
    expect(datasync.mock.calls.length).toBeLessThan(10);
    expect((await bus.stats())[0]!.endOffset).toBe(501);
  });

  it.runIf(process.platform === 'linux')(
    'writes segment files with O_DSYNC: a write returns once it is on disk',
    async () => {
      const bus = await openBus();
      await bus.publish('t', [{ value: text('durable') }]);
      const flags: number[] = [];
      for (const fd of await readdir('/proc/self/fd')) {
        const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
        if (!target.startsWith(dir) || !target.endsWith('.log')) continue;
        const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
        const m = /^flags:\s+([0-7]+)/m.exec(info);
        if (m) flags.push(Number.parseInt(m[1]!, 8));
      }
      expect(flags.length).toBeGreaterThan(0);
      for (const f of flags) expect(f & constants.O_DSYNC).toBe(constants.O_DSYNC);
    },
  );

  it('sends a record to the dead-letter topic with its reason and origin headers', async () => {
    const bus = await openBus({ deadLetterTopic: 'dlq' });
    await bus.publish('t', [{ key: 'k', value: text('{bad'), headers: { agent: 'a1' } }]);
    const [record] = await consume(bus, 't', 'g');
    await bus.deadLetter!(record!, 'not JSON');
    const [dead] = await consume(bus, 'dlq', 'ops');
    expect(dead!.key).toBe('k');
    expect(str(dead!.value)).toBe('{bad');
    expect(dead!.headers).toEqual({
      agent: 'a1',
      'obs-dlq-reason': 'not JSON',
      'obs-dlq-topic': 't',
      'obs-dlq-partition': '0',
      'obs-dlq-offset': '0',
    });
  });

  it('refuses bad input with a HubError that says what and where', async () => {
    const bus = await openBus();
    await expect(bus.publish('../etc', msgs('x', 1))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      where: 'topic',
    });
    await expect(bus.publish('t', [{ value: 'text' as never }])).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      where: 't[0]',
    });
    await expect(bus.publish('t', [{ value: text('x'), headers: { n: 1 as never } }])).rejects.toBeInstanceOf(
      HubError,
    );
    await expect(bus.subscribe({ topic: 't', group: '', onBatch: async () => {} })).rejects.toMatchObject({
      where: 'group',
    });
    await closeBus(bus);
    await expect(bus.publish('t', msgs('x', 1))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('refuses a directory that a live process holds, and takes over a stale lock', async () => {
    await writeFile(join(dir, 'LOCK'), String(process.ppid));
    await expect(createEmbeddedBus({ dir })).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(join(dir, 'LOCK'), String(dead));
    const bus = await openBus();
    expect(await readFile(join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
    await expect(createEmbeddedBus({ dir })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await closeBus(bus);
    await expect(stat(join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

async function flipLastByte(file: string): Promise<void> {
  const h = await open(file, 'r+');
  const { size } = await h.stat();
  const b = Buffer.alloc(1);
  await h.read(b, 0, 1, size - 1);
  b[0] = b[0]! ^ 0xff;
  await h.write(b, 0, 1, size - 1);
  await h.close();
}
