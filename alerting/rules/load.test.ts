import { describe, expect, it } from 'vitest';
import { compileRule } from './compile.ts';
import { parseRuleFile } from './load.ts';
import { formatRuleError } from './model.ts';

const FILE = 'rules/cpu.yaml';

describe('rule files', () => {
  it('reads groups of rules with defaults and the group interval', () => {
    const { rules, errors } = parseRuleFile(
      `
groups:
  - name: cpu
    interval: 30s
    rules:
      - name: CpuHigh
        expr: avg:cpu{host=*}
        fire: "> 90"
        clear: "< 80"
        for: 2m
`,
      FILE,
    );
    expect(errors).toEqual([]);
    expect(rules).toMatchObject([
      {
        name: 'CpuHigh',
        intervalMs: 30_000,
        forMs: 120_000,
        keepFiringForMs: 0,
        nodata: 'nodata',
        nodataAfterMs: 90_000,
        origin: { kind: 'file', file: FILE, group: 'cpu', line: 6 },
        condition: { kind: 'threshold', fire: { op: '>', value: 90 }, clear: { op: '<', value: 80 } },
        spec: { interval: '30s' },
      },
    ]);
  });

  it('names file, line, rule and field of every mistake, and the column inside an expression', () => {
    const { rules, errors } = parseRuleFile(
      `rules:
  - name: Good
    expr: 1
  - name: HighCpu
    expr: avg:cpu{host=*} > )
    for: 5min
  - name: Hyst
    expr: avg:cpu{host=*} > 90
    fire: "> 90"
    keep_firing: 1m
    nodata: never
  - name: Good
    expr: 2
  - expr: 3
`,
      FILE,
    );
    expect(rules.map((r) => r.name)).toEqual(['Good']);
    expect(errors.map(formatRuleError)).toEqual([
      'rules/cpu.yaml:5: rule "HighCpu": expr: unexpected ")" at column 19\n    avg:cpu{host=*} > )\n                      ^',
      'rules/cpu.yaml:6: rule "HighCpu": for: Invalid for "5min": expected a number and a unit (ms s m h d w n y)',
      'rules/cpu.yaml:10: rule "Hyst": keep_firing: unknown field "keep_firing"; did you mean "keep_firing_for"?',
      'rules/cpu.yaml:11: rule "Hyst": nodata: Invalid option: expected one of "nodata"|"ok"|"alerting"',
      'rules/cpu.yaml:12: rule "Good": name: duplicate rule name (first at line 2)',
      'rules/cpu.yaml:14: name: is required',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const { errors } = parseRuleFile('rules:\n  - name: A\n    expr: [1\n', FILE);
    expect(errors[0]).toMatchObject({
      file: FILE,
      line: expect.any(Number),
      message: expect.stringMatching(/not valid YAML/),
    });
    expect(parseRuleFile('whatever: 1', FILE).errors[0]?.message).toMatch(/groups: \[/);
    expect(parseRuleFile('', FILE)).toEqual({ rules: [], errors: [] });
  });

  const semantic: [object, string][] = [
    [{ expr: 'avg:a{h=*}', clear: '< 1' }, 'clear: clear needs fire'],
    [{ expr: 'avg:a{h=*} > 1', fire: '> 2' }, 'fire: with fire/clear, expr must be a plain value'],
    [{ expr: 'avg:a{h=*}', fire: 'high' }, 'fire: "high" is not a threshold'],
    [{ expr: 'avg:a{h=*}', fire: '> 2', clear: '< 3' }, 'clear: clear "< 3" overlaps fire "> 2"'],
    [{ expr: 'avg:a{h=*} > 1', interval: '500ms' }, 'interval: interval must be at least 1s'],
    [{ expr: 'avg:a{h=*} > 1', labels: { alertname: 'x' } }, 'labels.alertname: alertname is the rule name'],
    [{ expr: 'avg:a{h=*} > 1', labels: { v: '{{ $value }}' } }, 'labels.v: a label may not use $value'],
    [
      { expr: 'avg:a{h=*} > 1', annotations: { s: '{{ $value | nope }}' } },
      'annotations.s: unknown function "nope"',
    ],
    [{ expr: 'avg:a{h=*} > 1', labels: { 'bad-name': 'x' } }, 'labels.bad-name: label names are'],
    [{ expr: 'cpu > 1' }, 'expr: '],
  ];
  it.each(semantic)('rejects %j', (fields, message) => {
    const { rule, errors } = compileRule({ name: 'R', ...fields }, { kind: 'api' });
    expect(rule).toBeUndefined();
    expect(errors.map((e) => `${e.field}: ${e.message}`).join('\n')).toContain(message);
    expect(errors[0]?.rule).toBe('R');
  });

  it('takes a rule project from its literal project label only', () => {
    expect(
      compileRule({ name: 'R', expr: '1', labels: { project: 'push' } }, { kind: 'api' }).rule?.project,
    ).toBe('push');
    expect(
      compileRule({ name: 'R', expr: '1', labels: { project: '{{ $labels.project }}' } }, { kind: 'api' })
        .rule?.project,
    ).toBeUndefined();
  });
});
