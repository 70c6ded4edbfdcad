import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Alert } from '../types.ts';
import { parseJournal } from './journal.ts';
import type { SeriesRecord } from './state-machine.ts';
import { createStateStore, type LoadedState, type StateSnapshot } from './state-store.ts';

function record(key: string, value: number, startsAt: number): SeriesRecord {
  return {
    key,
    tags: { host: key },
    state: 'firing',
    active: true,
    activeSince: startsAt,
    startsAt,
    keepFiringSince: null,
    lastSeenAt: startsAt + value,
    value,
    since: startsAt,
    nodata: false,
  };
}

function alertOf(rule: string, r: SeriesRecord): Alert {
  return {
    fingerprint: `${rule}/${r.key}`,
    rule,
    labels: { alertname: rule, host: r.key },
    annotations: {},
    status: 'firing',
    nodata: false,
    value: r.value,
    startsAt: r.startsAt!,
    endsAt: null,
    updatedAt: r.lastSeenAt,
    generatorURL: '',
  };
}

/** Rule name → its firing series; a rule with none has nothing active. */
type World = Record<string, SeriesRecord[]>;

const snapshotOf = (world: World): StateSnapshot[] =>
  Object.entries(world).map(([name, series]) => ({
    name,
    identity: `id-${name}`,
    origin: { kind: 'api' },
    records: series,
    alerts: series.map((s) => [s.key, alertOf(name, s)] as [string, Alert]),
  }));

/** What `load` should give back for `world`: the rules with something active. */
const expected = (world: World): LoadedState =>
  new Map(
    Object.entries(world)
      .filter(([, series]) => series.length > 0)
      .map(([name, series]) => [
        name,
        {
          identity: `id-${name}`,
          origin: { kind: 'api' },
          series,
          alerts: series.map((s) => [s.key, alertOf(name, s)] as [string, Alert]),
        },
      ]),
  );

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obs-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const logs = async () => (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();

describe('state store journal', () => {
  it('restores exactly when the last append was cut short by a crash', async () => {
    const store = createStateStore(dir);
    await store.load();
    const world: World = { a: [record('h1', 95, 1_000)], b: [record('h2', 97, 2_000)], c: [] };
    await store.saveActive(snapshotOf(world), 10_000);
    world.a = [record('h1', 96, 1_000), record('h3', 99, 11_000)];
    await store.saveActive(snapshotOf(world), 11_000, new Set(['a']));
    world.b = [];
    world.c = [record('h4', 91, 12_000)];
    await store.saveActive(snapshotOf(world), 12_000, new Set(['b', 'c']));
    // Appended, not rewritten: the snapshot still has the first state, the journal the two changes.
    expect(await logs()).toEqual(['active.1.log']);
    const journal = await readFile(join(dir, 'active.1.log'), 'utf8');
    expect(parseJournal(journal).records).toHaveLength(2);
    // kill -9 in the middle of the next append: half a line, no newline.
    await appendFile(join(dir, 'active.1.log'), '{"at":13000,"rules":{"a":{"identity":"id-a","ser');

    const restored = await createStateStore(dir).load();
    expect(restored).toEqual(expected(world));
    // The load folded the journal into the snapshot: a second start reads the same.
    expect(await logs()).toEqual([]);
    expect(await createStateStore(dir).load()).toEqual(expected(world));
  });

  it('restores exactly after compactions, and appends after a restart', async () => {
    const store = createStateStore(dir, { compactAgeMs: 0 });
    await store.load();
    const world: World = { a: [record('h1', 91, 1_000)], b: [record('h2', 92, 1_000)] };
    await store.saveActive(snapshotOf(world), 10_000);
    for (let i = 1; i <= 6; i++) {
      world.a = [record('h1', 91 + i, 1_000)];
      if (i === 3) world.b = [];
      await store.saveActive(snapshotOf(world), 10_000 + i, new Set(['a', 'b']));
    }
    // Each append made the journal due: compactions ran in the background, one at a time
    // (an append during one waits for the next); wait until the last has removed the old journals.
    await vi.waitFor(async () => {
      const snapshot = JSON.parse(await readFile(join(dir, 'active.json'), 'utf8'));
      expect(snapshot.journal).toBeGreaterThan(2);
      expect((await logs()).every((f) => f === `active.${snapshot.journal}.log`)).toBe(true);
    });
    expect(await createStateStore(dir).load()).toEqual(expected(world));

    const again = createStateStore(dir);
    await again.load();
    await again.saveActive(snapshotOf(world), 20_000);
    world.b = [record('h5', 93, 20_000)];
    await again.saveActive(snapshotOf(world), 20_001, new Set(['b']));
    expect(await createStateStore(dir).load()).toEqual(expected(world));
  });

  it('skips a bad record before the end and reports it', async () => {
    const store = createStateStore(dir);
    await store.load();
    const world: World = { a: [record('h1', 95, 1_000)] };
    await store.saveActive(snapshotOf(world), 10_000);
    await appendFile(join(dir, 'active.1.log'), 'not json\n');
    world.a = [record('h1', 99, 1_000)];
    await store.saveActive(snapshotOf(world), 11_000, new Set(['a']));
    const corrupt: string[] = [];
    expect(await createStateStore(dir).load((path) => corrupt.push(path))).toEqual(expected(world));
    expect(corrupt).toEqual([join(dir, 'active.1.log')]);
  });
});
