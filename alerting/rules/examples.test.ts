/** `obs rules check` and `obs rules test` through the command (commander), on the example rules. */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerRuleCommands } from './cli.ts';

const EXAMPLES = join(import.meta.dirname, 'examples');

async function obs(...args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  let code = 0;
  const program = new Command().exitOverride();
  registerRuleCommands(
    program,
    (l) => lines.push(l),
    (c) => {
      code = c;
    },
  );
  await program.parseAsync(['node', 'obs', ...args]);
  return { code, lines };
}

const tmp = mkdtemp(join(tmpdir(), 'obs-rules-cli-'));
afterAll(async () => rm(await tmp, { recursive: true, force: true }));

describe('obs rules', () => {
  it('check: the example rules are valid', async () => {
    const files = (await readdir(EXAMPLES)).filter((f) => /\.yaml$/.test(f) && !f.endsWith('.test.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const { code, lines } = await obs('rules', 'check', ...files.map((f) => join(EXAMPLES, f)));
    expect(code).toBe(0);
    expect(lines.at(-1)).toMatch(/^SUCCESS: \d+ rules found$/);
  });

  it('check: every error with file:line, rule and field, and exit code 1', async () => {
    const bad = join(await tmp, 'bad.yaml');
    await writeFile(bad, 'rules:\n  - name: A\n    expr: avg:cpu{host=*} >\n    for: 1x\n');
    const { code, lines } = await obs('rules', 'check', bad);
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain(`${bad}:3: rule "A": expr: unexpected end of expression at column 18`);
    expect(lines.join('\n')).toContain(`${bad}:4: rule "A": for: Invalid for "1x"`);
    expect(lines.at(-1)).toBe('FAILED: 2 errors');
  });

  it('test: the project’s own rule tests pass', async () => {
    const files = (await readdir(EXAMPLES)).filter((f) => f.endsWith('.test.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const { code, lines } = await obs('rules', 'test', ...files.map((f) => join(EXAMPLES, f)));
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(code).toBe(0);
    expect(lines.at(-1)).toMatch(/^SUCCESS: \d+ test groups passed$/);
  });

  it('test: a wrong expectation fails with a diff, one line per alert', async () => {
    const file = join(await tmp, 'wrong.test.yaml');
    await writeFile(
      file,
      `rule_files: [${JSON.stringify(join(EXAMPLES, 'containers.yaml'))}]
tests:
  - name: wrong on purpose
    interval: 10s
    input_series:
      - series: 'container.cpu.usage{project=push, app=/push/pushd}'
        values: '0.95x20'
      - series: 'container.cpu.limit{project=push, app=/push/pushd}'
        values: '1x20'
      - series: 'container.cpu.usage{project=push, app=/push/web}'
        values: '0.99x20'
      - series: 'container.cpu.limit{project=push, app=/push/web}'
        values: '1x20'
    alert_rule_test:
      - eval_time: 2m
        alertname: ContainerCpuNearLimit
        exp_alerts:
          - exp_labels: { project: push, app: /push/pushd, severity: page, team: infra }
            exp_annotations:
              summary: /push/pushd uses 90% of its CPU limit
              description: CPU of /push/pushd at 0.95 of the limit for over a minute
`,
    );
    const { code, lines } = await obs('rules', 'test', file);
    expect(code).toBe(1);
    const labels = '{app="/push/pushd", project="push", severity="page", team="infra"}';
    const web = '{app="/push/web", project="push", severity="page", team="infra"}';
    const description = (app: string, v: string) =>
      `description="CPU of ${app} at ${v} of the limit for over a minute"`;
    expect(lines).toEqual([
      `FAIL ${file}: wrong on purpose`,
      '  ContainerCpuNearLimit at 2m: expected (-) and got (+):',
      `    - ${labels} {${description('/push/pushd', '0.95')}, summary="/push/pushd uses 90% of its CPU limit"}`,
      `    + ${labels} {${description('/push/pushd', '0.95')}, summary="/push/pushd uses 95% of its CPU limit"}`,
      `    + ${web} {${description('/push/web', '0.99')}, summary="/push/web uses 99% of its CPU limit"}`,
      `FAIL ${file}: 0 passed, 1 failed`,
      'FAILED: 1 of 1 test groups failed',
    ]);
  });

  it('test: a broken test file is reported with its field', async () => {
    const file = join(await tmp, 'broken.test.yaml');
    await writeFile(file, 'rule_files: [x.yaml]\ntests:\n  - input_series: []\n    alert_rule_tests: []\n');
    const { code, lines } = await obs('rules', 'test', file);
    expect(code).toBe(1);
    expect(lines[0]).toContain(
      `${file}: tests.0.alert_rule_tests: unknown field "alert_rule_tests"; did you mean "alert_rule_test"?`,
    );
  });
});
