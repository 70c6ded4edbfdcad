/**
 * The command line of `bench:ingest` (documented in bench/ingest.ts), parsed and checked once on
 * import, and the fixed shape of the load.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fail } from './log.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BATCH = 1_000;
export const CONNECTIONS = 4;
export const PROGRESS_MS = 2_000;
/** A phase fails when its counter has not moved for this long. */
export const STALL_MS = 60_000;
export const QUERY_METRIC = 'container.cpu.usage';
/** The hub store's default maintenance interval (store.maintenanceInterval). */
export const HUB_MAINTENANCE_MS = 60_000;
export const EXPECTED_GROUPS = 30;

export type SystemName = 'hub' | 'vm';
export const LABEL: Record<SystemName, string> = { hub: 'hub', vm: 'victoria-metrics' };

const { values: args } = parseArgs({
  options: {
    hours: { type: 'string', default: '4' },
    only: { type: 'string' },
    'skip-put': { type: 'boolean', default: false },
    'skip-telnet': { type: 'boolean', default: false },
    'skip-query': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    'query-runs': { type: 'string', default: '20' },
    'query-warmup': { type: 'string', default: '20' },
    'profile-hub': { type: 'string' },
    'hub-dir': { type: 'string' },
    'quiet-wait': { type: 'string', default: '90' },
    runs: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(
    'usage: npm run bench:ingest -- [--hours N] [--only hub|vm] [--skip-put] [--skip-telnet] [--skip-query]\n' +
      '                              [--seed N] [--query-runs N] [--query-warmup N] [--profile-hub DIR]\n' +
      '                              [--hub-dir DIR] [--quiet-wait S] [--runs N]\n' +
      '  --quiet-wait S: before each phase wait up to S s (default 90) for other processes to go quiet\n' +
      '  --runs N: repeat every phase N times (interleaved) and report the median of each figure\n' +
      '  --skip-put: no /api/put phase, hence no disk or query figures (telnet alone, e.g. to compare two checkouts)\n' +
      '  --hub-dir DIR: run the hub from another checkout (default: this one), e.g. a `git archive` of HEAD\n',
  );
  process.exit(0);
}
export const HOURS = Number(args.hours);
export const SEED = Number(args.seed);
export const QUERY_RUNS = Number(args['query-runs']);
export const QUERY_WARMUP = Number(args['query-warmup']);
if (!(HOURS > 0) || !Number.isFinite(HOURS)) fail(`--hours must be a positive number, not ${args.hours}`);
if (!Number.isInteger(SEED)) fail(`--seed must be an integer, not ${args.seed}`);
if (!(QUERY_RUNS >= 1)) fail(`--query-runs must be at least 1, not ${args['query-runs']}`);
if (!(QUERY_WARMUP >= 0)) fail(`--query-warmup must be 0 or more, not ${args['query-warmup']}`);
if (args.only !== undefined && args.only !== 'hub' && args.only !== 'vm')
  fail(`--only must be hub or vm, not ${args.only}`);
export const SYSTEMS: SystemName[] = args.only ? [args.only as SystemName] : ['hub', 'vm'];
export const SKIP_PUT = args['skip-put'];
export const SKIP_TELNET = args['skip-telnet'];
if (SKIP_PUT && SKIP_TELNET) fail('--skip-put and --skip-telnet together leave nothing to run');
export const SKIP_QUERY = args['skip-query'];
export const PROFILE_DIR = args['profile-hub'];
export const HUB_DIR = args['hub-dir'] ?? ROOT;
export const QUIET_WAIT_S = Number(args['quiet-wait']);
if (!(QUIET_WAIT_S >= 0)) fail(`--quiet-wait must be a number of seconds, not ${args['quiet-wait']}`);
export const RUNS = Number(args.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) fail(`--runs must be a positive integer, not ${args.runs}`);
/** Cores the other processes may use for the machine to count as quiet. */
export const QUIET_CORES = 0.3;
if (!existsSync(join(HUB_DIR, 'bin', 'obs.mjs'))) fail(`no bin/obs.mjs in ${HUB_DIR}`);
