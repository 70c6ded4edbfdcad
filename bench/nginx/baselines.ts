/**
 * The two Node baselines of the nginx bench, each a run in its own process (bench.ts starts them):
 *
 * - `naive`: `readline` and one regular expression per line for the `platform` format, counting
 *   requests per vhost and status and summing request times, as a first Node parser would;
 * - `readline`: `readline` over the file doing nothing with the lines (the floor of that approach).
 *
 * Prints one JSON object: lines, seconds (process start excluded), cpuSeconds, peakRssMB, parsed.
 * Usage: tsx bench/nginx/baselines.ts naive|readline FILE
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [mode, file] = process.argv.slice(2);
if ((mode !== 'naive' && mode !== 'readline') || !file)
  throw new Error('usage: baselines.ts naive|readline FILE');

const PLATFORM =
  /^(\S+) - (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)" ([\d.]+) ([\d.-]+(?:(?:, | : )[\d.-]+)*) (\S+) (.+)$/;

const start = performance.now();
const cpu = process.cpuUsage();
let lines = 0;
let parsed = 0;
const counts = new Map<string, number>();
let requestTime = 0;
const input = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
if (mode === 'readline') {
  for await (const _ of input) lines++;
} else {
  for await (const line of input) {
    lines++;
    const m = PLATFORM.exec(line);
    if (!m) continue;
    parsed++;
    const key = m[11]! + ' ' + m[5]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    requestTime += Number(m[9]);
  }
}
const seconds = (performance.now() - start) / 1000;
const used = process.cpuUsage(cpu);
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
process.stdout.write(
  JSON.stringify({
    lines,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssMB: hwm ? Number(hwm[1]) / 1024 : 0,
    parsed: mode === 'naive' ? parsed : lines,
    series: counts.size,
    requestTime,
  }) + '\n',
);
