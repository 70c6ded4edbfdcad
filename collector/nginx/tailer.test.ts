import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { createMemoryLogger } from '../../core/logger.ts';
import { createTailer, type Tailer, type TailerOptions } from './tailer.ts';

let dir: string;
let tailers: Tailer[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obs-nginx-tail-'));
  tailers = [];
});

afterEach(async () => {
  for (const t of tailers) await t.stop();
  await rm(dir, { recursive: true, force: true });
});

const lines = (from: number, to: number, prefix = 'line') => {
  let s = '';
  for (let i = from; i < to; i++) s += `${prefix} ${i}\n`;
  return s;
};
const names = (from: number, to: number, prefix = 'line') =>
  Array.from({ length: to - from }, (_, i) => `${prefix} ${from + i}`);

function tailer(overrides: Partial<TailerOptions> = {}) {
  const got: string[] = [];
  const clock = new FakeClock();
  const logger = createMemoryLogger();
  const t = createTailer({
    path: join(dir, 'access.log'),
    statePath: join(dir, 'tail.state'),
    clock,
    logger,
    startAt: 'start',
    ...overrides,
    ...(overrides.onText || overrides.onLines
      ? {}
      : {
          onLines: (batch: string[]) => {
            got.push(...batch);
          },
        }),
  });
  tailers.push(t);
  return { t, got, clock, logger };
}

