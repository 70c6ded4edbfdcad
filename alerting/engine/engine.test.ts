import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { createMemoryLogger } from '../../core/logger.ts';
import type { ProjectScope } from '../../core/ports.ts';
import { parseRuleFile } from '../rules/load.ts';
import { createRuleEngine, type RuleEngine, type RuleSource } from './engine.ts';
import { createFeedSource, createRecordingSink, type FeedSource, type RecordingSink } from './testing.ts';

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;
const HOST = { host: 'h1' };

const HYSTERESIS = `
rules:
  - name: CpuHigh
    expr: avg:cpu{host=*}
    fire: "> 90"
    clear: "< 80"
    lookback: 30s
    nodata_after: 30s
    labels: { severity: page }
    annotations: { summary: "{{ $labels.host }} at {{ $value }}" }
`;

type Setup = {
  engine: RuleEngine;
  clock: FakeClock;
  feed: FeedSource;
  sink: RecordingSink;
  step(v?: number): Promise<void>;
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'obs-engine-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function setup(
  yaml: string,
  options: { dataDir?: string; clock?: FakeClock; feed?: FeedSource } = {},
): Promise<Setup> {
  const loaded = parseRuleFile(yaml, 'test.yaml');
  expect(loaded.errors).toEqual([]);
  const clock = options.clock ?? new FakeClock(T0);
  const feed = options.feed ?? createFeedSource();
  const sink = createRecordingSink();
  const engine = createRuleEngine({
    source: feed,
    sink,
    clock,
    rules: loaded.rules,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  await engine.start();
  await engine.idle();
  cleanups.push(() => engine.stop());
  return {
    engine,
    clock,
    feed,
    sink,
    async step(v) {
      if (v !== undefined) feed.add('cpu', HOST, clock.now() + 10 * S, v);
      clock.advance(10 * S);
      await engine.idle();
    },
  };
}

async function steps(s: Setup, values: (number | undefined)[]): Promise<void> {
  for (const v of values) await s.step(v);
}

describe('rule engine on a fake clock', () => {
  it('pages once for a value oscillating around the threshold (hysteresis), at every crossing without it', async () => {
    const values = [85, 95, 88, 93, 86, 91, 87, 92, 89, 94];
    const s = await setup(HYSTERESIS);
    await steps(s, values);
    expect(s.sink.pages.map((a) => a.labels)).toEqual([
      { alertname: 'CpuHigh', host: 'h1', severity: 'page' },
    ]);
    expect(s.sink.resolves).toEqual([]);
    expect(s.sink.last()[0]?.annotations['summary']).toBe('h1 at 94');

    const plain = await setup('rules: [{ name: CpuHigh, expr: "avg:cpu{host=*} > 90" }]');
    await steps(plain, values);
    expect(plain.sink.pages).toHaveLength(5);
  });

  it('for: holds the series pending, reported by alerts() but not sent, then fires', async () => {
    const s = await setup('rules: [{ name: CpuHigh, expr: "avg:cpu{host=*} > 90", for: 30s }]');
    await steps(s, [95, 95]);
    expect(s.engine.alerts()).toMatchObject([
      { rule: 'CpuHigh', state: 'pending', value: 95, activeSince: T0 + 10 * S },
    ]);
    expect(s.sink.last()).toEqual([]);
    await steps(s, [95, 95]);
    expect(s.sink.last()).toMatchObject([{ status: 'firing', startsAt: T0 + 40 * S, value: 95 }]);
    expect(s.engine.rules()[0]).toMatchObject({ name: 'CpuHigh', health: 'ok', series: { firing: 1 } });
  });

  it('data that stops gives nodata, not resolved: the same alert, flagged, and no resolve', async () => {
    const s = await setup(HYSTERESIS);
    await steps(s, [95, 95]);
    const [fired] = s.sink.last();
    await steps(s, Array(12).fill(undefined));
    expect(s.sink.resolves).toEqual([]);
    expect(s.sink.pages).toHaveLength(1);
    const [now] = s.sink.last();
    expect(now).toMatchObject({ status: 'firing', nodata: true, value: null, startsAt: fired!.startsAt });
    expect(now!.fingerprint).toBe(fired!.fingerprint);
    expect(now!.annotations['summary']).toBe('h1 at nodata');
    expect(s.engine.alerts()).toMatchObject([{ state: 'nodata', nodata: true }]);
    const history = await s.engine.history({ rule: 'CpuHigh' });
    expect(history.map((h) => `${h.from}>${h.to}`)).toEqual(['firing>nodata', 'inactive>firing']);
    // Data back below the clear threshold: now it resolves, once.
    await steps(s, [50]);
    expect(s.sink.resolves).toMatchObject([{ fingerprint: fired!.fingerprint, startsAt: fired!.startsAt }]);
  });

  it('keep_firing_for: keeps firing after the condition clears, then resolves', async () => {
    const s = await setup('rules: [{ name: CpuHigh, expr: "avg:cpu{host=*} > 90", keep_firing_for: 30s }]');
    await steps(s, [95, 50, 50, 50]);
    expect(s.sink.last()).toMatchObject([{ status: 'firing', value: 50 }]);
    expect(s.sink.resolves).toEqual([]);
    await steps(s, [50]);
    expect(s.sink.last()).toMatchObject([{ status: 'resolved', endsAt: T0 + 50 * S }]);
    expect(s.sink.pages).toHaveLength(1);
  });

  it('restart from the persisted state: the firing alert keeps its startsAt, and the later resolve is sent', async () => {
    const dataDir = await tempDir();
    const first = await setup(HYSTERESIS, { dataDir });
    await steps(first, [95, 95]);
    const [fired] = first.sink.pages;
    expect(fired).toBeDefined();
    // No stop(): as after a crash, only what each cycle wrote is there.
    const clock = new FakeClock(first.clock.now() + 5 * S);
    const feed = createFeedSource();
    for (let i = 0; i < first.feed.series[0]!.ts.length; i++)
      feed.add('cpu', HOST, first.feed.series[0]!.ts[i]!, first.feed.series[0]!.values[i]!);
    const second = await setup(HYSTERESIS, { dataDir, clock, feed });
    expect(second.sink.last()).toMatchObject([
      { fingerprint: fired!.fingerprint, startsAt: fired!.startsAt },
    ]);
    await steps(second, [85]);
    expect(second.sink.last()).toMatchObject([{ status: 'firing', startsAt: fired!.startsAt }]);
    await steps(second, [70]);
    expect(second.sink.last()).toMatchObject([
      { status: 'resolved', fingerprint: fired!.fingerprint, startsAt: fired!.startsAt, endsAt: clock.now() },
    ]);
    const history = (await readFile(join(dataDir, 'history.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(history.map((h) => `${h.from}>${h.to}`)).toEqual(['inactive>firing', 'firing>resolved']);
  });

  it('a state file that cannot be read is moved aside and reported; the engine starts without it', async () => {
    const dataDir = await tempDir();
    await writeFile(join(dataDir, 'active.json'), '{"version":1,"rules":{');
    const logger = createMemoryLogger();
    const engine = createRuleEngine({
      source: createFeedSource(),
      sink: createRecordingSink(),
      clock: new FakeClock(T0),
      dataDir,
      logger,
    });
    await engine.start();
    await engine.idle();
    await engine.stop();
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'error', path: join(dataDir, 'active.json') }),
    );
    expect((await readdir(dataDir)).some((f) => f.startsWith('active.json.corrupt-'))).toBe(true);
  });

  it('a failing store changes no state: firing stays firing, the rule reports the error', async () => {
    const feed = createFeedSource();
    let failing = false;
    const source: FeedSource = {
      ...feed,
      query: (q) => (failing ? Promise.reject(new Error('store down')) : feed.query(q)),
    };
    const s = await setup(HYSTERESIS, { feed: source });
    await steps(s, [95]);
    failing = true;
    await steps(s, [95, 95, 95, 95, 95]);
    expect(s.sink.last()).toMatchObject([{ status: 'firing', nodata: false, value: 95 }]);
    expect(s.engine.rules()[0]).toMatchObject({ health: 'error', lastEvaluation: { error: 'store down' } });
  });

  it('a watchdog (expr: 1) fires without any data', async () => {
    const s = await setup('rules: [{ name: Watchdog, expr: 1, labels: { severity: none } }]');
    expect(s.sink.last()).toMatchObject([
      { rule: 'Watchdog', status: 'firing', labels: { alertname: 'Watchdog', severity: 'none' } },
    ]);
    await steps(s, [undefined, undefined]);
    expect(s.sink.pages).toHaveLength(1);
  });

  it('evaluates each rule at its own interval', async () => {
    const s = await setup(`
rules:
  - { name: Fast, expr: "avg:cpu{host=*} > 90", interval: 10s }
  - { name: Slow, expr: "avg:cpu{host=*} > 90", interval: 30s }
`);
    await steps(s, [95, 95, 95, 95, 95, 95]);
    expect(s.engine.rule('Fast')?.lastEvaluation?.at).toBe(T0 + 60 * S);
    expect(s.engine.rule('Slow')?.lastEvaluation?.at).toBe(T0 + 60 * S);
    await steps(s, [95]);
    expect(s.engine.rule('Fast')?.lastEvaluation?.at).toBe(T0 + 70 * S);
    expect(s.engine.rule('Slow')?.lastEvaluation?.at).toBe(T0 + 60 * S);
  });
});

describe('rules made through the API', () => {
  it('are checked, stored in the data dir, run, changed and removed (their alerts resolved)', async () => {
    const dataDir = await tempDir();
    const s = await setup('rules: []', { dataDir });
    await expect(
      s.engine.createRule({ name: 'Bad', expr: 'avg:cpu{host=*} > )' }, { name: 'ann' }),
    ).rejects.toThrow(/expr: unexpected "\)" at column 19/);
    const created = await s.engine.createRule(
      { name: 'CpuHigh', expr: 'avg:cpu{host=*} > 90', labels: { project: 'push' } },
      { name: 'ann', scope: ['push'] },
    );
    expect(created).toMatchObject({
      name: 'CpuHigh',
      project: 'push',
      origin: { kind: 'api', author: 'ann', scope: ['push'] },
    });
    await expect(s.engine.createRule({ name: 'CpuHigh', expr: '1' }, { name: 'ann' })).rejects.toThrow(
      /already exists/,
    );
    const stored = JSON.parse(await readFile(join(dataDir, 'api-rules.json'), 'utf8'));
    expect(stored.rules).toMatchObject([{ spec: { name: 'CpuHigh' }, scope: ['push'], author: 'ann' }]);

    await steps(s, [95]);
    expect(s.sink.last()).toMatchObject([{ rule: 'CpuHigh', status: 'firing' }]);
    // A change of annotations keeps the alert; a change of the expression starts over.
    await s.engine.updateRule(
      'CpuHigh',
      { expr: 'avg:cpu{host=*} > 90', labels: { project: 'push' }, annotations: { a: 'b' } },
      { name: 'ann' },
    );
    await steps(s, [95]);
    expect(s.sink.pages).toHaveLength(1);
    expect(s.sink.last()[0]?.annotations).toEqual({ a: 'b' });
    await s.engine.deleteRule('CpuHigh');
    await steps(s, [95]);
    expect(s.sink.resolves).toMatchObject([{ rule: 'CpuHigh' }]);
    await expect(s.engine.deleteRule('CpuHigh')).rejects.toThrow(/No rule "CpuHigh"/);
  });

  it('run with the scope of their author: queries see only the author’s projects', async () => {
    const scopes: (ProjectScope | undefined)[] = [];
    const feed = createFeedSource();
    const source: RuleSource & FeedSource = {
      ...feed,
      query: (q, scope) => {
        scopes.push(scope);
        return feed.query(q);
      },
    };
    const s = await setup('rules: []', { feed: source });
    await s.engine.createRule(
      { name: 'Mine', expr: 'avg:cpu{host=*} > 90', labels: { project: 'push' } },
      { name: 'ann', scope: ['push'] },
    );
    await s.engine.createRule({ name: 'Ops', expr: 'avg:cpu{host=*} > 91' }, { name: 'root' });
    scopes.length = 0;
    await steps(s, [95]);
    expect(scopes).toEqual(expect.arrayContaining([{ projects: ['push'] }, undefined]));
  });
});
