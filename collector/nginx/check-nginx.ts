/**
 * `obs check-nginx --log-format FMT FILE [--json]`: parses a log with a format and tells how
 * many lines parsed, the status classes, request-time percentiles and the first 100 failures,
 * so a user can check a pasted `log_format` against a real file before pointing the agent at it.
 *
 * Exit codes of {@link runCheckNginx}: 0 every line parsed; 1 some lines did not parse (the
 * report says which); 2 the format is not usable or the file cannot be read (a message says
 * why and where).
 */
import { HubError, isHubError } from '../../core/errors.ts';
import { readLines } from './line-reader.ts';
import { compileLogFormat, type StatusClass } from './log-format.ts';
import { RELATIVE_ACCURACY, TimeSketch } from './time-sketch.ts';

export const MAX_REPORTED_FAILURES = 100;

export type CheckReport = {
  lines: number;
  parsed: number;
  failed: number;
  /** Parsed lines per status class: `{"1xx": 0, "2xx": n, ...}`. */
  statusClasses: Record<StatusClass, number>;
  /** Seconds, within ±1 % (DDSketch); null when the format has no `$request_time` or no line parsed. */
  requestTime: { p50: number; p90: number; p99: number; max: number } | null;
  /** The first 100 failures; `line` is 1-based. */
  failures: { line: number; reason: string }[];
};

/** Parses every line with `format`; throws a HubError (INVALID_CONFIG) for a format it cannot use. */
export async function checkNginxLog(
  lines: AsyncIterable<string> | Iterable<string>,
  format: string,
): Promise<CheckReport> {
  const parse = compileLogFormat(format);
  const statusClasses: Record<StatusClass, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  const sketch = new TimeSketch();
  const failures: CheckReport['failures'] = [];
  let count = 0;
  let parsed = 0;
  for await (const line of lines) {
    count++;
    const r = parse(line);
    if (!r.ok) {
      if (failures.length < MAX_REPORTED_FAILURES) failures.push({ line: count, reason: r.reason });
      continue;
    }
    parsed++;
    statusClasses[r.statusClass]++;
    if (r.requestTime !== null) sketch.accept(r.requestTime);
  }
  return {
    lines: count,
    parsed,
    failed: count - parsed,
    statusClasses,
    requestTime: sketch.summary(),
    failures,
  };
}

const seconds = (v: number) => (v < 10 ? v.toFixed(3) : v.toFixed(1));

/** The report as text for a terminal. */
export function formatCheckReport(report: CheckReport): string {
  const out: string[] = [];
  const pct = (n: number) => (report.lines === 0 ? '' : ` (${((100 * n) / report.lines).toFixed(2)} %)`);
  out.push(`lines   ${report.lines}`);
  out.push(`parsed  ${report.parsed}${pct(report.parsed)}`);
  out.push(`failed  ${report.failed}${pct(report.failed)}`);
  out.push(
    'status  ' +
      Object.entries(report.statusClasses)
        .map(([c, n]) => `${c} ${n}`)
        .join('   '),
  );
  const t = report.requestTime;
  out.push(
    t
      ? `request time (s, ±${RELATIVE_ACCURACY * 100} %)  p50 ${seconds(t.p50)}  p90 ${seconds(t.p90)}  p99 ${seconds(t.p99)}  max ${seconds(t.max)}`
      : 'request time  none (no $request_time in the format, or no line parsed)',
  );
  if (report.failures.length > 0) {
    const shown = report.failures.length < report.failed ? `first ${report.failures.length} of ` : '';
    out.push(`failures (${shown}${report.failed}):`);
    for (const f of report.failures) out.push(`  line ${f.line}: ${f.reason}`);
  }
  return out.join('\n') + '\n';
}

/**
 * The whole command: reads `file`, prints the report (text, or one JSON object with `json`) to
 * `out`, and an error to `err`. Returns the exit code (0 all parsed, 1 some failed, 2 unusable
 * format or unreadable file).
 */
export async function runCheckNginx(
  args: { format: string; file: string; json: boolean },
  out: (s: string) => void,
  err: (s: string) => void = out,
): Promise<number> {
  let report: CheckReport;
  try {
    compileLogFormat(args.format);
    report = await checkNginxLog(readLines(args.file), args.format);
  } catch (e) {
    const error = isHubError(e)
      ? e
      : new HubError('NOT_FOUND', `cannot read ${args.file}: ${e instanceof Error ? e.message : String(e)}`, {
          cause: e,
          where: args.file,
        });
    err(`obs check-nginx: ${error.message}\n`);
    return 2;
  }
  out(args.json ? JSON.stringify(report) + '\n' : formatCheckReport(report));
  return report.failed > 0 ? 1 : 0;
}
