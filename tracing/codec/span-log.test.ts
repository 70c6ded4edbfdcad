import { describe, expect, it } from 'vitest';
import type { TraceSpan } from '../model.ts';
import { formatSpanLogLine, parseSpanLog, parseSpanLogLine } from './span-log.ts';

const T = '4e441824ec2b6a44ffdc9bb9a6453df3';
const base = {
  traceId: T,
  spanId: 'ffdc9bb9a6453df3',
  name: 'get /api',
  kind: 'server',
  service: 'push',
  start: 1_767_225_600_000_000,
  duration: 1431,
};
const line = (over: Record<string, unknown> = {}) => JSON.stringify({ ...base, ...over });

describe('span log: one line', () => {
  const ok: [string, string, Partial<TraceSpan>][] = [
    ['the minimal span', line(), { ...base, tags: {}, annotations: [], error: false } as Partial<TraceSpan>],
    ['upper-case ids are lower-cased', line({ traceId: T.toUpperCase() }), { traceId: T }],
    [
      'a 64-bit trace id is padded to 128 bits',
      line({ traceId: 'ffdc9bb9a6453df3' }),
      { traceId: '0000000000000000ffdc9bb9a6453df3' },
    ],
    ['a short span id is padded', line({ spanId: 'abc' }), { spanId: '0000000000000abc' }],
    ['null means absent', line({ parentId: null, tags: null, peerIp: null }), { tags: {} }],
    ['a missing name is empty', JSON.stringify({ ...base, name: undefined }), { name: '' }],
    [
      'every optional field',
      line({
        parentId: '00000000000000aa',
        localIp: '10.0.0.1',
        localPort: 8080,
        peerIp: '10.0.0.2',
        peerPort: 5432,
        remoteService: 'db',
        tags: { 'http.status_code': '500' },
        annotations: [{ ts: 1_767_225_600_000_100, value: 'ws' }],
        error: true,
        shared: true,
        debug: true,
      }),
      {
        parentId: '00000000000000aa',
        localIp: '10.0.0.1',
        localPort: 8080,
        peerIp: '10.0.0.2',
        peerPort: 5432,
        remoteService: 'db',
        tags: { 'http.status_code': '500' },
        annotations: [{ ts: 1_767_225_600_000_100, value: 'ws' }],
        error: true,
        shared: true,
        debug: true,
      },
    ],
  ];
  it.each(ok)('accepts %s', (_name, text, expected) => {
    const r = parseSpanLogLine(text);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.span).toMatchObject(expected);
  });

  it.each([
    ['equal to the span id', base.spanId],
    ['of zeros', '0000000000000000'],
  ])('drops a parent id %s', (_name, parentId) => {
    const r = parseSpanLogLine(line({ parentId }));
    expect(r.ok && 'parentId' in r.span).toBe(false);
  });

  const bad: [string, string, string, RegExp][] = [
    ['not JSON', '{"traceId":', '', /not valid JSON/],
    ['an array', '[1,2]', '', /one JSON object/],
    ['a trace id that is not hex', line({ traceId: 'xyz' }), 'traceId', /hex/],
    ['a trace id too long', line({ traceId: T + '00' }), 'traceId', /1 to 32 hex/],
    ['no span id', JSON.stringify({ ...base, spanId: undefined }), 'spanId', /spanId/],
    ['a bad kind', line({ kind: 'CLIENT' }), 'kind', /client, server/],
    ['an empty service', line({ service: '' }), 'service', /service/],
    ['start in ms as a float', line({ start: 1.5 }), 'start', /microseconds/],
    ['a negative duration', line({ duration: -1 }), 'duration', /non-negative/],
    ['a tag that is a number', line({ tags: { a: 1 } }), 'tags.a', /string/],
    ['an annotation without a value', line({ annotations: [{ ts: 1 }] }), 'annotations[0].value', /value/],
    ['a port out of range', line({ peerPort: 70000 }), 'peerPort', /1-65535/],
    ['error as a string', line({ error: 'yes' }), 'error', /true or false/],
  ];
  it.each(bad)('refuses %s', (_name, text, field, message) => {
    const r = parseSpanLogLine(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.field).toBe(field);
      expect(r.message).toMatch(message);
    }
  });
});

describe('span log: a chunk', () => {
  it('keeps the good lines, reports bad ones by line number, skips blank lines and CRLF', () => {
    const text =
      [line(), '', 'oops', line({ spanId: '01' }), '   ', line({ kind: 'x' })].join('\r\n') + '\r\n';
    const { spans, errors } = parseSpanLog(text, 10);
    expect(spans.map((s) => s.spanId)).toEqual([base.spanId, '0000000000000001']);
    expect(errors.map((e) => [e.index, e.field])).toEqual([
      [12, ''],
      [15, 'kind'],
    ]);
  });

  it('formats what it parses back to the same span', () => {
    const r = parseSpanLogLine(
      line({
        parentId: '00000000000000aa',
        tags: { k: 'v' },
        annotations: [{ ts: 5, value: 'x' }],
        peerPort: 1,
      }),
    );
    if (!r.ok) throw new Error(r.message);
    const again = parseSpanLogLine(formatSpanLogLine(r.span));
    expect(again).toEqual(r);
  });
});
