import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import { type MetricPoint, type SeriesMemo, seriesKey } from '../../core/model.ts';
import { columnsOf } from './point-columns.ts';
import { encodeBinaryPoints } from './points-codec.ts';
import { isRefRecord, type RefRecord, RefRecordReader, RefRecordWriter } from './series-refs.ts';

const tags = (app: string) => ({ app, container: `${app}-0123456789abcdef`, host: 'node-17.dc1' });
const point = (app: string, ts: number, value = ts / 1000): MetricPoint => ({
  metric: 'container.cpu.usage',
  tags: tags(app),
  ts,
  value,
});

/** Epoch ids 1, 2, 3, ... instead of random ones. */
const counting = (previous: number) => (previous < 0 ? 1 : previous + 1);

function encode(writer: RefRecordWriter, points: MetricPoint[]): RefRecord {
  return writer.encode(
    columnsOf(points),
    points.map((p) => seriesKey(p.metric, p.tags)),
  );
}

function read(reader: RefRecordReader, record: RefRecord, offset: number): MetricPoint[] {
  reader.observe(record.bytes, offset);
  return reader.decode(record.bytes);
}

describe('v3 points records (series refs)', () => {
  it('write a series key once an epoch, then 20 bytes a point, and read back the same points', () => {
    const writer = new RefRecordWriter(1_000, counting);
    const reader = new RefRecordReader();
    const first = [point('a', 10_000), point('b', 10_000), point('a', 20_000)];
    const second = [point('b', 30_000, -1.5), point('a', 30_000, Number.NaN)];
    const r1 = encode(writer, first);
    writer.confirm(r1);
    const r2 = encode(writer, second);
    expect(isRefRecord(r1.bytes)).toBe(true);
    expect(r1.defined).toEqual([0, 1]);
    expect(r2.defined).toEqual([]);
    expect(r2.bytes.length).toBe(13 + 20 * second.length);
    // A v2 record repeats every key.
    const v2 = encodeBinaryPoints(
      second,
      second.map((p) => seriesKey(p.metric, p.tags)),
    );
    expect(v2.length).toBeGreaterThan(3 * r2.bytes.length);
    expect(read(reader, r1, 0)).toEqual(first);
    expect(read(reader, r2, 1)).toEqual(second);
  });

  it('define a series again while the record that defined it is not durable yet', () => {
    const writer = new RefRecordWriter(1_000, counting);
    const inFlight = encode(writer, [point('a', 10_000)]);
    const next = encode(writer, [point('a', 20_000), point('b', 20_000)]);
    expect(next.defined).toEqual([0, 1]);
    // The first append failed: the second record decodes on its own.
    const reader = new RefRecordReader();
    expect(read(reader, next, 7)).toEqual([point('a', 20_000), point('b', 20_000)]);
    writer.confirm(inFlight);
    expect(encode(writer, [point('a', 30_000)]).defined).toEqual([]);
  });

  it('cannot be decoded without the record that defined their series, and say so', () => {
    const writer = new RefRecordWriter(1_000, counting);
    const defining = encode(writer, [point('a', 10_000)]);
    writer.confirm(defining);
    const using = encode(writer, [point('a', 20_000)]);
    const reader = new RefRecordReader();
    reader.observe(using.bytes, 5);
    expect(() => reader.decode(using.bytes)).toThrow(HubError);
    expect(() => reader.decode(using.bytes)).toThrow(
      /names series 0 of epoch 1, defined in a record this consumer did not read/,
    );
  });

  it('start a new epoch after epochPoints points, or 8 points a series, defining every series again', () => {
    const writer = new RefRecordWriter(4, counting);
    const reader = new RefRecordReader();
    const epochs: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = encode(writer, [point('a', i * 10_000), point('b', i * 10_000)]);
      writer.confirm(r);
      epochs.push(r.epoch);
      expect(read(reader, r, i)).toHaveLength(2);
      expect(r.defined.length).toBe(i === 0 || epochs[i - 1] !== r.epoch ? 2 : 0);
    }
    // Two series: an epoch holds 16 points (8 a series), not 4.
    expect(epochs).toEqual([1, 1, 1, 1, 1, 1]);
    const r = encode(writer, [point('a', 70_000), point('b', 70_000), point('c', 70_000)]);
    writer.confirm(r);
    expect([r.epoch, r.defined]).toEqual([1, [2]]);
    // Three series: 24 points. 15 so far; the ninth point after them still fits.
    const later = Array.from({ length: 10 }, (_, i) => encode(writer, [point('a', (8 + i) * 10_000)]));
    expect(later.map((x) => x.epoch)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
    expect(later[9]!.defined).toEqual([0]);
  });

  it('keep a consumer from committing into an epoch it has not finished', () => {
    const writer = new RefRecordWriter(2, counting);
    const reader = new RefRecordReader();
    // One series, 8 points an epoch: records 0-7 are epoch 1, 8-15 epoch 2, 16- epoch 3.
    const starts: number[] = [];
    let epoch = 0;
    for (let offset = 0; offset < 20; offset++) {
      const r = encode(writer, [point('a', offset * 10_000)]);
      writer.confirm(r);
      if (r.epoch !== epoch) starts.push(offset);
      epoch = r.epoch;
      reader.observe(r.bytes, offset);
    }
    expect(starts).toEqual([0, 8, 16]);
    const table: [number, number][] = [
      [-1, -1], // nothing to commit
      [3, -1], // inside the first epoch: a replay starts at 0
      [7, 7], // the first epoch is done: a replay starts at 8
      [12, 7],
      [15, 15],
      [19, 15],
    ];
    for (const [upTo, bound] of table) expect([upTo, reader.commitBound(upTo)]).toEqual([upTo, bound]);
  });

  it('count the first record a reader sees as the start of its epoch', () => {
    const writer = new RefRecordWriter(1_000, counting);
    const first = encode(writer, [point('a', 10_000)]);
    writer.confirm(first);
    const reader = new RefRecordReader();
    const second = encode(writer, [point('a', 20_000), point('b', 20_000)]);
    writer.confirm(second);
    reader.observe(second.bytes, 41);
    expect(reader.commitBound(45)).toBe(40);
    expect(reader.commitBound(30)).toBe(30);
  });

  it('refuse a truncated record with a HubError', () => {
    const writer = new RefRecordWriter(1_000, counting);
    const r = encode(writer, [point('a', 10_000), point('b', 10_000)]);
    const reader = new RefRecordReader();
    for (const cut of [5, 13, 40, r.bytes.length - 3]) {
      const bytes = r.bytes.subarray(0, cut);
      expect(() => {
        reader.observe(bytes, 0);
        reader.decode(bytes);
      }, `cut at ${cut}`).toThrow(HubError);
    }
  });

  it('keep a series object’s ref for its writer and epoch only (memo slots)', () => {
    // Series objects that keep what stages learnt of them, as a decoder's remembered series do.
    const memo = (app: string): SeriesMemo => ({
      metric: 'container.cpu.usage',
      tags: Object.freeze(tags(app)),
      admittedKey: undefined,
      storeOf: undefined,
      storeId: -1,
      refsOf: undefined,
      ref: -1,
    });
    const series = ['a', 'b', 'c', 'd'].map(memo);
    // Two writers share the objects, each with its own epochs (4 points or 8 a series).
    const pairs = [1, 2].map(() => ({
      writer: new RefRecordWriter(4, counting),
      reader: new RefRecordReader(),
    }));
    for (let i = 0; i < 60; i++) {
      const { writer, reader } = pairs[i % 3 === 0 ? 1 : 0]!;
      // Each record takes the series in another order, and leaves one out.
      const batch = [0, 1, 2, 3].filter((k) => k !== i % 4).map((k) => series[(k + i) % 4]!);
      const columns = { series: batch, ts: batch.map(() => i * 10_000), values: batch.map((_, k) => k) };
      const record = writer.encode(
        columns,
        batch.map((x) => seriesKey(x.metric, x.tags)),
      );
      if (i % 5 !== 0) writer.confirm(record);
      expect(read(reader, record, i).map((p) => p.tags['app'])).toEqual(batch.map((x) => x.tags['app']));
    }
  });
});
