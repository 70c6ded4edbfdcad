import { describe, expect, it } from 'vitest';
import { retryDelay } from './consumer.ts';
import { groupFileName, parseGroupFileName } from './offset-store.ts';
import {
  crc32,
  decodeFrame,
  encodeFrame,
  encodeFrames,
  FRAME_HEADER_BYTES,
  frameSize,
  MIN_PAYLOAD_BYTES,
  PEEK_BYTES,
  parseSegmentFileName,
  peekTimestamp,
  type RecordToEncode,
  segmentFileName,
  tableCrc32,
} from './record-codec.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('crc32', () => {
  it.each([
    ['', 0],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('of %j is %i, natively and by table', (input, expected) => {
    expect(crc32(bytes(input))).toBe(expected);
    expect(tableCrc32(bytes(input))).toBe(expected);
  });
});

describe('encodeFrame / decodeFrame', () => {
  const cases: [string, RecordToEncode][] = [
    ['a bare record', { offset: 0, ts: 0, value: new Uint8Array(0) }],
    [
      'a key and headers',
      {
        offset: 42,
        ts: 1_767_225_600_000,
        key: 'cpu.user host=a',
        headers: { a: '1', b: '' },
        value: bytes('v'),
      },
    ],
    ['an empty key', { offset: 7, ts: 1, key: '', value: bytes('x') }],
    ['unicode', { offset: 1, ts: 2, key: 'ключ', headers: { 'ü€': '😀' }, value: bytes('żółw') }],
    ['a large offset', { offset: 2 ** 40 + 5, ts: 2 ** 45, value: new Uint8Array([0, 255, 0]) }],
    ['binary value', { offset: 3, ts: 3, value: new Uint8Array(70_000).map((_, i) => i % 251) }],
  ];

  it.each(cases)('round-trips %s', (_name, record) => {
    const buf = encodeFrames([record]);
    expect(buf.length).toBe(frameSize(record));
    const r = decodeFrame(buf, 0, buf.length);
    if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
    expect(r.next).toBe(buf.length);
    expect(r.record.offset).toBe(record.offset);
    expect(r.record.ts).toBe(record.ts);
    expect(r.record.key).toBe(record.key);
    const headers = record.headers && Object.keys(record.headers).length > 0 ? record.headers : undefined;
    expect(r.record.headers).toEqual(headers);
    expect(Buffer.from(r.record.value).equals(Buffer.from(record.value))).toBe(true);
    expect(peekTimestamp(buf.subarray(0, PEEK_BYTES))).toBe(record.ts);
  });

  it('decodes frames back to back', () => {
    const records = [0, 1, 2].map((offset) => ({ offset, ts: 10, value: bytes(`r${offset}`) }));
    const buf = encodeFrames(records);
    const offsets: number[] = [];
    for (let pos = 0; pos < buf.length; ) {
      const r = decodeFrame(buf, pos, buf.length);
      if (r.kind !== 'ok') throw new Error(r.kind);
      offsets.push(r.record.offset);
      pos = r.next;
    }
    expect(offsets).toEqual([0, 1, 2]);
  });

  const good = () => {
    const buf = Buffer.alloc(frameSize({ key: 'k', value: bytes('value') }));
    encodeFrame(buf, 0, 9, 9, { key: 'k', value: bytes('value') });
    return buf;
  };
  const damaged: [string, () => [Buffer, number], string, number | undefined][] = [
    ['only part of the header', () => [good(), 5], 'partial', undefined],
    ['part of the payload', () => [good(), good().length - 1], 'partial', good().length],
    ['a flipped value byte', () => [flip(good(), -1), good().length], 'corrupt', undefined],
    ['a flipped CRC byte', () => [flip(good(), 4), good().length], 'corrupt', undefined],
    ['zeros', () => [Buffer.alloc(64), 64], 'corrupt', undefined],
    [
      'a length below the minimum',
      () => [withLength(good(), MIN_PAYLOAD_BYTES - 1), good().length],
      'corrupt',
      undefined,
    ],
    ['a huge length', () => [withLength(good(), 0xfffffff0), good().length], 'corrupt', undefined],
  ];

  it.each(damaged)('reports %s', (_name, make, kind, frameBytes) => {
    const [buf, end] = make();
    const r = decodeFrame(buf, 0, end);
    expect(r.kind).toBe(kind);
    if (r.kind === 'partial') expect(r.frameBytes).toBe(frameBytes);
  });

  it('reports a valid CRC over an inconsistent payload as corrupt', () => {
    const buf = good();
    buf.writeUInt32BE(99, FRAME_HEADER_BYTES + 17);
    buf.writeUInt32BE(crc32(buf.subarray(FRAME_HEADER_BYTES)), 4);
    expect(decodeFrame(buf, 0, buf.length)).toMatchObject({ kind: 'corrupt' });
  });
});

function flip(buf: Buffer, at: number): Buffer {
  const i = at < 0 ? buf.length + at : at;
  buf[i] = buf[i]! ^ 0xff;
  return buf;
}

function withLength(buf: Buffer, length: number): Buffer {
  buf.writeUInt32BE(length, 0);
  return buf;
}

describe('file names', () => {
  it.each([
    [0, '00000000000000000000.log'],
    [1234, '00000000000000001234.log'],
    [2 ** 53 - 1, '00009007199254740991.log'],
  ])('segment %i is %s and back', (base, name) => {
    expect(segmentFileName(base)).toBe(name);
    expect(parseSegmentFileName(name)).toBe(base);
  });

  it.each(['foo.log', '0000000000000000000.log', '00000000000000000000.log.tmp', 'LOCK'])(
    'ignores %s',
    (name) => expect(parseSegmentFileName(name)).toBeUndefined(),
  );

  it.each(['ingest', 'a/b', '..', 'ü:*', 'x.json'])('group %j survives a file name', (group) => {
    const name = groupFileName(group);
    expect(name).not.toContain('/');
    expect(parseGroupFileName(name)).toBe(group);
  });
});

describe('retryDelay', () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [6, 3_200],
    [7, 5_000],
    [50, 5_000],
  ])('after %i failures waits %i ms', (failures, ms) => expect(retryDelay(failures)).toBe(ms));
});
