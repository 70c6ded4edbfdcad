/**
 * The engine's state on disk:
 * - `active.json` and its journal `active.<n>.log` (see journal.ts): every series not inactive
 *   (pending, firing, nodata) with its record and its firing alert. After every evaluation that
 *   changed a state, one line with the state of the rules that changed is appended and fsynced,
 *   so the cost follows what changed, not the number of firing alerts; the journal is folded
 *   into a new `active.json` when it has grown past twice its size, in the background. A restart
 *   (also after `kill -9`) finds each firing alert with its original `startsAt`, so the
 *   notification side sees the same alert and does not page again; a later resolve is sent as usual.
 * - `seen.json`: every series each rule knows, with when it last had data, written every
 *   `persistIntervalMs` (and at stop), so that a series that went silent while the
 *   hub was down still turns `nodata` after the restart.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tags } from '../../core/model.ts';
import type { RuleOrigin } from '../rules/model.ts';
import type { Alert } from '../types.ts';
import { readJson, writeFileAtomic } from './files.ts';
import { type Journal, openJournal } from './journal.ts';
import type { SeriesRecord } from './state-machine.ts';

export const STATE_VERSION = 1;

export type PersistedRule = {
  identity: string;
  origin: Pick<RuleOrigin, 'kind'> & { file?: string };
  /** Records not inactive. */
  series: SeriesRecord[];
  /** Their firing alerts, as last reported, by series key. */
  alerts: [key: string, alert: Alert][];
};

type ActiveFile = {
  version: number;
  savedAt: number;
  /** The journal that follows this snapshot (none before journals: 0). */
  journal?: number;
  rules: Record<string, PersistedRule>;
};
/** One line of the journal: the rules whose state changed, null for a rule with nothing active. */
type ActiveRecord = { at: number; rules: Record<string, PersistedRule | null> };
type SeenFile = {
  version: number;
  savedAt: number;
  rules: Record<string, { identity: string; series: [key: string, tags: Tags, lastSeenAt: number][] }>;
};

export type LoadedState = Map<string, PersistedRule>;

export type StateSnapshot = {
  name: string;
  identity: string;
  origin: PersistedRule['origin'];
  records: Iterable<SeriesRecord>;
  alerts: Iterable<[string, Alert]>;
};

export type StateStore = {
  /** Reads the state; a file that cannot be parsed is renamed `*.corrupt-<ms>` and reported. */
  load(onCorrupt?: (path: string, error: Error) => void): Promise<LoadedState>;
  /**
   * Writes every rule's active series. `changed`: the only rules whose state changed since the
   * last save (the others' text is reused); undefined: any may have.
   */
  saveActive(rules: StateSnapshot[], now: number, changed?: ReadonlySet<string>): Promise<void>;
  saveSeen(rules: StateSnapshot[], now: number): Promise<void>;
};

function seenRecord(key: string, tags: Tags, lastSeenAt: number): SeriesRecord {
  return {
    key,
    tags,
    state: 'inactive',
    active: false,
    activeSince: null,
    startsAt: null,
    keepFiringSince: null,
    lastSeenAt,
    value: null,
    since: lastSeenAt,
    nodata: false,
  };
}

/** One rule's `"name":{...}` member of `active.json`, or '' when it has nothing active. */
function activeMember(r: StateSnapshot): string {
  const series = [...r.records].filter((s) => s.state !== 'inactive');
  const alerts = [...r.alerts];
  if (series.length === 0 && alerts.length === 0) return '';
  const rule: PersistedRule = { identity: r.identity, origin: r.origin, series, alerts };
  return `${JSON.stringify(r.name)}:${JSON.stringify(rule)}`;
}

export type StateStoreOptions = {
  /** A background compaction failed (the journal keeps growing and is retried later). */
  onError?: (error: Error) => void;
  /** Journal size past which it is compacted (see journal.ts); tests make it small. */
  compactBytes?: number;
  compactAgeMs?: number;
  now?: () => number;
};

