/**
 * `npm run demo`: the platform's push example as real services, traced into a running hub.
 *
 *   tsx scripts/demo.ts [--hub http://127.0.0.1:7070/] [--token T] [--rate 20] [--duration 0 (forever)]
 *
 * pushapi (HTTP) → embedded Bus → worker → Thrift → pushd-1..3, with a load loop of normal, slow
 * and failing calls. Stops on SIGINT / SIGTERM (or after --duration) and prints what ran.
 */
import { systemClock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import {
  DEMO_USAGE,
  formatProgress,
  formatStart,
  formatSummary,
  parseDemoArgs,
} from '../tracing/demo/cli.ts';
import { startDemo } from '../tracing/demo/demo.ts';

const out = (text: string) => process.stdout.write(`${text}\n`);

function fail(e: unknown): never {
  process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof HubError && e.code === 'BAD_REQUEST' ? 2 : 1);
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  out(DEMO_USAGE);
  process.exit(0);
}

let args: ReturnType<typeof parseDemoArgs>;
try {
  args = parseDemoArgs(process.argv.slice(2));
} catch (e) {
  fail(e);
}

const logger = createLogger({ level: 'warn' });
const demo = await startDemo({
  hub: args.hub,
  ...(args.token ? { token: args.token } : {}),
  rate: args.rate,
  logger,
}).catch(fail);
const started = systemClock.now();
out(formatStart(demo, args));

const progress = setInterval(() => out(formatProgress(demo.stats(), systemClock.now() - started)), 5_000);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) {
    process.stderr.write(`demo: ${signal} again, exiting without waiting\n`);
    process.exit(130);
  }
  stopping = true;
  clearInterval(progress);
  out(`${signal}: stopping (draining the bus, flushing spans)…`);
  const stats = await demo.stop();
  out(formatSummary(stats, demo.pages, systemClock.now() - started));
  process.exit(0);
}

process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
if (args.durationMs > 0) setTimeout(() => void stop(`after ${args.durationMs / 1000}s`), args.durationMs);
