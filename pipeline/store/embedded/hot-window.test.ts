import { describe, expect, it } from 'vitest';
import { HotWindow } from './hot-window.ts';

const plain = (r: { ts: Float64Array; values: Float64Array }) => ({ ts: [...r.ts], values: [...r.values] });

describe('HotWindow', () => {
  it('keeps points in time order, replaces duplicates, and evicts old ones', () => {
    const w = new HotWindow(1000);
    w.add(0, 3000, 3);
    w.add(0, 1000, 1);
    w.add(0, 2000, 2);
    w.add(0, 2000, 20);
    w.add(0, 500, 0.5);
    expect(plain(w.view(0, 0, 5000))).toEqual({ ts: [1000, 2000, 3000], values: [1, 20, 3] });
    expect(w.points).toBe(3);
    expect(plain(w.view(0, 1500, 2500))).toEqual({ ts: [2000], values: [20] });
    w.evict(2500);
    expect(plain(w.view(0, 0, 5000))).toEqual({ ts: [3000], values: [3] });
    expect(w.points).toBe(1);
    expect(w.from).toBe(2500);
    expect(w.last(0)).toEqual({ ts: 3000, value: 3 });
    expect(plain(w.view(7, 0, 5000))).toEqual({ ts: [], values: [] });
  });

  it('grows past its first arrays, moving points inserted in front and evicted', () => {
    const w = new HotWindow(0);
    for (let t = 1; t <= 100; t++) w.add(1, t * 10, t);
    expect(plain(w.view(1, 0, 30))).toEqual({ ts: [10, 20, 30], values: [1, 2, 3] });
    w.add(1, 5, -1); // in front: every point moves
    expect(plain(w.view(1, 0, 20))).toEqual({ ts: [5, 10, 20], values: [-1, 1, 2] });
    w.evict(500);
    expect(plain(w.view(1, 0, 520))).toEqual({ ts: [500, 510, 520], values: [50, 51, 52] });
    expect(w.points).toBe(51);
  });
});
