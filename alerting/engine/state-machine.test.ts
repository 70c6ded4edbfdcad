import { describe, expect, it } from 'vitest';
import { crosses } from '../rules/condition.ts';
import type { Threshold } from '../rules/model.ts';
import { type SeriesRecord, type StepRule, step } from './state-machine.ts';

const S = 1000;
const RULE: StepRule = {
  forMs: 0,
  keepFiringForMs: 0,
  nodata: 'nodata',
  nodataAfterMs: 30 * S,
  detectsNodata: true,
};
const FIRE: Threshold = { op: '>', value: 90 };
const CLEAR: Threshold = { op: '<', value: 80 };

/** Values every 10 s from 0 (`null`: no data); returns the state after each, and the transitions. */
function run(rule: Partial<StepRule>, values: (number | null)[]) {
  const r = { ...RULE, ...rule };
  let rec: SeriesRecord | undefined;
  const states: string[] = [];
  const transitions: string[] = [];
  const startsAt: (number | null)[] = [];
  values.forEach((v, i) => {
    const now = i * 10 * S;
    const obs = v === null ? undefined : { value: v, fire: crosses(FIRE, v), clear: crosses(CLEAR, v) };
    const out = step(r, rec, obs, now, 'k', { host: 'h1' });
    rec = out.record;
    states.push(rec ? rec.state + (rec.nodata && rec.state !== 'nodata' ? '*' : '') : '-');
    for (const t of out.transitions) transitions.push(`${i}:${t.from}>${t.to}`);
    startsAt.push(rec?.startsAt ?? null);
  });
  return { states, transitions, startsAt, last: rec };
}

describe('step: the series state machine', () => {
  it('hysteresis: a value oscillating around the fire threshold fires once', () => {
    const { states, transitions } = run({}, [85, 95, 88, 91, 85, 92, 79, 85, 91]);
    expect(states).toEqual([
      'inactive',
      'firing',
      'firing',
      'firing',
      'firing',
      'firing',
      'inactive',
      'inactive',
      'firing',
    ]);
    expect(transitions).toEqual(['1:inactive>firing', '6:firing>resolved', '8:inactive>firing']);
  });

  it('for: holds pending until the condition held that long, and drops back if it stops', () => {
    const { states, transitions, startsAt } = run({ forMs: 20 * S }, [95, 95, 70, 95, 95, 95, 95]);
    expect(states).toEqual(['pending', 'pending', 'inactive', 'pending', 'pending', 'firing', 'firing']);
    expect(transitions).toEqual([
      '0:inactive>pending',
      '2:pending>inactive',
      '3:inactive>pending',
      '5:pending>firing',
    ]);
    expect(startsAt[5]).toBe(50 * S);
  });

  it('keep_firing_for: stays firing that long after the condition cleared', () => {
    const { states } = run({ keepFiringForMs: 25 * S }, [95, 70, 70, 70, 70]);
    expect(states).toEqual(['firing', 'firing', 'firing', 'firing', 'inactive']);
    // The condition coming back inside the window keeps the same alert.
    const back = run({ keepFiringForMs: 25 * S }, [95, 70, 95, 70, 70, 70, 70]);
    expect(back.states).toEqual(['firing', 'firing', 'firing', 'firing', 'firing', 'firing', 'inactive']);
    expect(new Set(back.startsAt.slice(0, 6))).toEqual(new Set([0]));
  });

  it('data that stops: held for nodata_after, then nodata — never resolved — with the same startsAt', () => {
    const { states, transitions, startsAt } = run({}, [95, 95, null, null, null, null, null]);
    expect(states).toEqual(['firing', 'firing', 'firing', 'firing', 'nodata', 'nodata', 'nodata']);
    expect(transitions).toEqual(['0:inactive>firing', '4:firing>nodata']);
    expect(startsAt[6]).toBe(0);
  });

  it('a quiet series that stops reporting becomes a nodata alert of its own; data back and fine resolves it', () => {
    const { states, transitions, startsAt } = run({}, [50, null, null, null, null, 50]);
    expect(states).toEqual(['inactive', 'inactive', 'inactive', 'nodata', 'nodata', 'inactive']);
    expect(transitions).toEqual(['3:inactive>nodata', '5:nodata>resolved']);
    expect(startsAt[3]).toBe(30 * S);
  });

  it('nodata then data that alerts: the same alert goes on firing', () => {
    const { transitions, startsAt } = run({}, [95, null, null, null, null, 95]);
    expect(transitions).toEqual(['0:inactive>firing', '3:firing>nodata', '5:nodata>firing']);
    expect(startsAt[5]).toBe(0);
  });

  it('nodata: ok treats silence as fine; nodata: alerting as alerting', () => {
    const ok = run({ nodata: 'ok' }, [95, null, null, null, null]);
    expect(ok.states).toEqual(['firing', 'firing', 'firing', '-', '-']);
    expect(ok.transitions).toEqual(['0:inactive>firing', '3:firing>resolved']);
    const alerting = run({ nodata: 'alerting', forMs: 10 * S }, [50, null, null, null, null, null]);
    expect(alerting.states).toEqual(['inactive', 'inactive', 'inactive', 'pending*', 'firing*', 'firing*']);
    expect(alerting.last?.value).toBeNull();
  });

  it('without a way to tell silence (no comparison), leaving the answer resolves at once', () => {
    const { states, transitions } = run({ detectsNodata: false }, [95, null]);
    expect(states).toEqual(['firing', '-']);
    expect(transitions).toEqual(['0:inactive>firing', '1:firing>resolved']);
  });
});
