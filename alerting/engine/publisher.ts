/**
 * What follows each slice and each rule change, in this order: history appended (fsync), state
 * written (the changed rules appended to a journal, fsync; see state-store.ts), then the alerts
 * handed to the `AlertSink`. An alert is therefore on disk before anyone is paged for it, and a
 * restart finds it with its `startsAt`.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { Alert, AlertSink } from '../types.ts';
import type { HistoryEntry, RuleRuntime } from './evaluator.ts';
import type { History } from './history.ts';
import type { RuleTable } from './rule-table.ts';
import type { StateStore } from './state-store.ts';

export type Publisher = {
  /** A rule was evaluated: only its series changed, its saved state may be out of date. */
  evaluated(name: string): void;
  /** The rule set was taken in; `activeChanged`: series or alerts went away, save everything. */
  rulesChanged(activeChanged: boolean): void;
  /**
   * Records, persists, then tells the sink: nobody is paged for an alert not yet on disk. The
   * sink gets the firing alerts of `evaluated` (of every rule when undefined) and `resolved`.
   * Resolves to the firing alerts sent.
   */
  publish(
    at: number,
    transitions: HistoryEntry[],
    resolved: Alert[],
    evaluated?: RuleRuntime[],
  ): Promise<Alert[]>;
  /** The write of the last-seen times in progress, if any. */
  savingSeen(): Promise<void> | undefined;
  /** Waits for that write, then writes the last-seen times once more (at stop). */
  close(): Promise<void>;
};

export type PublisherOptions = {
  table: RuleTable;
  /** Without it nothing but the history (in memory) is kept. */
  store: StateStore | undefined;
  history: History;
  sink: AlertSink;
  clock: Clock;
  logger: Logger;
  /** How often the last-seen times of quiet series are written, ms. */
  persistEveryMs: number;
};

type SeenWriter = { maybeSave(at: number): void; saving(): Promise<void> | undefined };

/**
 * The list of known series is large and only matters for silence during a restart: it is
 * written every persistIntervalMs, not at every change, and in the background (the snapshot
 * is taken now), so the next slices' alerts do not wait for its fsync.
 */
function createSeenWriter(options: PublisherOptions & { store: StateStore }): SeenWriter {
  const { store, table, logger } = options;
  let lastSeenSave = Number.NEGATIVE_INFINITY;
  let seenSaving: Promise<void> | undefined;
  return {
    maybeSave(at) {
      if (seenSaving || at - lastSeenSave < options.persistEveryMs) return;
      lastSeenSave = at;
      seenSaving = store
        .saveSeen(table.snapshot(), at)
        .catch((e) => logger.error('rule engine could not write the last-seen times', { err: e }))
        .finally(() => {
          seenSaving = undefined;
        });
    },
    saving: () => seenSaving,
  };
}

export function createPublisher(options: PublisherOptions): Publisher {
  const { table, store, history, logger } = options;
  const seen = store ? createSeenWriter({ ...options, store }) : undefined;
  let activeDirty = false;
  /** Rules evaluated since the active state was last written (only their series changed). */
  const unsaved = new Set<string>();

  async function persist(at: number, changed: boolean, transitions: HistoryEntry[]): Promise<void> {
    await history.append(transitions);
    if (!store) return;
    if (changed || activeDirty) {
      const save = store.saveActive(table.snapshot(), at, activeDirty ? undefined : unsaved);
      unsaved.clear();
      activeDirty = false;
      await save;
    }
  }

  return {
    evaluated(name) {
      unsaved.add(name);
    },
    rulesChanged(activeChanged) {
      if (activeChanged) activeDirty = true;
      // A rule kept across the change may have new annotations: its saved text is out of date.
      for (const name of table.runtimes.keys()) unsaved.add(name);
    },
    async publish(at, transitions, resolved, evaluated) {
      await persist(at, transitions.length > 0 || resolved.length > 0, transitions);
      const firing = evaluated ? evaluated.flatMap((rt) => [...rt.alerts.values()]) : table.firing();
      try {
        await options.sink.update([...firing, ...resolved], at);
      } catch (e) {
        logger.error('alert sink failed', { err: e });
      }
      seen?.maybeSave(at);
      return firing;
    },
    savingSeen: () => seen?.saving(),
    async close() {
      await seen?.saving();
      if (store) await store.saveSeen(table.snapshot(), options.clock.now());
    },
  };
}
