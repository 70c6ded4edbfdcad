import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/model.ts';
import {
  decodeLogRecords,
  encodeLogRecords,
  parseLogBody,
  recordProject,
  recordWords,
  words,
} from './log-text.ts';

describe('words', () => {
  it.each([
    ['GET /api/Orders?id=7 502', ['get', 'api', 'orders', 'id', '7', '502']],
    ['upstream timed out (110: Connection timed out)', ['upstream', 'timed', 'out', '110', 'connection']],
    ['  ', []],
    ['Überweisung fehlgeschlagen', ['überweisung', 'fehlgeschlagen']],
    ['snake_case_name', ['snake_case_name']],
  ])('%j → %j', (text, expected) => {
    expect(words(text)).toEqual(expected);
  });
});

describe('recordWords', () => {
  it.each<[LogRecord, string]>([
    [{ ts: 1, source: 's', fields: { a: 'x' }, raw: 'Raw Line' }, ' raw line '],
    [
      { ts: 1, source: 's', fields: { path: '/a/b', status: 404, ok: true, nested: { x: 'hidden' } } },
      ' a b 404 true ',
    ],
    [{ ts: 1, source: 's', fields: {} }, ' '],
  ])('%j → %j', (record, expected) => {
    expect(recordWords(record)).toBe(expected);
  });
});

describe('recordProject', () => {
  it.each<[Record<string, unknown>, string | undefined]>([
    [{ project: 'shop' }, 'shop'],
    [{ project: '' }, undefined],
    [{ project: 7 }, undefined],
    [{}, undefined],
  ])('%j → %j', (fields, expected) => {
    expect(recordProject({ ts: 1, source: 's', fields })).toBe(expected);
  });
});

describe('parseLogBody', () => {
  const good = { ts: 5, source: 'nginx', fields: { status: 200 } };

  it.each<[string, string, boolean, { ok: number; errors: { index: number; field: string }[] }]>([
    ['a JSON array', JSON.stringify([good, good]), false, { ok: 2, errors: [] }],
    ['one object', JSON.stringify(good), false, { ok: 1, errors: [] }],
    [
      'bad records by index and field',
      JSON.stringify([good, { ...good, ts: 'x' }, { ...good, source: '' }, 7, { ...good, fields: [1] }]),
      false,
      {
        ok: 1,
        errors: [
          { index: 1, field: 'ts' },
          { index: 2, field: 'source' },
          { index: 3, field: '' },
          { index: 4, field: 'fields' },
        ],
      },
    ],
    [
      'JSON lines, blank lines skipped, a broken line refused alone',
      `${JSON.stringify(good)}\n\n{broken\n${JSON.stringify({ ...good, raw: 5 })}\n${JSON.stringify(good)}\n`,
      true,
      {
        ok: 2,
        errors: [
          { index: 1, field: '' },
          { index: 2, field: 'raw' },
        ],
      },
    ],
  ])('%s', (_name, text, ndjson, expected) => {
    const parsed = parseLogBody(text, ndjson);
    expect(parsed.records).toHaveLength(expected.ok);
    expect(parsed.errors.map(({ index, field }) => ({ index, field }))).toEqual(expected.errors);
    expect(parsed.indexes).toHaveLength(expected.ok);
  });

  it('keeps only the fields of a record', () => {
    const parsed = parseLogBody(JSON.stringify([{ ...good, raw: 'r', extra: 1 }]), false);
    expect(parsed.records).toEqual([{ ...good, raw: 'r' }]);
  });

  it('throws on a body that is not JSON', () => {
    expect(() => parseLogBody('{nope', false)).toThrow();
  });
});

describe('bus encoding', () => {
  it('decodes what it encodes', () => {
    const records: LogRecord[] = [{ ts: 1, source: 's', fields: { a: [1, { b: 2 }] }, raw: 'line' }];
    expect(decodeLogRecords(encodeLogRecords(records))).toEqual(records);
  });

  it.each([
    ['not JSON', '{x'],
    ['not an array', '{"ts":1}'],
    ['an invalid record', '[{"ts":1,"source":"","fields":{}}]'],
  ])('refuses %s', (_name, text) => {
    expect(() => decodeLogRecords(Buffer.from(text))).toThrow();
  });
});
