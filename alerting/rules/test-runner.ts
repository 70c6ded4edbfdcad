/**
 * `obs rules test`: unit tests of rule files in the spirit of `promtool test rules`. Each test
 * group feeds its input series to the real engine over an in-memory source, with a fake clock
 * stepped rule interval by rule interval, and compares the firing alerts at each `eval_time`
 * with the expected ones; a failure prints expected (-) and got (+), one line per alert.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FakeClock } from '../../core/clock.ts';
import { parseDuration } from '../../core/duration.ts';
import { isHubError } from '../../core/errors.ts';
import { seriesKey, type Tags } from '../../core/model.ts';
import type { GrowingSeries, RawSeries } from '../../core/query.ts';
import { createRuleEngine } from '../engine/engine.ts';
import { gcd } from '../engine/schedule.ts';
import { createMemorySource } from '../expr/source.ts';
import type { Alert } from '../types.ts';
import { issuesToErrors } from './compile.ts';
import { loadRuleFile } from './load.ts';
import { formatRuleError, type Rule, type RuleError } from './model.ts';
import { expandValues, parseSeries } from './series-notation.ts';

/** Test groups start here, so that every sample has a real epoch time (promtool starts at 0). */
export const TEST_EPOCH = Date.UTC(2026, 0, 1);

const durationText = z.union([z.string().min(1), z.literal(0)]);
const stringMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

const testFileSchema = z
  .object({
    rule_files: z.array(z.string()).min(1),
    evaluation_interval: durationText.optional(),
    tests: z.array(
      z
        .object({
          name: z.string().optional(),
          interval: durationText.optional(),
          input_series: z.array(
            z
              .object({ series: z.string(), values: z.union([z.string(), z.number()]).transform(String) })
              .strict(),
          ),
          alert_rule_test: z
            .array(
              z
                .object({
                  eval_time: durationText,
                  alertname: z.string(),
                  exp_alerts: z
                    .array(
                      z
                        .object({
                          exp_labels: stringMap.optional(),
                          exp_annotations: stringMap.optional(),
                          exp_nodata: z.boolean().optional(),
                        })
                        .strict(),
                    )
                    .nullish(),
                })
                .strict(),
            )
            .default([]),
        })
        .strict(),
    ),
  })
  .strict();

type TestFile = z.infer<typeof testFileSchema>;
type TestGroup = TestFile['tests'][number];
type AlertCase = TestGroup['alert_rule_test'][number];

export type TestFileOutcome = { file: string; passed: number; failed: number; lines: string[] };

/** A duration; test times may be compound, as promtool's: `2m30s`. */
function ms(text: string | 0, field: string): number {
  if (text === 0) return 0;
  const parts = text.trim().match(/\d+(?:\.\d+)?(?:ms|s|m|h|d|w|n|y)/g);
  if (!parts || parts.join('') !== text.trim()) return parseDuration(text, field);
  return parts.reduce((sum, p) => sum + parseDuration(p, field), 0);
}

function quote(map: Record<string, string>): string {
  return Object.keys(map)
    .sort()
    .map((k) => `${k}=${JSON.stringify(map[k])}`)
    .join(', ');
}

/** One alert as one line: labels, annotations, and `nodata` when it is a no-data alert. */
export function alertLine(labels: Tags, annotations: Record<string, string>, nodata: boolean): string {
  return `{${quote(labels)}} {${quote(annotations)}}${nodata ? ' nodata' : ''}`;
}

/** Expected (-) against got (+), equal lines kept with two spaces, in a stable order. */
export function diffLines(expected: string[], got: string[]): string[] {
  const left = [...expected].sort();
  const right = [...got].sort();
  const out: string[] = [];
  const rest = [...right];
  for (const line of left) {
    const i = rest.indexOf(line);
    if (i >= 0) {
      rest.splice(i, 1);
      out.push(`  ${line}`);
    } else out.push(`- ${line}`);
  }
  for (const line of rest) out.push(`+ ${line}`);
  return out;
}

function compare(c: AlertCase, alerts: Alert[]): { ok: boolean; lines: string[] } {
  const exp = c.exp_alerts ?? [];
  const withName = exp.some((e) => e.exp_labels && 'alertname' in e.exp_labels);
  const checkNodata = exp.some((e) => e.exp_nodata !== undefined);
  const got = alerts
    .filter((a) => a.rule === c.alertname && a.status === 'firing')
    .map((a) => {
      const labels = { ...a.labels };
      if (!withName) delete labels['alertname'];
      return alertLine(labels, a.annotations, checkNodata && a.nodata);
    });
  const expected = exp.map((e) =>
    alertLine(e.exp_labels ?? {}, e.exp_annotations ?? {}, e.exp_nodata === true),
  );
  const lines = diffLines(expected, got);
  return { ok: lines.every((l) => l.startsWith('  ')), lines };
}

function inputSeries(group: TestGroup, intervalMs: number): RawSeries[] {
  const byKey = new Map<string, GrowingSeries>();
  for (const [i, input] of group.input_series.entries()) {
    let parsed: ReturnType<typeof parseSeries>;
    let values: (number | null)[];
    try {
      parsed = parseSeries(input.series);
      values = expandValues(input.values);
    } catch (e) {
      throw new Error(`input_series.${i}: ${(e as Error).message}`);
    }
    const key = seriesKey(parsed.metric, parsed.tags);
    const s = byKey.get(key) ?? { metric: parsed.metric, tags: parsed.tags, ts: [], values: [] };
    values.forEach((v, j) => {
      if (v === null) return;
      s.ts.push(TEST_EPOCH + j * intervalMs);
      s.values.push(v);
    });
    byKey.set(key, s);
  }
  return [...byKey.values()];
}

