/**
 * The life of one series of one rule, as a pure function of its previous record and what this
 * evaluation saw: inactive → pending → firing → (resolved →) inactive, and `nodata` for a series
 * that stopped reporting. Hysteresis, `for`, `keep_firing_for` and the no-data policy live here.
 */
import type { Tags } from '../../core/model.ts';
import type { Rule } from '../rules/model.ts';
import type { SeriesState } from '../types.ts';

/** What the engine keeps per series (and persists for the ones not inactive). */
export type SeriesRecord = {
  /** The series' identity: its tags as `seriesKey('', tags)`. */
  key: string;
  tags: Tags;
  state: SeriesState;
  /** Hysteresis: whether the condition holds (fired and not cleared yet). */
  active: boolean;
  /** When the condition started holding (pending began). */
  activeSince: number | null;
  /** When the alert started: the firing (or no-data) alert the notification side knows. */
  startsAt: number | null;
  /** First evaluation the condition no longer held while firing, for `keep_firing_for`. */
  keepFiringSince: number | null;
  /** Last evaluation that saw data for the series. */
  lastSeenAt: number;
  /** Last value; null without data. */
  value: number | null;
  /** When the series entered its state. */
  since: number;
  /** The series has no data (past `nodata_after`). */
  nodata: boolean;
};

/** What one evaluation saw of a series that has data. */
export type Observation = {
  value: number | null;
  /** The value crosses the fire threshold (or the filter kept the series). */
  fire: boolean;
  /** The value crosses the clear threshold (or the filter dropped it). */
  clear: boolean;
};

export type TransitionTo = SeriesState | 'resolved';
export type Transition = { from: SeriesState; to: TransitionTo };

export type StepRule = Pick<Rule, 'forMs' | 'keepFiringForMs' | 'nodata' | 'nodataAfterMs' | 'detectsNodata'>;

export type StepResult = {
  /** The new record; undefined when there is nothing left to remember. */
  record: SeriesRecord | undefined;
  transitions: Transition[];
  /** The alert that ended in this step, as it was (its start and last value). */
  resolved?: { startsAt: number; value: number | null; nodata: boolean };
};

export function newRecord(key: string, tags: Tags, now: number): SeriesRecord {
  return {
    key,
    tags,
    state: 'inactive',
    active: false,
    activeSince: null,
    startsAt: null,
    keepFiringSince: null,
    lastSeenAt: now,
    value: null,
    since: now,
    nodata: false,
  };
}

function moveTo(r: SeriesRecord, state: SeriesState, now: number, out: StepResult): void {
  if (r.state === state) return;
  out.transitions.push({ from: r.state, to: state });
  r.state = state;
  r.since = now;
}

function resolve(r: SeriesRecord, now: number, out: StepResult): void {
  out.transitions.push({ from: r.state, to: 'resolved' });
  out.resolved = { startsAt: r.startsAt ?? now, value: r.value, nodata: r.nodata || r.state === 'nodata' };
  r.state = 'inactive';
  r.since = now;
  r.active = false;
  r.activeSince = null;
  r.startsAt = null;
  r.keepFiringSince = null;
}

/** Applies whether the condition holds now to the record's state. */
function advance(rule: StepRule, r: SeriesRecord, holds: boolean, now: number, out: StepResult): void {
  r.active = holds;
  switch (r.state) {
    case 'inactive':
      if (!holds) break;
      r.activeSince = now;
      if (rule.forMs > 0) moveTo(r, 'pending', now, out);
      else fire(r, now, out);
      break;
    case 'pending':
      if (!holds) {
        r.activeSince = null;
        moveTo(r, 'inactive', now, out);
      } else if (now - (r.activeSince ?? now) >= rule.forMs) fire(r, now, out);
      break;
    case 'firing':
      if (holds) {
        r.keepFiringSince = null;
        break;
      }
      r.keepFiringSince ??= now;
      if (rule.keepFiringForMs <= 0 || now - r.keepFiringSince >= rule.keepFiringForMs) resolve(r, now, out);
      break;
    case 'nodata':
      // Data is back. The no-data alert was firing already: it goes on as a firing alert (the
      // same one, so no new page) or it resolves.
      if (!holds) resolve(r, now, out);
      else {
        r.keepFiringSince = null;
        r.activeSince ??= now;
        moveTo(r, 'firing', now, out);
      }
      break;
  }
}

function fire(r: SeriesRecord, now: number, out: StepResult): void {
  r.startsAt = now;
  moveTo(r, 'firing', now, out);
}

function present(rule: StepRule, prev: SeriesRecord, obs: Observation, now: number): StepResult {
  const r: SeriesRecord = { ...prev, lastSeenAt: now, value: obs.value, nodata: false };
  const out: StepResult = { record: r, transitions: [] };
  const holds = prev.active ? !obs.clear : obs.fire;
  advance(rule, r, holds, now, out);
  return out;
}

function absent(rule: StepRule, prev: SeriesRecord, now: number): StepResult {
  const r: SeriesRecord = { ...prev };
  const out: StepResult = { record: r, transitions: [] };
  const gone = () => {
    r.value = null;
    advance(rule, r, false, now, out);
    if (r.state === 'inactive') out.record = undefined;
  };
  if (!rule.detectsNodata) {
    // Without a comparison the answer cannot tell "fine" from "silent": leaving it means fine.
    gone();
    return out;
  }
  // A gap shorter than nodata_after changes nothing: a late scrape must not flap an alert.
  if (now - r.lastSeenAt < rule.nodataAfterMs) return out;
  r.nodata = true;
  if (rule.nodata === 'ok') {
    r.nodata = false;
    gone();
  } else if (rule.nodata === 'alerting') {
    r.value = null;
    advance(rule, r, true, now, out);
  } else if (r.state !== 'nodata') {
    // Never "resolved" because data stopped: a firing alert stays the same alert, now without data.
    if (r.state !== 'firing') r.startsAt = now;
    r.value = null;
    r.keepFiringSince = null;
    moveTo(r, 'nodata', now, out);
  }
  return out;
}

/**
 * One evaluation of one series: `obs` is what the evaluation saw (undefined: the series was not
 * in the answer). `prev` undefined means the series is new to the rule.
 */
export function step(
  rule: StepRule,
  prev: SeriesRecord | undefined,
  obs: Observation | undefined,
  now: number,
  key: string,
  tags: Tags,
): StepResult {
  if (obs) return present(rule, prev ?? newRecord(key, tags, now), obs, now);
  if (!prev) return { record: undefined, transitions: [] };
  return absent(rule, prev, now);
}

/** Whether the record stands for an alert the notification side must know as firing. */
export function isAlerting(r: SeriesRecord): boolean {
  return r.state === 'firing' || r.state === 'nodata';
}