describe('createTailer', () => {
  it('hands over whole lines only, and the rest once its newline comes', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 3) + 'part');
    const { t, got } = tailer();
    await t.poll();
    expect(got).toEqual(names(0, 3));
    appendFileSync(log, 'ial\n' + lines(3, 5));
    await t.poll();
    expect(got).toEqual([...names(0, 3), 'partial', ...names(3, 5)]);
  });

  it('starts at the end of an existing file unless told otherwise, and at 0 for a new one', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 3) + 'half');
    const { t, got } = tailer({ startAt: 'end' });
    await t.poll();
    expect(got).toEqual([]);
    appendFileSync(log, ' done\n' + lines(3, 4));
    await t.poll();
    expect(got).toEqual(['half done', 'line 3']);
  });

  it('waits for a file that does not exist yet and reads it from its start', async () => {
    const { t, got } = tailer({ startAt: 'end' });
    await t.poll();
    writeFileSync(join(dir, 'access.log'), lines(0, 2));
    await t.poll();
    expect(got).toEqual(names(0, 2));
  });

  it('polls on the injected clock', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 1));
    const { t, got, clock } = tailer({ pollMs: 500 });
    await t.start();
    expect(got).toEqual(names(0, 1));
    appendFileSync(log, lines(1, 2));
    clock.advance(499);
    await t.poll();
    appendFileSync(log, lines(2, 3));
    clock.advance(1);
    await t.poll();
    expect(got).toEqual(names(0, 3));
  });

  it('follows a rotation by rename, draining the old file until it stays quiet', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 5));
    const { t, got, clock } = tailer({ drainMs: 5_000 });
    await t.poll();
    // nginx keeps writing to the renamed file until it reopens.
    renameSync(log, log + '.1');
    appendFileSync(log + '.1', lines(5, 8));
    await t.poll();
    expect(got).toEqual(names(0, 8));
    writeFileSync(log, lines(0, 3, 'new'));
    appendFileSync(log + '.1', lines(8, 9)); // a worker that has not reopened yet
    await t.poll();
    expect(got).toEqual([...names(0, 9), ...names(0, 3, 'new')]);
    appendFileSync(log + '.1', lines(9, 10));
    appendFileSync(log, lines(3, 4, 'new'));
    clock.advance(4_000);
    await t.poll();
    expect(got.filter((l) => l.startsWith('line'))).toEqual(names(0, 10));
    clock.advance(5_000);
    await t.poll();
    appendFileSync(log + '.1', lines(10, 11)); // after the drain: not read any more
    await t.poll();
    expect(got.filter((l) => l.startsWith('line'))).toEqual(names(0, 10));
    expect(got.filter((l) => l.startsWith('new'))).toEqual(names(0, 4, 'new'));
    expect(t.stats().rotations).toBe(1);
  });

  it('follows copytruncate, taking unread lines from the copy', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 5));
    const { t, got } = tailer();
    await t.poll();
    appendFileSync(log, lines(5, 9) + 'unfinished');
    copyFileSync(log, log + '.1');
    truncateSync(log, 0);
    appendFileSync(log, lines(0, 2, 'new'));
    await t.poll();
    expect(got).toEqual([...names(0, 9), ...names(0, 2, 'new')]);
    expect(t.stats()).toMatchObject({ truncations: 1, rescuedLines: 4 });
  });

  it('after a copytruncate, a consumer that rejects mid-copy gets the rest once, nothing twice', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 5));
    let failOnce = true;
    const got: string[] = [];
    const { t } = tailer({
      chunkBytes: 64,
      onLines: (batch) => {
        if (failOnce && batch.includes('line 30')) {
          failOnce = false;
          throw new Error('consumer unavailable');
        }
        got.push(...batch);
      },
    });
    await t.poll();
    appendFileSync(log, lines(5, 60));
    copyFileSync(log, log + '.1');
    truncateSync(log, 0);
    appendFileSync(log, lines(0, 2, 'new'));
    await t.poll();
    expect(t.stats().errors).toBe(1);
    await t.poll();
    expect(got).toEqual([...names(0, 60), ...names(0, 2, 'new')]);
    expect(t.stats()).toMatchObject({ truncations: 1, rescuedLines: 55 });
  });

  it('notices a truncation even when the file grew past the old offset before the poll', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 3));
    const { t, got } = tailer();
    await t.poll();
    truncateSync(log, 0);
    appendFileSync(log, lines(0, 50, 'new'));
    await t.poll();
    expect(got).toEqual([...names(0, 3), ...names(0, 50, 'new')]);
    expect(t.stats().truncations).toBe(1);
  });

  it('after a copytruncate with no copy, reads the file again from 0 and says lines may be missing', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 5));
    const { t, got, logger } = tailer();
    await t.poll();
    truncateSync(log, 0);
    appendFileSync(log, lines(0, 1, 'new'));
    await t.poll();
    expect(got).toEqual([...names(0, 5), 'new 0']);
    expect(logger.lines.some((l) => String(l['msg']).includes('no copy found'))).toBe(true);
  });

  it('resumes after a restart without losing or repeating a line', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 5) + 'cut');
    const first = tailer();
    await first.t.poll();
    await first.t.stop();
    appendFileSync(log, ' here\n' + lines(5, 8));
    const second = tailer({ startAt: 'end' });
    await second.t.poll();
    expect(first.got).toEqual(names(0, 5));
    expect(second.got).toEqual(['cut here', ...names(5, 8)]);
  });

  it('after a kill, hands over again the lines of the last saveEveryMs only', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 3));
    const first = tailer({ saveEveryMs: 5_000 });
    await first.t.poll();
    first.clock.advance(5_000);
    appendFileSync(log, lines(3, 6));
    await first.t.poll(); // saved: 5 s since the last write
    first.clock.advance(1_000);
    appendFileSync(log, lines(6, 8));
    await first.t.poll(); // not saved yet
    expect(first.got).toEqual(names(0, 8));
    const second = tailer(); // as if the first had been killed here
    await second.t.poll();
    expect(second.got).toEqual(names(6, 8));
  });

  it('resumes a file rotated away while stopped from the rotated name', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 5));
    const first = tailer();
    await first.t.poll();
    await first.t.stop();
    appendFileSync(log, lines(5, 7));
    renameSync(log, log + '.1');
    writeFileSync(log, lines(0, 2, 'new'));
    const second = tailer();
    await second.t.poll();
    expect([...first.got, ...second.got]).toEqual([...names(0, 7), ...names(0, 2, 'new')]);
  });

  it('resumes a file that was draining when stopped', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 2));
    const first = tailer();
    await first.t.poll();
    renameSync(log, log + '.1');
    writeFileSync(log, lines(0, 1, 'new'));
    await first.t.poll();
    await first.t.stop();
    appendFileSync(log + '.1', lines(2, 4));
    appendFileSync(log, lines(1, 2, 'new'));
    const second = tailer();
    await second.t.poll();
    expect([...first.got, ...second.got].sort()).toEqual([...names(0, 4), ...names(0, 2, 'new')].sort());
  });

  it('skips a line longer than maxLineBytes and goes on', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, `short 1\n${'x'.repeat(1000)}\nshort 2\n`);
    const oversized: number[] = [];
    const { t, got } = tailer({
      chunkBytes: 64,
      maxLineBytes: 256,
      onOversized: (bytes) => oversized.push(bytes),
    });
    await t.poll();
    expect(got).toEqual(['short 1', 'short 2']);
    expect(oversized).toEqual([256]);
    expect(t.stats().oversized).toBe(1);
  });

  it("shows a skipped line's head without cutting a character in two", async () => {
    const log = join(dir, 'access.log');
    // 'é' is two bytes in UTF-8: after the 'a', byte 200 is the second byte of one.
    writeFileSync(log, `a${'é'.repeat(500)}\nshort\n`);
    const heads: string[] = [];
    const { t, got } = tailer({
      chunkBytes: 64,
      maxLineBytes: 256,
      onOversized: (_bytes, head) => heads.push(head),
    });
    await t.poll();
    expect(got).toEqual(['short']);
    expect(heads).toEqual([`a${'é'.repeat(99)}`]);
  });

  it('grows its buffer for a line longer than a chunk', async () => {
    const log = join(dir, 'access.log');
    const long = 'y'.repeat(300);
    writeFileSync(log, `a\n${long}\nb\n`);
    const { t, got } = tailer({ chunkBytes: 64, maxLineBytes: 1024 });
    await t.poll();
    expect(got).toEqual(['a', long, 'b']);
  });

  it('turns bytes that are not UTF-8 into U+FFFD and goes on', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(
      log,
      Buffer.concat([Buffer.from('ok 1\nbad '), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('\nok 2\n')]),
    );
    const { t, got } = tailer();
    await t.poll();
    expect(got).toEqual(['ok 1', 'bad \ufffd\ufffd\u0000', 'ok 2']);
  });

  it('hands the same lines again when the consumer failed', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 3));
    const got: string[] = [];
    let fail = true;
    const { t } = tailer({
      onLines: (batch) => {
        if (fail) throw new Error('bus down');
        got.push(...batch);
      },
    });
    await t.poll();
    expect(got).toEqual([]);
    expect(t.stats().errors).toBe(1);
    fail = false;
    await t.poll();
    expect(got).toEqual(names(0, 3));
  });

  it('hands over whole chunks of text with onText', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, lines(0, 3) + 'par');
    const texts: string[] = [];
    const { t } = tailer({ onText: (text) => void texts.push(text), chunkBytes: 16 });
    await t.poll();
    appendFileSync(log, 'tial\n');
    await t.poll();
    expect(texts.join('')).toBe(lines(0, 3) + 'partial\n');
    expect(texts.every((x) => x.endsWith('\n'))).toBe(true);
    expect(t.stats().lines).toBe(4);
  });

  it('needs exactly one consumer', () => {
    const base = { path: join(dir, 'x.log'), statePath: join(dir, 'x.state'), clock: new FakeClock() };
    const logger = createMemoryLogger();
    expect(() => createTailer({ ...base, logger })).toThrow(/exactly one of onLines and onText/);
    expect(() => createTailer({ ...base, logger, onLines: () => {}, onText: () => {} })).toThrow(
      /exactly one/,
    );
  });

  it('ignores a state file it cannot read', async () => {
    writeFileSync(join(dir, 'tail.state'), '{not json');
    writeFileSync(join(dir, 'access.log'), lines(0, 2));
    const { t, got, logger } = tailer();
    await t.poll();
    expect(got).toEqual(names(0, 2));
    expect(logger.lines.some((l) => String(l['msg']).includes('unreadable state'))).toBe(true);
  });
});
