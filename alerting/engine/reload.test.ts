import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { createMemoryLogger } from '../../core/logger.ts';
import { createRuleEngine } from './engine.ts';
import { createFeedSource, createRecordingSink } from './testing.ts';

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;

const ruleFile = (name: string, threshold: number) => `
groups:
  - name: g
    rules:
      - name: ${name}
        expr: avg:cpu{host=*} > ${threshold}
`;

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function setup() {
  dir = await mkdtemp(join(tmpdir(), 'obs-rules-'));
  const rulesDir = join(dir, 'rules');
  const dataDir = join(dir, 'data');
  await import('node:fs/promises').then((fs) => fs.mkdir(rulesDir));
  await writeFile(join(rulesDir, 'a.yaml'), ruleFile('RuleA', 90));
  await writeFile(join(rulesDir, 'b.yaml'), ruleFile('RuleB', 80));
  await writeFile(join(rulesDir, 'b.test.yaml'), 'not: a rule file');
  const clock = new FakeClock(T0);
  const feed = createFeedSource();
  const sink = createRecordingSink();
  const logger = createMemoryLogger();
  const engine = createRuleEngine({
    source: feed,
    sink,
    clock,
    logger,
    rulesDir,
    dataDir,
    watchIntervalMs: 5 * S,
  });
  await engine.start();
  await engine.idle();
  const step = async (ms: number) => {
    feed.add('cpu', { host: 'h1' }, clock.now() + ms, 95);
    clock.advance(ms);
    await engine.idle();
  };
  return { engine, clock, sink, logger, rulesDir, step };
}

describe('rules from a folder', () => {
  it('reloads on change; a broken file keeps its previous rules running and is reported', async () => {
    const s = await setup();
    expect(s.engine.rules().map((r) => r.name)).toEqual(['RuleA', 'RuleB']);
    await s.step(10 * S);
    expect(
      s.sink
        .last()
        .map((a) => a.rule)
        .sort(),
    ).toEqual(['RuleA', 'RuleB']);

    await writeFile(join(s.rulesDir, 'b.yaml'), ruleFile('RuleB', 80).replace('> 80', '> )'));
    await s.step(10 * S);
    expect(s.engine.rules().map((r) => r.name)).toEqual(['RuleA', 'RuleB']);
    expect(s.engine.errors()).toMatchObject([
      {
        file: join(s.rulesDir, 'b.yaml'),
        line: 6,
        rule: 'RuleB',
        field: 'expr',
        message: expect.stringMatching(/column 19/),
      },
    ]);
    expect(s.logger.lines).toContainEqual(expect.objectContaining({ msg: 'rule error', level: 'warn' }));
    expect(
      s.sink
        .last()
        .map((a) => a.rule)
        .sort(),
    ).toEqual(['RuleA', 'RuleB']);
    expect(s.sink.resolves).toEqual([]);

    // Fixed, with a new rule beside: taken in, the errors gone.
    await writeFile(
      join(s.rulesDir, 'b.yaml'),
      ruleFile('RuleB', 80) + ruleFile('RuleC', 70).replace(/^\ngroups:\n {2}- name: g/, '\n  - name: h'),
    );
    await s.step(10 * S);
    expect(s.engine.errors()).toEqual([]);
    expect(s.engine.rules().map((r) => r.name)).toEqual(['RuleA', 'RuleB', 'RuleC']);

    // A removed file's rules stop, and their alerts resolve.
    await unlink(join(s.rulesDir, 'b.yaml'));
    await s.step(10 * S);
    expect(s.engine.rules().map((r) => r.name)).toEqual(['RuleA']);
    expect(s.sink.resolves.map((a) => a.rule).sort()).toEqual(['RuleB', 'RuleC']);
    await s.engine.stop();
  });

  it('reload() reads the folder at once (what SIGHUP calls), and names taken twice are errors', async () => {
    const s = await setup();
    await writeFile(join(s.rulesDir, 'c.yaml'), ruleFile('RuleA', 50));
    const errors = await s.engine.reload();
    expect(errors).toMatchObject([{ file: join(s.rulesDir, 'c.yaml'), rule: 'RuleA', field: 'name' }]);
    expect(errors[0]?.message).toMatch(/taken by .*a\.yaml/);
    expect(s.engine.rules().map((r) => r.name)).toEqual(['RuleA', 'RuleB']);
    await s.engine.stop();
  });

  it('state of a rule whose file is broken at start stays firing until the file is fixed', async () => {
    const s = await setup();
    await s.step(10 * S);
    const fired = s.sink.last().find((a) => a.rule === 'RuleB')!;
    await s.engine.stop();
    await writeFile(join(s.rulesDir, 'b.yaml'), 'groups: [');
    const sink = createRecordingSink();
    const clock = new FakeClock(s.clock.now() + 10 * S);
    const feed = createFeedSource();
    feed.add('cpu', { host: 'h1' }, clock.now(), 95);
    const engine = createRuleEngine({
      source: feed,
      sink,
      clock,
      rulesDir: s.rulesDir,
      dataDir: join(dir!, 'data'),
      watchIntervalMs: 5 * S,
    });
    await engine.start();
    await engine.idle();
    expect(engine.rules().map((r) => r.name)).toEqual(['RuleA']);
    expect(sink.last().find((a) => a.rule === 'RuleB')).toMatchObject({
      status: 'firing',
      startsAt: fired.startsAt,
    });
    expect(
      engine
        .alerts()
        .map((a) => a.rule)
        .sort(),
    ).toEqual(['RuleA', 'RuleB']);
    await writeFile(join(s.rulesDir, 'b.yaml'), ruleFile('RuleB', 80));
    await engine.reload();
    await engine.runOnce();
    expect(sink.last().find((a) => a.rule === 'RuleB')).toMatchObject({
      status: 'firing',
      startsAt: fired.startsAt,
    });
    expect(sink.resolves).toEqual([]);
    await engine.stop();
  });
});
