import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needsUpdate, openNotificationLog } from './nflog.ts';

const H = 3_600_000;
const entry = (firing: string[], resolved: string[] = [], ts = 0) => ({ firing, resolved, ts });
const set = (...xs: string[]) => new Set(xs);

describe('needsUpdate', () => {
  it.each([
    ['nothing sent, something firing', undefined, set('a'), set(), true, 0, true],
    ['nothing sent, only resolved', undefined, set(), set('a'), true, 0, false],
    ['same firing, before repeat', entry(['a']), set('a'), set(), true, 1 * H, false],
    ['same firing, at repeat', entry(['a']), set('a'), set(), true, 4 * H, true],
    ['a new alert fires', entry(['a']), set('a', 'b'), set(), true, 1, true],
    ['one of two resolves, send_resolved', entry(['a', 'b']), set('a'), set('b'), true, 1, true],
    ['one of two resolves, no send_resolved', entry(['a', 'b']), set('a'), set('b'), false, 1, false],
    ['all resolved, without send_resolved', entry(['a']), set(), set('a'), false, 1, true],
    ['all resolved, already sent', entry([], ['a']), set(), set('a'), true, 1, false],
    ['re-fired: new startsAt', entry(['a@1']), set('a@2'), set(), true, 1, true],
    ['fired and resolved between flushes', entry([]), set(), set('a'), true, 1, false],
  ])('%s', (_name, e, firing, resolved, sendResolved, now, expected) => {
    expect(needsUpdate(e, firing, resolved, sendResolved, 4 * H, now)).toBe(expected);
  });
});

describe('openNotificationLog', () => {
  it('keeps entries across reopen and drops those past retention', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'obs-nflog-'));
    try {
      let now = 1_000;
      const log = await openNotificationLog({ dir, retention: 10_000, now: () => now });
      await log.set('{}:{}', 'r', 'webhook/0', entry(['a@1'], [], 1_000));
      await log.set('{}:{x="1"}', 'r', 'webhook/0', entry(['b@1'], [], 5_000));
      const again = await openNotificationLog({ dir, retention: 10_000, now: () => now });
      expect(again.get('{}:{}', 'r', 'webhook/0')).toEqual(entry(['a@1'], [], 1_000));
      now = 12_000;
      const later = await openNotificationLog({ dir, retention: 10_000, now: () => now });
      expect(later.get('{}:{}', 'r', 'webhook/0')).toBeUndefined();
      expect(later.entries().map((e) => e.groupKey)).toEqual(['{}:{x="1"}']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps every entry after a crash in the middle of an append', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'obs-nflog-'));
    try {
      const now = 1_000;
      const log = await openNotificationLog({ dir, retention: 10_000, now: () => now });
      await log.set('{}:{}', 'r', 'webhook/0', entry(['a@1'], [], 1_000));
      await log.set('{}:{}', 'r', 'webhook/0', entry(['a@1', 'b@1'], [], 1_100));
      await log.set('{}:{x="1"}', 'r', 'webhook/0', entry(['c@1'], [], 1_200));
      const [journal] = (await readdir(dir)).filter((f) => f.endsWith('.log'));
      await appendFile(join(dir, journal!), '["[\\"{}:{}\\",\\"r\\"');
      const again = await openNotificationLog({ dir, retention: 10_000, now: () => now });
      expect(again.entries()).toEqual([
        {
          groupKey: '{}:{}',
          receiver: 'r',
          integration: 'webhook/0',
          entry: entry(['a@1', 'b@1'], [], 1_100),
        },
        { groupKey: '{}:{x="1"}', receiver: 'r', integration: 'webhook/0', entry: entry(['c@1'], [], 1_200) },
      ]);
      // Folded into nflog.json at the reopen: the torn line is gone.
      expect(await readdir(dir)).toEqual(['nflog.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
