/**
 * The rules the engine runs: those of a rules folder (reloaded whole; a file with any error keeps
 * its previous rules and its errors are listed) and those made through the API (kept in
 * `api-rules.json` in the data folder). Names are unique across both.
 */
import { join } from 'node:path';
import { HubError } from '../../core/errors.ts';
import { compileRule } from '../rules/compile.ts';
import { listRuleFiles, loadRuleFile } from '../rules/load.ts';
import { formatRuleError, type Rule, type RuleError, type RuleSpec } from '../rules/model.ts';
import { readJson, writeFileAtomic } from './files.ts';

/** A rule made through the API, as stored. */
export type ApiRuleRecord = { spec: RuleSpec; scope?: string[]; author?: string; updatedAt: number };
type ApiRulesFile = { version: 1; rules: ApiRuleRecord[] };

export type RuleAuthor = { name: string; scope?: string[] };

/** In `brokenFiles()` when the rules folder cannot be listed: every file's rules are unknown. */
export const BROKEN_DIR = '*';

type FileEntry = { rules: Rule[]; errors: RuleError[]; stamp: string };

export type RuleSet = {
  /** Every rule that runs now, by name. */
  all(): Map<string, Rule>;
  /** Errors of the rule files (each file with errors keeps its previous rules). */
  errors(): RuleError[];
  /**
   * Files whose rules are the previous good ones because the current text has errors;
   * `BROKEN_DIR` among them when the folder itself cannot be read.
   */
  brokenFiles(): Set<string>;
  /** Reads the API rules from the data folder. */
  loadApi(): Promise<void>;
  /** Whether the rules folder changed since the last load (files added, removed, modified). */
  dirChanged(): Promise<boolean>;
  /** Reloads the rules folder. */
  reloadDir(): Promise<void>;
  /** Checks and stores an API rule; `replace` names the rule it replaces (PUT). */
  putApi(spec: unknown, author: RuleAuthor, now: number, replace?: string): Promise<Rule>;
  deleteApi(name: string): Promise<void>;
};

export type RuleSetOptions = {
  rulesDir?: string;
  /** Where `api-rules.json` lives; without it API rules live in memory only. */
  dataDir?: string;
  /** Fixed rules (for `obs rules test` and tests). */
  rules?: Rule[];
  onError?: (e: RuleError) => void;
};

function invalid(errors: RuleError[]): HubError {
  const message = errors.map(formatRuleError).join('\n');
  return new HubError('BAD_REQUEST', message, { where: errors[0]?.field ?? 'body' });
}

