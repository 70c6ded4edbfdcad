/** `obs rules check FILE...` and `obs rules test FILE...`. */
import type { Command } from 'commander';
import { loadRuleFile } from './load.ts';
import { formatRuleError } from './model.ts';
import { runRuleTests } from './test-runner.ts';

/** Checks rule files; prints every error (`file:line: rule "x": field: message`) and a summary. */
export async function checkRuleFiles(files: string[], out: (line: string) => void): Promise<boolean> {
  let rules = 0;
  let errors = 0;
  for (const f of files) {
    const loaded = await loadRuleFile(f);
    for (const e of loaded.errors) out(formatRuleError(e));
    rules += loaded.rules.length;
    errors += loaded.errors.length;
    if (loaded.errors.length === 0) out(`ok   ${f}: ${loaded.rules.length} rules`);
  }
  out(errors === 0 ? `SUCCESS: ${rules} rules found` : `FAILED: ${errors} errors`);
  return errors === 0;
}

/**
 * Registers `obs rules check` and `obs rules test` on `program`. Failures set the exit code
 * through `exit` (default: `process.exitCode`), so that every line is printed first.
 */
export function registerRuleCommands(
  program: Command,
  out: (line: string) => void,
  exit: (code: number) => void = (code) => {
    process.exitCode = code;
  },
): void {
  const rules = program.command('rules').description('check and test alert rule files');
  rules
    .command('check')
    .description('check rule files for syntax and semantic errors (exit code 1 on any)')
    .argument('<files...>', 'rule files (YAML)')
    .action(async (files: string[]) => {
      if (!(await checkRuleFiles(files, out))) exit(1);
    });
  rules
    .command('test')
    .description(
      'run rule unit tests: input series, evaluation times, expected alerts (like promtool test rules)',
    )
    .argument('<files...>', 'test files (YAML)')
    .action(async (files: string[]) => {
      if (!(await runRuleTests(files, out))) exit(1);
    });
}
