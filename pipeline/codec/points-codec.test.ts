import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import { type MetricPoint, seriesKey } from '../../core/model.ts';
import {
  BINARY_RECORD_VERSION,
  decodePoints,
  decodePointsWithKeys,
  encodeBinaryPoints,
  encodePoints,
  SeriesCache,
  safeSeriesKey,
} from './points-codec.ts';

const points: MetricPoint[] = [
  {
    metric: 'container.cpu.usage',
    tags: { host: 'h1', app: 'web', dc: 'dc1' },
    ts: 1764000000000,
    value: 0.25,
  },
  { metric: 'container.mem.rss', tags: { host: 'h1', app: 'web' }, ts: 1764000000000, value: 123456789012 },
  {
    metric: 'container.cpu.usage',
    tags: { host: 'h1', app: 'web', dc: 'dc1' },
    ts: 1764000010000,
    value: -1.5e-9,
  },
  { metric: 'température', tags: { ville: 'Genève' }, ts: 1, value: 0 },
];
const keys = points.map((p) => seriesKey(p.metric, p.tags));

describe('points records', () => {
  it('reads a v1 JSON record, as older hubs and Kafka producers write it', () => {
    const json = Buffer.from(JSON.stringify([['sys.cpu.user', { host: 'h1' }, 1764000000000, 12.5]]));
    expect(decodePoints(json)).toEqual([
      { metric: 'sys.cpu.user', tags: { host: 'h1' }, ts: 1764000000000, value: 12.5 },
    ]);
    expect(decodePoints(encodePoints(points))).toEqual(points);
  });

  it('round-trips a v2 binary record with its series keys, Unicode names included', () => {
    const bytes = encodeBinaryPoints(points, keys);
    expect(bytes[0]).toBe(BINARY_RECORD_VERSION);
    const decoded = decodePointsWithKeys(bytes);
    expect(decoded.points).toEqual(points);
    expect(decoded.keys).toEqual(keys);
    expect(bytes.length).toBeLessThan(encodePoints(points).length);
  });

  it('shares one frozen tags object among the points of a series when given a cache', () => {
    const cache = new SeriesCache();
    const first = decodePoints(encodeBinaryPoints(points, keys), cache);
    const second = decodePoints(encodeBinaryPoints(points, keys), cache);
    expect(first[0]!.tags).toBe(first[2]!.tags);
    expect(second[0]!.tags).toBe(first[0]!.tags);
    expect(Object.isFrozen(first[0]!.tags)).toBe(true);
  });

  it('round-trips a record whose keys are read in several pieces, one key longer than a piece', () => {
    const many: MetricPoint[] = Array.from({ length: 3_000 }, (_, i) => ({
      metric: i === 1_234 ? `m${'x'.repeat(40_000)}` : 'container.cpu.usage',
      tags: { container: `c${i}-${'é'.repeat(i % 7)}`, task: `t${'0'.repeat(150)}${i}` },
      ts: 1764000000000 + i,
      value: i / 3,
    }));
    const manyKeys = many.map((p) => seriesKey(p.metric, p.tags));
    const decoded = decodePointsWithKeys(encodeBinaryPoints(many, manyKeys));
    expect(decoded.keys).toEqual(manyKeys);
    expect(decoded.points).toEqual(many);
  });

  it('round-trips an empty record', () => {
    expect(decodePoints(encodeBinaryPoints([], []))).toEqual([]);
  });

  it('has no v2 key for a name the key could not be read back from', () => {
    expect(safeSeriesKey(points[0]!)).toBe(keys[0]);
    expect(safeSeriesKey({ metric: 'a{b', tags: { x: 'y' }, ts: 1, value: 1 })).toBeUndefined();
    expect(safeSeriesKey({ metric: 'a', tags: { x: 'y,z=w' }, ts: 1, value: 1 })).toBeUndefined();
    expect(safeSeriesKey({ metric: 'a', tags: { 'x=': 'y' }, ts: 1, value: 1 })).toBeUndefined();
  });

  it.each([
    ['a truncated header', Buffer.from([BINARY_RECORD_VERSION, 1])],
    ['fewer numbers than points', Buffer.from([BINARY_RECORD_VERSION, 2, 0, 0, 0, 1, 2, 3])],
    ['a bad series key', encodeBinaryPoints([points[0]!], ['not a key'])],
    ['fewer keys than points', encodeBinaryPoints(points.slice(0, 2), [keys[0]!])],
    ['a bad tag', encodeBinaryPoints([points[0]!], ['m{a}'])],
  ])('refuses a v2 record with %s with a HubError', (_what, bytes) => {
    expect(() => decodePoints(bytes)).toThrow(HubError);
  });
});