export function createRuleSet(options: RuleSetOptions): RuleSet {
  const files = new Map<string, FileEntry>();
  const api = new Map<string, { record: ApiRuleRecord; rule: Rule }>();
  const fixed = new Map((options.rules ?? []).map((r) => [r.name, r]));
  let stamp = '';
  let dirError: RuleError | undefined;
  const apiPath = options.dataDir ? join(options.dataDir, 'api-rules.json') : undefined;

  const owner = (name: string): string | undefined => {
    const f = fixed.get(name);
    if (f) return f.origin.kind === 'file' ? f.origin.file : 'the fixed rules';
    if (api.has(name)) return 'the API';
    for (const [file, f] of files) if (f.rules.some((r) => r.name === name)) return file;
    return undefined;
  };

  async function saveApi(): Promise<void> {
    if (!apiPath) return;
    const file: ApiRulesFile = { version: 1, rules: [...api.values()].map((a) => a.record) };
    await writeFileAtomic(apiPath, JSON.stringify(file, null, 2));
  }

  function compileApi(record: ApiRuleRecord): { rule?: Rule; errors: RuleError[] } {
    return compileRule(record.spec, {
      kind: 'api',
      updatedAt: record.updatedAt,
      ...(record.scope ? { scope: record.scope } : {}),
      ...(record.author ? { author: record.author } : {}),
    });
  }

  async function currentStamp(dir: string): Promise<string> {
    try {
      return JSON.stringify(await listRuleFiles(dir));
    } catch (e) {
      return `error:${(e as Error).message}`;
    }
  }

  return {
    all() {
      const out = new Map(fixed);
      for (const f of files.values()) for (const r of f.rules) out.set(r.name, r);
      for (const [name, a] of api) out.set(name, a.rule);
      return out;
    },
    errors() {
      return [...(dirError ? [dirError] : []), ...[...files.values()].flatMap((f) => f.errors)];
    },
    brokenFiles() {
      const broken = new Set([...files].filter(([, f]) => f.errors.length > 0).map(([file]) => file));
      if (dirError) broken.add(BROKEN_DIR);
      return broken;
    },
    async loadApi() {
      if (!apiPath) return;
      const file = await readJson<ApiRulesFile>(apiPath);
      for (const record of file?.rules ?? []) {
        const { rule, errors } = compileApi(record);
        if (rule) api.set(rule.name, { record, rule });
        for (const e of errors) options.onError?.({ file: apiPath, ...e });
      }
    },
    async dirChanged() {
      return options.rulesDir !== undefined && (await currentStamp(options.rulesDir)) !== stamp;
    },
    async reloadDir() {
      const dir = options.rulesDir;
      if (!dir) return;
      stamp = await currentStamp(dir);
      let listed: Awaited<ReturnType<typeof listRuleFiles>>;
      try {
        listed = await listRuleFiles(dir);
        dirError = undefined;
      } catch (e) {
        dirError = { file: dir, message: `cannot list the rules folder: ${(e as Error).message}` };
        options.onError?.(dirError);
        return;
      }
      const taken = new Set([...fixed.keys(), ...api.keys()]);
      const next = new Map<string, FileEntry>();
      for (const info of listed) {
        const fileStamp = `${info.mtimeMs}:${info.size}`;
        const loaded = await loadRuleFile(info.path);
        const errors = [...loaded.errors];
        for (const r of loaded.rules)
          if (taken.has(r.name))
            errors.push({
              file: info.path,
              ...(r.origin.kind === 'file' && r.origin.line ? { line: r.origin.line } : {}),
              rule: r.name,
              field: 'name',
              message: `the name is taken by ${owner(r.name) ?? 'another rule'}`,
            });
        const previous = files.get(info.path);
        const rules =
          errors.length === 0 ? loaded.rules : (previous?.rules ?? []).filter((r) => !taken.has(r.name));
        for (const r of rules) taken.add(r.name);
        next.set(info.path, { rules, errors, stamp: fileStamp });
        if (previous?.stamp !== fileStamp || errors.length !== previous.errors.length)
          for (const e of errors) options.onError?.(e);
      }
      files.clear();
      for (const [k, v] of next) files.set(k, v);
    },
    async putApi(input, author, now, replace) {
      const spec =
        replace !== undefined && input !== null && typeof input === 'object' && !('name' in input)
          ? { name: replace, ...input }
          : input;
      const name = (spec as { name?: unknown } | null)?.name;
      if (replace !== undefined) {
        if (!api.has(replace)) {
          const where = owner(replace);
          throw where
            ? new HubError('BAD_REQUEST', `Rule "${replace}" is defined in ${where}; change it there`, {
                where: 'name',
              })
            : new HubError('NOT_FOUND', `No rule "${replace}"`, { where: 'name' });
        }
        if (typeof name === 'string' && name !== replace)
          throw new HubError('BAD_REQUEST', `The body names rule "${name}", the path "${replace}"`, {
            where: 'name',
          });
      } else if (typeof name === 'string' && owner(name))
        throw new HubError('BAD_REQUEST', `Rule "${name}" already exists (in ${owner(name)})`, {
          where: 'name',
        });
      const record: ApiRuleRecord = {
        spec: spec as RuleSpec,
        updatedAt: now,
        author: author.name,
        ...(author.scope ? { scope: author.scope } : {}),
      };
      const { rule, errors } = compileApi(record);
      if (!rule) throw invalid(errors);
      record.spec = rule.spec;
      api.set(rule.name, { record, rule });
      await saveApi();
      return rule;
    },
    async deleteApi(name) {
      if (!api.has(name)) {
        const where = owner(name);
        throw where
          ? new HubError('BAD_REQUEST', `Rule "${name}" is defined in ${where}; remove it there`, {
              where: 'name',
            })
          : new HubError('NOT_FOUND', `No rule "${name}"`, { where: 'name' });
      }
      api.delete(name);
      await saveApi();
    },
  };
}
