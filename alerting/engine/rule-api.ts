/** The engine's API views (rules, errors, active alerts, history) and its API rules' changes. */
import type { Clock } from '../../core/clock.ts';
import type { RuleEngine } from './engine.ts';
import type { History } from './history.ts';
import type { RuleSet } from './rule-set.ts';
import type { RuleTable } from './rule-table.ts';
import { describeActive, describeRule, type RuleStatus } from './runtime.ts';

export type RuleApi = Pick<
  RuleEngine,
  'rules' | 'rule' | 'errors' | 'alerts' | 'history' | 'createRule' | 'updateRule' | 'deleteRule'
>;

export type RuleApiOptions = {
  table: RuleTable;
  ruleSet: RuleSet;
  history: History;
  clock: Clock;
  externalUrl: () => string;
  /** Takes the changed rule set in (see `RuleChanges.change`). */
  change: () => Promise<void>;
};

export function createRuleApi(options: RuleApiOptions): RuleApi {
  const { table, ruleSet, clock, change } = options;

  function status(name: string): RuleStatus {
    const rt = table.runtimes.get(name);
    if (!rt) throw new Error(`rule ${name} is not running`);
    return describeRule(rt);
  }

  return {
    rules: () =>
      [...table.runtimes.values()]
        .map(describeRule)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    rule: (name) => {
      const rt = table.runtimes.get(name);
      return rt ? describeRule(rt) : undefined;
    },
    errors: () => ruleSet.errors(),
    alerts: () =>
      describeActive(table.runtimes.values(), table.dormant, {
        now: clock.now(),
        externalUrl: options.externalUrl(),
      }),
    history: (q) => options.history.query(q),
    async createRule(spec, author) {
      const rule = await ruleSet.putApi(spec, author, clock.now());
      await change();
      return status(rule.name);
    },
    async updateRule(name, spec, author) {
      await ruleSet.putApi(spec, author, clock.now(), name);
      await change();
      return status(name);
    },
    async deleteRule(name) {
      await ruleSet.deleteApi(name);
      await change();
    },
  };
}
