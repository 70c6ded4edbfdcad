import { describe, expect, it } from 'vitest';
import { HotWindow } from './hot-window.ts';

describe('HotWindow', () => {
  it('keeps points in time order, replaces duplicates, and evicts old ones', () => {
    const w = new HotWindow(1000);
    w.add(0, 3000, 3);
    w.add(0, 1000, 1);
    w.add(0, 2000, 2);
    w.add(0, 2000, 20);
    w.add(0, 500, 0.5);
    expect(w.range(0, 0, 5000)).toEqual({ ts: [1000, 2000, 3000], values: [1, 20, 3] });
    expect(w.points).toBe(3);
    expect(w.range(0, 1500, 2500)).toEqual({ ts: [2000], values: [20] });
    w.evict(2500);
    expect(w.range(0, 0, 5000)).toEqual({ ts: [3000], values: [3] });
    expect(w.points).toBe(1);
    expect(w.from).toBe(2500);
    expect(w.last(0)).toEqual({ ts: 3000, value: 3 });
    expect(w.range(7, 0, 5000)).toEqual({ ts: [], values: [] });
  });
});
