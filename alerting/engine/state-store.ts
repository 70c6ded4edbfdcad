/**
 * The engine's state on disk, in two files replaced atomically (see files.ts):
 * - `active.json`: every series not inactive (pending, firing, nodata) with its record and its
 *   firing alert, written after every evaluation that changed a state. A restart (also after
 *   `kill -9`) finds each firing alert with its original `startsAt`, so the notification side
 *   sees the same alert and does not page again; a later resolve is sent as usual.
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

type ActiveFile = { version: number; savedAt: number; rules: Record<string, PersistedRule> };
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

export function createStateStore(dir: string): StateStore {
  const activePath = join(dir, 'active.json');
  const seenPath = join(dir, 'seen.json');
  // With rules evaluated in slices, most rules are unchanged at each save: their text is kept.
  let members = new Map<string, string>();
  return {
    async load(onCorrupt) {
      const out: LoadedState = new Map();
      const read = async <T>(path: string): Promise<T | undefined> => {
        try {
          return await readJson<T>(path);
        } catch (e) {
          if (!(e instanceof SyntaxError)) throw e;
          await rename(path, `${path}.corrupt-${Date.now()}`);
          onCorrupt?.(path, e);
          return undefined;
        }
      };
      const seen = await read<SeenFile>(seenPath);
      const active = await read<ActiveFile>(activePath);
      for (const [name, r] of Object.entries(seen?.rules ?? {}))
        out.set(name, {
          identity: r.identity,
          origin: { kind: 'file' },
          series: r.series.map(([key, tags, at]) => seenRecord(key, tags, at)),
          alerts: [],
        });
      for (const [name, r] of Object.entries(active?.rules ?? {})) {
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
    async saveActive(rules, now, changed) {
      const next = new Map<string, string>();
      for (const r of rules) {
        const kept = changed && !changed.has(r.name) ? members.get(r.name) : undefined;
        next.set(r.name, kept ?? activeMember(r));
      }
      members = next;
      const body = [...next.values()].filter((m) => m !== '').join(',');
      // The text of an ActiveFile, built from the members.
      await writeFileAtomic(activePath, `{"version":${STATE_VERSION},"savedAt":${now},"rules":{${body}}}`);
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
