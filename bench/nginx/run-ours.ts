/**
 * One measured run of ours, in its own process (bench.ts starts it): reads FILE in 64 KiB chunks
 * (OBS_BENCH_CHUNK overrides), decodes each up to its last newline and hands the text to the
 * aggregator, as the agent's tailer does (`onText` → `addText`); every line is parsed and
 * aggregated with the `platform` format, and the interval's points are flushed every second. Prints one JSON object:
 * lines, seconds (from the first read to the last flush, process start excluded), cpuSeconds,
 * peakRssMB (VmHWM of this process), parsed, failed, points.
 *
 * Usage: tsx bench/nginx/run-ours.ts FILE
 */
import { readFileSync } from 'node:fs';
import { createNginxAggregator } from '../../collector/nginx/aggregator.ts';
import { readTextChunks } from '../../collector/nginx/line-reader.ts';

export function peakRssMB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 1024 / 1024;
}

const file = process.argv[2];
if (!file) throw new Error('usage: run-ours.ts FILE');

const aggregator = createNginxAggregator({
  format: 'platform',
  tags: { dc: 'dc1', cluster: 'paas', host: 'router-1' },
});
const start = performance.now();
const cpu = process.cpuUsage();
let lines = 0;
let points = 0;
let lastFlush = start;
const chunkBytes = Number(process.env['OBS_BENCH_CHUNK'] ?? 64 * 1024);
for await (const text of readTextChunks(file, { chunkBytes })) {
  lines += aggregator.addText(text);
  const now = performance.now();
  if (now - lastFlush >= 1_000) {
    points += aggregator.flush(Date.now(), now - lastFlush).length;
    lastFlush = now;
  }
}
points += aggregator.flush(Date.now(), Math.max(1, performance.now() - lastFlush)).length;
const seconds = (performance.now() - start) / 1000;
const used = process.cpuUsage(cpu);
const totals = aggregator.totals();
process.stdout.write(
  JSON.stringify({
    lines,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssMB: peakRssMB(),
    parsed: totals.parsed,
    failed: totals.failed,
    points,
  }) + '\n',
);
