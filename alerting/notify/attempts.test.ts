import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openAttemptLog } from './attempts.ts';
import { backoffDelay } from './retry.ts';

const attempt = (i: number, projects: string[] = ['shop']) => ({
  ts: i,
  receiver: i % 2 ? 'odd' : 'even',
  integration: 'webhook/0',
  groupKey: '{}:{}',
  attempt: 1,
  ok: true,
  status: 200,
  durationMs: 1,
  firing: 1,
  resolved: 0,
  projects,
});

it('keeps the newest attempts across reopen, compacting the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'obs-attempts-'));
  try {
    const log = await openAttemptLog({ dir, keep: 3 });
    for (let i = 1; i <= 10; i++) log.record(attempt(i, i === 10 ? ['shop', ''] : ['shop']));
    expect(log.list().map((a) => a.id)).toEqual([10, 9, 8]);
    expect(log.list({ receiver: 'odd' }).map((a) => a.id)).toEqual([9]);
    expect(log.list({ projects: ['shop'] }).map((a) => a.id)).toEqual([9, 8]);
    expect(log.list({ since: 9, limit: 1 }).map((a) => a.id)).toEqual([10]);
    await log.flushed();
    const again = await openAttemptLog({ dir, keep: 3 });
    expect(again.list().map((a) => a.id)).toEqual([10, 9, 8]);
    again.record(attempt(11));
    expect(again.list()[0]!.id).toBe(11);
    await again.flushed();
    const lines = (await readFile(join(dir, 'attempts.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(6);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it.each([
  [1, 1_000],
  [2, 2_000],
  [3, 4_000],
  [7, 60_000],
  [20, 60_000],
])('backoff before try %i+1 is %i ms', (attempt, ms) => {
  expect(backoffDelay({ attempts: 10, initialBackoff: 1_000, maxBackoff: 60_000 }, attempt)).toBe(ms);
});
