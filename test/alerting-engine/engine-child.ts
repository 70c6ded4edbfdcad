/**
 * Child process of kill9.test.ts: runs the rule engine on a data dir with a fake clock and an
 * in-memory source, driven line by line from stdin, printing every sink update as a JSON line.
 * Usage: node --import tsx test/alerting-engine/engine-child.ts <data dir> <start ms> [value at start]
 * Commands: `tick <value>` (a point 10 s later, then 10 s of clock), `exit`.
 */
import { createInterface } from 'node:readline';
import { createRuleEngine } from '../../alerting/engine/engine.ts';
import { createFeedSource } from '../../alerting/engine/testing.ts';
import { parseRuleFile } from '../../alerting/rules/load.ts';
import { FakeClock } from '../../core/clock.ts';

const CHILD_RULES = `
rules:
  - name: CpuHigh
    expr: avg:cpu{host=*}
    fire: "> 90"
    clear: "< 80"
    lookback: 30s
    nodata_after: 1m
    labels: { severity: page }
`;

const [dataDir, start, initial] = process.argv.slice(2);
if (!dataDir || !start) throw new Error('usage: engine-child.ts <data dir> <start ms> [value]');

const clock = new FakeClock(Number(start));
const feed = createFeedSource();
if (initial !== undefined) feed.add('cpu', { host: 'h1' }, clock.now(), Number(initial));
const print = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const engine = createRuleEngine({
  source: feed,
  clock,
  dataDir,
  rules: parseRuleFile(CHILD_RULES, 'child.yaml').rules,
  sink: {
    async update(alerts, now) {
      print({ kind: 'update', now, alerts });
    },
  },
});
await engine.start();
await engine.idle();
print({ kind: 'ready', now: clock.now() });

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'exit') break;
  if (cmd === 'tick') {
    feed.add('cpu', { host: 'h1' }, clock.now() + 10_000, Number(arg));
    clock.advance(10_000);
    await engine.idle();
    print({ kind: 'done', now: clock.now() });
  }
}
await engine.stop();
process.exit(0);