export function createStateStore(dir: string, options: StateStoreOptions = {}): StateStore {
  const seenPath = join(dir, 'seen.json');
  const now = options.now ?? Date.now;
  let journal: Journal | undefined;
  /**
   * Each rule's member text as last written (see activeMember), or undefined before the first
   * full save: with rules evaluated in slices, most are unchanged at each save.
   */
  let members: Map<string, string> | undefined;
  const snapshotText = (at: number) => (n: number) => {
    const body = [...members!.values()].filter((m) => m !== '').join(',');
    return `{"version":${STATE_VERSION},"savedAt":${at},"journal":${n},"rules":{${body}}}`;
  };

  async function loadActive(onCorrupt?: (path: string, error: Error) => void): Promise<ActiveFile['rules']> {
    const opened = await openJournal<ActiveFile>({
      dir,
      name: 'active',
      now,
      onCorrupt: onCorrupt ?? (() => {}),
      ...(options.compactBytes !== undefined ? { compactBytes: options.compactBytes } : {}),
      ...(options.compactAgeMs !== undefined ? { compactAgeMs: options.compactAgeMs } : {}),
    });
    journal = opened.journal;
    const rules = { ...opened.snapshot?.rules };
    for (const record of opened.records as ActiveRecord[])
      for (const [name, r] of Object.entries(record.rules ?? {})) {
        if (r) rules[name] = r;
        else delete rules[name];
      }
    if (opened.replayed) {
      const at = now();
      await journal.compact(
        (n) =>
          JSON.stringify({ version: STATE_VERSION, savedAt: at, journal: n, rules } satisfies ActiveFile),
        at,
      );
    }
    return rules;
  }

  return {
    async load(onCorrupt) {
      const out: LoadedState = new Map();
      let seen: SeenFile | undefined;
      try {
        seen = await readJson<SeenFile>(seenPath);
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
        await rename(seenPath, `${seenPath}.corrupt-${Date.now()}`);
        onCorrupt?.(seenPath, e);
      }
      const active = await loadActive(onCorrupt);
      for (const [name, r] of Object.entries(seen?.rules ?? {}))
        out.set(name, {
          identity: r.identity,
          origin: { kind: 'file' },
          series: r.series.map(([key, tags, at]) => seenRecord(key, tags, at)),
          alerts: [],
        });
      for (const [name, r] of Object.entries(active)) {
        const base = out.get(name);
        const byKey = new Map(
          (base && base.identity === r.identity ? base.series : []).map((s) => [s.key, s] as const),
        );
        for (const s of r.series) byKey.set(s.key, s);
        out.set(name, {
          identity: r.identity,
          origin: r.origin,
          series: [...byKey.values()],
          alerts: r.alerts,
        });
      }
      return out;
    },
    async saveActive(rules, at, changed) {
      if (!journal) await loadActive();
      const j = journal!;
      if (!members || !changed) {
        members = new Map(rules.map((r) => [r.name, activeMember(r)]));
        await j.compact(snapshotText(at), at);
        return;
      }
      const parts: string[] = [];
      for (const r of rules) {
        if (!changed.has(r.name)) continue;
        const text = activeMember(r);
        if (text === (members.get(r.name) ?? '')) continue;
        members.set(r.name, text);
        parts.push(text || `${JSON.stringify(r.name)}:null`);
      }
      if (parts.length === 0) return;
      await j.append(`{"at":${at},"rules":{${parts.join(',')}}}\n`);
      if (j.due(at)) j.compact(snapshotText(at), at).catch((e: Error) => options.onError?.(e));
    },
    async saveSeen(rules, now) {
      const file: SeenFile = { version: STATE_VERSION, savedAt: now, rules: {} };
      for (const r of rules) {
        const series: SeenFile['rules'][string]['series'] = [];
        for (const s of r.records) series.push([s.key, s.tags, s.lastSeenAt]);
        if (series.length > 0) file.rules[r.name] = { identity: r.identity, series };
      }
      await writeFileAtomic(seenPath, JSON.stringify(file));
    },
  };
}
