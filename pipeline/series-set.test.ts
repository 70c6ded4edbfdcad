import { describe, expect, it } from 'vitest';
import { seriesKey } from '../core/model.ts';
import { SeriesSet } from './series-set.ts';

describe('SeriesSet', () => {
  it('finds a series by its names in any tag order, and only that series', () => {
    const set = new SeriesSet();
    const added = set.add('cpu', { host: 'h1', app: 'web' });
    expect(added.key).toBe(seriesKey('cpu', { host: 'h1', app: 'web' }));
    expect(set.get('cpu', { app: 'web', host: 'h1' })).toBe(added);
    expect(set.get('cpu', { app: 'web' })).toBeUndefined();
    expect(set.get('cpu', { app: 'web', host: 'h1', dc: 'x' })).toBeUndefined();
    expect(set.get('cpu', { app: 'web', host: 'h2' })).toBeUndefined();
    expect(set.get('mem', { app: 'web', host: 'h1' })).toBeUndefined();
    // Swapped key and value, or a character moved across the "=", hash the same pairs differently.
    expect(set.get('cpu', { web: 'app', h1: 'host' })).toBeUndefined();
    expect(set.get('cpu', { hos: 'th1', app: 'web' })).toBeUndefined();
  });

  it('keeps series apart whose hashes collide', () => {
    const set = new SeriesSet();
    const names = Array.from({ length: 20_000 }, (_, i) => ({ metric: `m${i % 7}`, tags: { t: `v${i}` } }));
    for (const n of names) set.add(n.metric, n.tags);
    expect(set.size).toBe(names.length);
    for (const n of names) expect(set.get(n.metric, { ...n.tags })?.key).toBe(seriesKey(n.metric, n.tags));
  });

  it('keeps its own frozen copy of the tags', () => {
    const set = new SeriesSet();
    const tags = { host: 'h1' };
    const added = set.add('cpu', tags);
    tags.host = 'h2';
    expect(added.tags).toEqual({ host: 'h1' });
    expect(Object.isFrozen(added.tags)).toBe(true);
    expect(set.get('cpu', { host: 'h1' })).toBe(added);
  });
});

describe('SeriesSet by frozen tags object', () => {
  it('finds a series again by its frozen tags object, only for that metric', () => {
    const set = new SeriesSet();
    const cpu = set.add('cpu', { host: 'h1' });
    const mem = set.add('mem', { host: 'h1' });
    const shared = Object.freeze({ host: 'h1' });
    expect(set.get('cpu', shared)).toBe(cpu);
    expect(set.get('cpu', shared)).toBe(cpu);
    // The same frozen object with another metric is looked up by names, not mistaken for cpu.
    expect(set.get('mem', shared)).toBe(mem);
    expect(set.get('disk', shared)).toBeUndefined();
  });

  it('does not remember an object that can still change', () => {
    const set = new SeriesSet();
    const h1 = set.add('cpu', { host: 'h1' });
    const tags = { host: 'h1' };
    expect(set.get('cpu', tags)).toBe(h1);
    tags.host = 'h2';
    expect(set.get('cpu', tags)).toBeUndefined();
  });
});
