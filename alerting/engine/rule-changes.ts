/**
 * Taking rule changes in: the rules folder reloaded (watched on a timer, or on `reload()`), API
 * rules put and deleted. A change runs in the step queue, between slices; the alerts of rules
 * that went away are resolved and published at once.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { RuleError } from '../rules/model.ts';
import type { Publisher } from './publisher.ts';
import type { RuleSet } from './rule-set.ts';
import type { RuleTable } from './rule-table.ts';
import type { StepQueue } from './step-queue.ts';
import type { Ticker } from './ticker.ts';

export type RuleChanges = {
  /** Takes the rule set in now; what it resolves is published by the next cycle. */
  apply(): void;
  /** Queues taking the rule set in; alerts of rules that went away are resolved at once. */
  change(): Promise<void>;
  /** Reloads the rules folder now, then takes it in; resolves to the folder's errors. */
  reload(): Promise<RuleError[]>;
  /** Checks the rules folder for changes every `intervalMs`, reloading it when it changed. */
  watch(intervalMs: number): void;
  stopWatching(): void;
  /** The check or reload of the folder in progress, if any. */
  watching(): Promise<void> | undefined;
};

export type RuleChangesOptions = {
  ruleSet: RuleSet;
  table: RuleTable;
  publisher: Publisher;
  ticker: Ticker;
  queue: StepQueue;
  clock: Clock;
  logger: Logger;
  externalUrl: () => string;
};

export function createRuleChanges(options: RuleChangesOptions): RuleChanges {
  const { ruleSet, table, publisher, clock } = options;
  let stopWatch = () => {};
  let watching: Promise<void> | undefined;

  function apply(): void {
    const changed = table.adopt({
      next: ruleSet.all(),
      broken: ruleSet.brokenFiles(),
      at: { now: clock.now(), externalUrl: options.externalUrl() },
    });
    publisher.rulesChanged(changed);
    options.ticker.reschedule();
  }

  async function changeRules(): Promise<void> {
    apply();
    if (table.pending().resolved.length === 0) return;
    const { transitions, resolved } = table.takePending();
    await publisher.publish(clock.now(), transitions, resolved);
  }

  async function reload(): Promise<RuleError[]> {
    await ruleSet.reloadDir();
    await options.queue.run(changeRules);
    return ruleSet.errors();
  }

  function check(): void {
    if (watching) return;
    watching = ruleSet
      .dirChanged()
      .then((changed) => (changed ? reload().then(() => undefined) : undefined))
      .catch((e) => options.logger.error('rules folder check failed', { err: e }))
      .finally(() => {
        watching = undefined;
      });
  }

  return {
    apply,
    change: () => options.queue.run(changeRules),
    reload,
    watch(intervalMs) {
      stopWatch = clock.setInterval(check, intervalMs);
    },
    stopWatching: () => stopWatch(),
    watching: () => watching,
  };
}
