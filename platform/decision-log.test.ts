import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryLogger, silentLogger } from '../core/logger.ts';
import { tempDir } from '../test/harness.ts';
import { openDecisionLog, parseDecisionLines } from './decision-log.ts';
import type { ScalingRecord } from './types.ts';

const record = (appId: string, ts: number, over: Partial<ScalingRecord> = {}): ScalingRecord => ({
  appId,
  ts,
  mode: 'auto',
  current: 2,
  desired: 3,
  observed: 0.8,
  target: 0.6,
  metric: 'cpu',
  action: 'scaled',
  reason: 'CPU 80 % of 1 core against 60 %: 2 → 3 instances.',
  ...over,
});

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

async function dir() {
  const t = await tempDir('obs-decisions-');
  cleanups.push(t.cleanup);
  return join(t.dir, 'platform', 'decisions.jsonl');
}

describe('parseDecisionLines', () => {
  it.each([
    ['two good lines', `${JSON.stringify(record('/a/b', 1))}\n${JSON.stringify(record('/a/b', 2))}\n`, 2, 0],
    ['a torn last line', `${JSON.stringify(record('/a/b', 1))}\n{"appId":"/a/b","ts":`, 1, 1],
    ['a line of another shape', `{"hello":1}\n${JSON.stringify(record('/a/b', 1))}\n`, 1, 1],
    ['blank lines', '\n\n', 0, 0],
  ])('%s', (_name, text, good, bad) => {
    const parsed = parseDecisionLines(text);
    expect([parsed.records.length, parsed.bad]).toEqual([good, bad]);
  });
});

describe('decision log', () => {
  it('lists newest first, filtered by app and scope, and keeps them across a reopen', async () => {
    const path = await dir();
    const log = await openDecisionLog({ path, logger: silentLogger });
    await log.append(record('/shop/web', 1));
    await log.append(record('/blog/www', 2, { action: 'none', desired: 2 }));
    await log.append(record('/shop/web', 3, { error: 'app locked by deployment d1; not forced' }));
    expect(log.list().map((r) => r.ts)).toEqual([3, 2, 1]);
    expect(log.list({ appId: '/shop/web', limit: 1 }).map((r) => r.ts)).toEqual([3]);
    expect(log.list({ accept: (id) => id.startsWith('/blog/') }).map((r) => r.appId)).toEqual(['/blog/www']);

    const again = await openDecisionLog({ path, logger: silentLogger });
    expect(again.list()).toEqual(log.list());
    expect(again.list()[0]!.error).toBe('app locked by deployment d1; not forced');
  });

  it('survives a torn last line, and says so', async () => {
    const path = await dir();
    const log = await openDecisionLog({ path, logger: silentLogger });
    await log.append(record('/shop/web', 1));
    await appendFile(path, '{"appId":"/shop/web","ts":2,"mo');
    const logger = createMemoryLogger();
    const again = await openDecisionLog({ path, logger });
    expect(again.list().map((r) => r.ts)).toEqual([1]);
    expect(logger.lines.some((l) => l['msg'] === 'Skipped unreadable lines of the decision log')).toBe(true);
  });

  it('stays bounded: memory keeps the newest, and the file is rewritten once twice as long', async () => {
    const path = await dir();
    const log = await openDecisionLog({ path, logger: silentLogger, keep: 5 });
    for (let ts = 1; ts <= 12; ts++) await log.append(record('/shop/web', ts));
    expect(log.list().map((r) => r.ts)).toEqual([12, 11, 10, 9, 8]);
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(10);
    const again = await openDecisionLog({ path, logger: silentLogger, keep: 5 });
    expect(again.list().map((r) => r.ts)).toEqual([12, 11, 10, 9, 8]);
  });
});
