import { describe, expect, it } from 'vitest';
import type { BusRecord } from '../../../core/ports.ts';
import {
  backoffMs,
  checkTopic,
  chunkByBytes,
  DLQ_HEADERS,
  deadLetterMessage,
  groupLag,
  toBusRecord,
  toKafkaMessage,
} from './record-mapping.ts';

const bytes = (n: number) => ({ value: new Uint8Array(n) });

describe('record mapping', () => {
  it.each([
    ['metrics', true],
    ['obs.dead-letter', true],
    ['a_b-C.9', true],
    ['', false],
    ['.', false],
    ['..', false],
    ['has space', false],
    ['slash/topic', false],
    ['x'.repeat(249), true],
    ['x'.repeat(250), false],
  ])('checks topic name %j → %s', (topic, ok) => {
    if (ok) expect(() => checkTopic(topic)).not.toThrow();
    else
      expect(() => checkTopic(topic)).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST', where: 'topic' }),
      );
  });

  it.each([
    ['no key', { value: new Uint8Array([1]) }, null],
    ['empty key', { key: '', value: new Uint8Array([1]) }, ''],
    ['utf-8 key', { key: 'sérïes', value: new Uint8Array([1]) }, 'sérïes'],
  ])('keeps the key through a round trip: %s', (_name, message, key) => {
    const out = toKafkaMessage(message, 't[0]');
    expect(out.key === null ? null : out.key.toString('utf8')).toBe(key);
    const back = toBusRecord('t', 2, { ...out, offset: '41', timestamp: '1700000000000' });
    expect(back).toMatchObject({ topic: 't', partition: 2, offset: 41, ts: 1_700_000_000_000 });
    expect(back.key).toBe(key ?? undefined);
    expect('key' in back).toBe(key !== null);
  });

  it('converts headers both ways, the last value winning for a repeated name', () => {
    const out = toKafkaMessage({ value: new Uint8Array(0), headers: { ü: 'ñ €', a: '' } }, 't[0]');
    expect(out.headers['ü']!.toString()).toBe('ñ €');
    const back = toBusRecord('t', 0, {
      key: null,
      value: null,
      headers: { ü: out.headers['ü']!, twice: [Buffer.from('1'), Buffer.from('2')], gone: undefined },
      offset: '0',
      timestamp: '0',
    });
    expect(back.headers).toEqual({ ü: 'ñ €', twice: '2' });
    expect(back.value).toEqual(new Uint8Array(0));
  });

  it.each([
    ['a string value', { value: 'x' }, 't[3]'],
    ['a number key', { key: 7, value: new Uint8Array(0) }, 't[3]'],
    ['a number header', { value: new Uint8Array(0), headers: { n: 1 } }, 't[3].headers.n'],
  ])('refuses %s, saying where', (_name, message, where) => {
    expect(() => toKafkaMessage(message as never, 't[3]')).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', where }),
    );
  });

  it('builds the dead-letter message from the record and the reason', () => {
    const record: BusRecord = {
      topic: 'metrics',
      partition: 4,
      offset: 1234,
      ts: 1,
      key: 'series-3',
      value: new Uint8Array([123]),
      headers: { agent: 'a1' },
    };
    expect(deadLetterMessage(record, 'not JSON')).toEqual({
      key: 'series-3',
      value: record.value,
      headers: {
        agent: 'a1',
        [DLQ_HEADERS.reason]: 'not JSON',
        [DLQ_HEADERS.topic]: 'metrics',
        [DLQ_HEADERS.partition]: '4',
        [DLQ_HEADERS.offset]: '1234',
      },
    });
    const { key: _key, ...keyless } = record;
    expect('key' in deadLetterMessage(keyless, 'x')).toBe(false);
  });

  it.each([
    [[], 10, []],
    [[3, 3, 3], 10, [3]],
    [[4, 4, 4], 8, [2, 1]],
    [[20, 1, 1], 8, [1, 2]],
    [[1, 20, 1], 8, [1, 1, 1]],
    [[0, 0, 0], 0, [3]],
  ])('chunks values %j at %d bytes into sizes %j', (sizes, max, expected) => {
    const chunks = chunkByBytes(sizes.map(bytes), max);
    expect(chunks.map((c) => c.length)).toEqual(expected);
    expect(chunks.flat().map((r) => r.value.byteLength)).toEqual(sizes);
  });

  it.each([
    [1, 100],
    [2, 200],
    [4, 800],
    [10, 30_000],
    [60, 30_000],
  ])('backs off attempt %d by %d ms', (attempt, ms) => {
    expect(backoffMs(attempt, 100, 30_000)).toBe(ms);
  });

  it.each([
    ['nothing committed', -1, 0, 10, { committed: 0, lag: 10 }],
    ['nothing committed, early records deleted', -1, 4, 10, { committed: 0, lag: 6 }],
    ['caught up', 10, 0, 10, { committed: 10, lag: 0 }],
    ['behind', 3, 0, 10, { committed: 3, lag: 7 }],
    ['behind deleted records', 2, 5, 10, { committed: 2, lag: 5 }],
  ])('computes lag when %s', (_name, committed, low, high, expected) => {
    expect(groupLag(committed, low, high)).toEqual(expected);
  });
});
