import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '../core/model.ts';
import { PublishedPoints } from './published-points.ts';

const pts = (n: number): MetricPoint[] => [{ metric: 'm', tags: { a: String(n) }, ts: n, value: n }];
const bytes = (n: number) => Buffer.from(`record ${n}`);

describe('PublishedPoints', () => {
  it('hands back the points of a record read back with the same bytes, once', () => {
    const published = new PublishedPoints();
    const a = pts(1);
    published.add(bytes(1), a);
    published.add(bytes(2), pts(2));
    // A copy of the bytes, as a bus reads them from its log.
    expect(published.take(Buffer.from(bytes(1)))).toBe(a);
    expect(published.take(bytes(1))).toBeUndefined();
    expect(published.take(bytes(2))).toEqual(pts(2));
    expect(published.size).toBe(0);
  });

  it('does not match a record it did not publish, or one of the same length with other bytes', () => {
    const published = new PublishedPoints();
    published.add(bytes(1), pts(1));
    expect(published.take(bytes(7))).toBeUndefined();
    expect(published.take(Buffer.from('other bytes'))).toBeUndefined();
    expect(published.size).toBe(1);
  });

  it('drops the entries older than a match, and the oldest beyond its size', () => {
    const published = new PublishedPoints(3, 8);
    for (const n of [1, 2, 3, 4]) published.add(bytes(n), pts(n));
    expect(published.size).toBe(3);
    expect(published.take(bytes(1))).toBeUndefined();
    expect(published.take(bytes(3))).toEqual(pts(3));
    expect(published.take(bytes(2))).toBeUndefined();
    expect(published.take(bytes(4))).toEqual(pts(4));
  });

  it('keeps at most so many points, dropping the oldest records', () => {
    const published = new PublishedPoints(64, 8, 5);
    const many = (n: number): MetricPoint[] => Array.from({ length: n }, (_, i) => ({ ...pts(i)[0]! }));
    const records = [many(2), many(2), many(2)];
    for (const [i, r] of records.entries()) published.add(bytes(i), r);
    // 6 points: the first record went.
    expect(published.size).toBe(2);
    expect(published.take(bytes(0))).toBeUndefined();
    expect(published.take(bytes(1))).toBe(records[1]);
    // Taking one gave its points back: a record of 2 more fits beside the one left.
    published.add(bytes(3), many(2));
    expect(published.size).toBe(2);
    expect(published.take(bytes(2))).toBe(records[2]);
  });

  it('looks only so far ahead', () => {
    const published = new PublishedPoints(64, 2);
    for (const n of [1, 2, 3]) published.add(bytes(n), pts(n));
    expect(published.take(bytes(3))).toBeUndefined();
    expect(published.take(bytes(2))).toEqual(pts(2));
  });

  it('forgets a record whose publishing failed', () => {
    const published = new PublishedPoints();
    published.add(bytes(1), pts(1));
    const failed = bytes(5);
    published.add(failed, pts(5));
    published.forget(failed);
    expect(published.size).toBe(1);
    expect(published.take(bytes(5))).toBeUndefined();
  });
});
