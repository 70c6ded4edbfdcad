/**
 * The command line of `npm run demo` (scripts/demo.ts): its arguments, and the lines it prints
 * while running and when it stops. Pure, so that the script itself only wires signals and output.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../../core/duration.ts';
import { HubError } from '../../core/errors.ts';
import type { Demo, DemoStats } from './demo.ts';
import { hubBase } from './hub-link.ts';

export type DemoArgs = {
  hub: string;
  token?: string;
  rate: number;
  /** 0: until SIGINT / SIGTERM. */
  durationMs: number;
};

export const DEMO_USAGE =
  'usage: tsx scripts/demo.ts [--hub http://127.0.0.1:7070/] [--token T] [--rate 20] [--duration 0 (forever) | 30 | 30s | 5m]';

/** A duration in seconds (`30`) or with a unit (`30s`, `5m`). */
function durationArg(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Math.round(Number(text) * 1000);
  return parseDuration(text, 'duration');
}

/** The demo's options from its arguments (without the node and script paths). */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        hub: { type: 'string', default: 'http://127.0.0.1:7070/' },
        token: { type: 'string' },
        rate: { type: 'string', default: '20' },
        duration: { type: 'string', default: '0' },
      },
    }));
  } catch (e) {
    throw new HubError('BAD_REQUEST', `${(e as Error).message}\n${DEMO_USAGE}`, { cause: e });
  }
  const rate = Number(values['rate']);
  if (!Number.isFinite(rate) || rate < 0 || values['rate']?.trim() === '')
    throw new HubError('BAD_REQUEST', `Invalid rate "${values['rate']}": calls per second, 0 or more`, {
      where: 'rate',
    });
  const args: DemoArgs = {
    hub: hubBase(values['hub']!),
    rate,
    durationMs: durationArg(values['duration']!),
  };
  if (values['token']) args.token = values['token'];
  return args;
}

/** One progress line. */
export function formatProgress(s: DemoStats, elapsedMs: number): string {
  const { normal, slow, fail } = s.load.sent;
  return (
    `[${Math.round(elapsedMs / 1000)}s] calls ${normal + slow + fail} (normal ${normal}, slow ${slow}, failing ${fail})` +
    ` · worker delivered ${s.worker.delivered}, failed ${s.worker.failed}` +
    ` · spans sent ${s.spans.sent}, queued ${s.spans.queued}, dropped ${s.spans.dropped}, lost ${s.spans.failed}`
  );
}

/** What runs and where to look, printed at start. */
export function formatStart(demo: Pick<Demo, 'pushApiUrl' | 'pushd' | 'pages'>, args: DemoArgs): string {
  return [
    `push demo → hub ${args.hub}`,
    `  pushapi  POST ${demo.pushApiUrl}push   (HTTP, publishes onto the embedded bus)`,
    '  worker   consumes push.notifications, calls pushd over Thrift',
    ...demo.pushd.map((d) => `  ${d.instance}  thrift://127.0.0.1:${d.port}`),
    `  load     ${args.rate}/s, ≈10 % slow (devices on ${demo.pushd.at(-1)?.instance ?? 'pushd'}), ≈5 % failing (DeviceOffline)` +
      (args.durationMs > 0 ? `, for ${args.durationMs / 1000}s` : ', until Ctrl-C'),
    `  traces       ${demo.pages.traces}`,
    `  service map  ${demo.pages.serviceMap}`,
  ].join('\n');
}

/** What ran, printed at the end. */
export function formatSummary(s: DemoStats, pages: Demo['pages'], elapsedMs: number): string {
  const { normal, slow, fail } = s.load.sent;
  return [
    `push demo stopped after ${Math.round(elapsedMs / 1000)}s`,
    `  load     ${normal + slow + fail} calls: ${normal} normal, ${slow} slow, ${fail} failing; ${s.load.errors} refused, ${s.load.skipped} skipped`,
    `  pushapi  ${s.pushapi.accepted} accepted, ${s.pushapi.refused} refused, ${s.pushapi.failed} failed`,
    `  worker   ${s.worker.consumed} consumed, ${s.worker.delivered} delivered, ${s.worker.failed} failed`,
    ...s.pushd.map((d) => `  ${d.instance}  ${d.sent} sent, ${d.offline} DeviceOffline (port ${d.port})`),
    `  spans    ${s.spans.sent} sent to the hub, ${s.spans.dropped} dropped, ${s.spans.failed} lost in failed posts`,
    `  traces       ${pages.traces}`,
    `  service map  ${pages.serviceMap}`,
  ].join('\n');
}
