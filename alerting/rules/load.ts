/**
 * Rule files: YAML with `groups: [{ name, interval?, rules: [...] }]`, or a bare `rules: [...]`.
 * Every error names the file, its line, the rule and the field. A file is all or nothing: the
 * engine keeps a file's previous rules while it has any error.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { compileRule, issuesToErrors } from './compile.ts';
import type { Rule, RuleError } from './model.ts';

export type LoadResult = { rules: Rule[]; errors: RuleError[] };

const groupSchema = z
  .object({
    name: z.string().min(1),
    interval: z.union([z.string().min(1), z.number().int().positive()]).optional(),
    rules: z.array(z.unknown()),
  })
  .strict();

const fileSchema = z.union([
  z.object({ groups: z.array(z.unknown()) }).strict(),
  z.object({ rules: z.array(z.unknown()) }).strict(),
]);

/** Whether a file of a rules folder holds rules (test files `*.test.yaml` sit beside them). */
export function isRuleFile(name: string): boolean {
  return /\.ya?ml$/.test(name) && !/\.test\.ya?ml$/.test(name) && !name.startsWith('.');
}

/** Parses and compiles one rule file's text; `file` is used in errors and as the rules' origin. */
export function parseRuleFile(text: string, file: string): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0)
    return {
      rules: [],
      errors: doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0]?.line,
        message: `not valid YAML: ${e.message.split('\n')[0]}`,
      })),
    };
  const lineOf = (path: PropertyKey[]): number | undefined => {
    for (let p = path; p.length >= 0; p = p.slice(0, -1)) {
      const node = (p.length ? doc.getIn(p as unknown[], true) : doc.contents) as Node | undefined;
      if (node?.range) return lines.linePos(node.range[0]).line;
      if (p.length === 0) return undefined;
    }
    return undefined;
  };
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return { rules: [], errors: [] };
  const shape = fileSchema.safeParse(data);
  if (!shape.success)
    return {
      rules: [],
      errors: [
        {
          file,
          line: 1,
          message: 'a rule file holds either groups: [{ name, rules: [...] }] or rules: [...]',
        },
      ],
    };
  const groups: { value: unknown; path: PropertyKey[] }[] =
    'groups' in shape.data
      ? shape.data.groups.map((g, i) => ({ value: g, path: ['groups', i] }))
      : [{ value: { name: basename(file).replace(/\.ya?ml$/, ''), rules: shape.data.rules }, path: [] }];

  const rules: Rule[] = [];
  const errors: RuleError[] = [];
  const seen = new Map<string, number | undefined>();
  for (const g of groups) {
    const group = groupSchema.safeParse(g.value);
    if (!group.success) {
      for (const e of issuesToErrors(group.error.issues, Object.keys(groupSchema.shape), g.path))
        errors.push({ file, line: lineOf(e.field ? e.field.split('.').map(pathPart) : g.path), ...e });
      continue;
    }
    group.data.rules.forEach((input, i) => {
      const path = [...g.path, 'rules', i];
      const line = lineOf(path);
      const origin = { kind: 'file' as const, file, group: group.data.name, ...(line ? { line } : {}) };
      const defaults = group.data.interval === undefined ? {} : { interval: group.data.interval };
      const result = compileRule(input, origin, defaults);
      for (const e of result.errors) {
        const fieldPath = e.field ? e.field.split('.').map(pathPart) : [];
        errors.push({ file, line: lineOf([...path, ...fieldPath]), ...e });
      }
      if (!result.rule) return;
      const first = seen.get(result.rule.name);
      if (seen.has(result.rule.name)) {
        errors.push({
          file,
          line: lineOf([...path, 'name']),
          rule: result.rule.name,
          field: 'name',
          message: `duplicate rule name (first at line ${first ?? '?'})`,
        });
        return;
      }
      seen.set(result.rule.name, line);
      rules.push(result.rule);
    });
  }
  return { rules, errors };
}

function pathPart(p: string): string | number {
  return /^\d+$/.test(p) ? Number(p) : p;
}

/** Reads and compiles one rule file; an unreadable file is one error. */
export async function loadRuleFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { rules: [], errors: [{ file: path, message: `cannot read: ${(e as Error).message}` }] };
  }
  return parseRuleFile(text, path);
}

export type RuleFileInfo = { path: string; mtimeMs: number; size: number };

/** The rule files of a folder (not its sub-folders), by name, with what tells a change. */
export async function listRuleFiles(dir: string): Promise<RuleFileInfo[]> {
  const names = (await readdir(dir)).filter(isRuleFile).sort();
  const out: RuleFileInfo[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const s = await stat(path);
      if (s.isFile()) out.push({ path, mtimeMs: s.mtimeMs, size: s.size });
    } catch {
      // Removed between readdir and stat: it is gone.
    }
  }
  return out;
}
