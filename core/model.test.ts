import { describe, expect, it } from 'vitest';
import { parseAppId, seriesKey, validateMetricPoint, validateSpan } from './model.ts';

describe('seriesKey', () => {
  it('is the metric plus the sorted tags', () => {
    expect(seriesKey('cpu', { b: '2', a: '1' })).toBe('cpu{a=1,b=2}');
    expect(seriesKey('cpu', { a: '1', b: '2' })).toBe(seriesKey('cpu', { b: '2', a: '1' }));
  });
});

describe('validateMetricPoint', () => {
  const ok = { metric: 'container.cpu.usage', tags: { host: 'h1' }, ts: 1_700_000_000_000, value: 0.5 };
  it('accepts a good point', () => {
    expect(validateMetricPoint(ok)).toEqual({ ok: true, value: ok });
  });
  it.each([
    [{ ...ok, metric: '' }, 'metric'],
    [{ ...ok, metric: 'a b' }, 'metric'],
    [{ ...ok, ts: 1.5 }, 'timestamp'],
    [{ ...ok, value: Number.NaN }, 'value'],
    [{ ...ok, value: Number.POSITIVE_INFINITY }, 'value'],
    [{ ...ok, tags: {} }, 'tags'],
    [{ ...ok, tags: { host: '' } }, 'tags.host'],
    [{ ...ok, tags: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'])) }, 'tags'],
  ])('names the bad field of %j', (input, field) => {
    const r = validateMetricPoint(input);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.field).toBe(field);
  });
});

describe('validateSpan', () => {
  const span = {
    traceId: '463ac35c9f6413ad48485a3953bb6124',
    spanId: 'a2fb4a1d1a96d312',
    name: 'get /users',
    kind: 'server',
    service: 'user-api',
    start: 1_700_000_000_000_000,
    duration: 1500,
  };
  it('accepts a span and fills defaults', () => {
    const r = validateSpan(span);
    expect(r.ok && r.value.tags).toEqual({});
    expect(r.ok && r.value.error).toBe(false);
  });
  it.each([
    [{ ...span, traceId: 'XYZ' }, 'traceId'],
    [{ ...span, spanId: '0123456789abcdef0' }, 'spanId'],
    [{ ...span, kind: 'weird' }, 'kind'],
    [{ ...span, duration: -1 }, 'duration'],
  ])('names the bad field', (input, field) => {
    const r = validateSpan(input);
    expect(!r.ok && r.error.field).toBe(field);
  });
});

describe('parseAppId', () => {
  it('reads /project/app', () => {
    expect(parseAppId('/push/pushd')).toEqual({
      ok: true,
      value: { project: 'push', app: 'pushd', type: 'WEB' },
    });
    expect(parseAppId('push/pushd').ok).toBe(false);
  });
});