async function runGroup(group: TestGroup, rules: Rule[], defaultIntervalMs: number): Promise<string[]> {
  const series = inputSeries(
    group,
    group.interval === undefined ? defaultIntervalMs : ms(group.interval, 'interval'),
  );
  const clock = new FakeClock(TEST_EPOCH);
  let latest: Alert[] = [];
  const engine = createRuleEngine({
    source: createMemorySource(series),
    sink: {
      async update(alerts) {
        latest = alerts;
      },
    },
    clock,
    rules,
    watchIntervalMs: 0,
    // As promtool: every rule at every evaluation time, each update carrying every alert.
    sliceRules: Number.POSITIVE_INFINITY,
  });
  await engine.start();
  await engine.idle();
  const tick = Math.max(1000, rules.reduce((g, r) => gcd(g, r.intervalMs), 0) || 10_000);
  const failures: string[] = [];
  const cases = [...group.alert_rule_test].sort(
    (a, b) => ms(a.eval_time, 'eval_time') - ms(b.eval_time, 'eval_time'),
  );
  for (const c of cases) {
    const target = TEST_EPOCH + ms(c.eval_time, 'eval_time');
    while (clock.now() + tick <= target) {
      clock.advance(tick);
      await engine.idle();
    }
    if (!rules.some((r) => r.name === c.alertname)) {
      failures.push(`  no rule named "${c.alertname}" in the rule files`);
      continue;
    }
    const result = compare(c, latest);
    if (result.ok) continue;
    failures.push(`  ${c.alertname} at ${c.eval_time}: expected (-) and got (+):`);
    failures.push(...result.lines.map((l) => `    ${l}`));
  }
  await engine.stop();
  return failures;
}

async function loadRules(testFile: string, files: string[]): Promise<{ rules: Rule[]; errors: RuleError[] }> {
  const rules: Rule[] = [];
  const errors: RuleError[] = [];
  for (const f of files) {
    const loaded = await loadRuleFile(resolve(dirname(testFile), f));
    rules.push(...loaded.rules);
    errors.push(...loaded.errors);
  }
  return { rules, errors };
}

async function readTestFile(path: string): Promise<{ file?: TestFile; errors: string[] }> {
  let data: unknown;
  try {
    data = parseYaml(await readFile(path, 'utf8'));
  } catch (e) {
    return { errors: [`${path}: ${(e as Error).message.split('\n')[0]}`] };
  }
  const parsed = testFileSchema.safeParse(data);
  if (parsed.success) return { file: parsed.data, errors: [] };
  const known = [
    ...['rule_files', 'evaluation_interval', 'tests', 'name', 'interval', 'input_series', 'alert_rule_test'],
    ...[
      'series',
      'values',
      'eval_time',
      'alertname',
      'exp_alerts',
      'exp_labels',
      'exp_annotations',
      'exp_nodata',
    ],
  ];
  return {
    errors: issuesToErrors(parsed.error.issues, known).map((e) => formatRuleError({ file: path, ...e })),
  };
}

/** Runs the tests of one test file. */
export async function runRuleTestFile(path: string): Promise<TestFileOutcome> {
  const outcome: TestFileOutcome = { file: path, passed: 0, failed: 0, lines: [] };
  const { file, errors } = await readTestFile(path);
  if (!file) {
    outcome.failed = 1;
    outcome.lines.push(...errors);
    return outcome;
  }
  const loaded = await loadRules(path, file.rule_files);
  if (loaded.errors.length > 0) {
    outcome.failed = 1;
    outcome.lines.push(...loaded.errors.map(formatRuleError));
    return outcome;
  }
  const defaultInterval =
    file.evaluation_interval === undefined ? 60_000 : ms(file.evaluation_interval, 'evaluation_interval');
  for (const [i, group] of file.tests.entries()) {
    const title = group.name ?? `tests.${i}`;
    let failures: string[];
    try {
      failures = await runGroup(group, loaded.rules, defaultInterval);
    } catch (e) {
      failures = [`  ${isHubError(e) ? e.message : (e as Error).message}`];
    }
    if (failures.length === 0) {
      outcome.passed++;
      continue;
    }
    outcome.failed++;
    outcome.lines.push(`FAIL ${path}: ${title}`, ...failures);
  }
  return outcome;
}

/** Runs every test file, printing failures and a summary; resolves to whether all passed. */
export async function runRuleTests(files: string[], out: (line: string) => void): Promise<boolean> {
  let passed = 0;
  let failed = 0;
  for (const f of files) {
    const r = await runRuleTestFile(f);
    for (const line of r.lines) out(line);
    out(`${r.failed === 0 ? 'ok  ' : 'FAIL'} ${f}: ${r.passed} passed, ${r.failed} failed`);
    passed += r.passed;
    failed += r.failed;
  }
  out(
    failed === 0
      ? `SUCCESS: ${passed} test groups passed`
      : `FAILED: ${failed} of ${passed + failed} test groups failed`,
  );
  return failed === 0;
}
