import { describe, expect, it } from 'vitest';
import type { TraceSpan } from '../model.ts';
import { assembleTrace, traceRows } from './assemble.ts';
import { clockSkew } from './skew.ts';

const T = 'a'.repeat(32);
const BASE = 1_767_225_600_000_000;

function span(id: string, over: Partial<TraceSpan>): TraceSpan {
  return {
    traceId: T,
    spanId: id.padStart(16, '0'),
    name: id,
    kind: 'local',
    service: 'svc',
    start: BASE,
    duration: 10,
    tags: {},
    annotations: [],
    error: false,
    ...over,
  };
}

/** Corrected start and skew per span id (kind appended for the server half of a shared span). */
function corrected(spans: TraceSpan[]): Record<string, { raw: number; start: number; skew?: number }> {
  const out: Record<string, { raw: number; start: number; skew?: number }> = {};
  for (const r of traceRows(assembleTrace(spans))) {
    const key = r.name + (r.shared ? '/server' : '');
    out[key] = {
      raw: r.start - BASE,
      start: r.adjustedStart - BASE,
      ...(r.skew !== undefined ? { skew: r.skew } : {}),
    };
  }
  return out;
}

const client = (over: Partial<TraceSpan> = {}) =>
  span('1', {
    name: 'client',
    kind: 'client',
    service: 'a',
    localIp: '10.0.0.1',
    start: BASE + 1000,
    duration: 100,
    ...over,
  });
const server = (over: Partial<TraceSpan> = {}) =>
  span('2', {
    name: 'server',
    kind: 'server',
    service: 'b',
    parentId: '0000000000000001',
    localIp: '10.0.0.2',
    start: BASE + 500,
    duration: 60,
    ...over,
  });

describe('clock skew, hand-built cases', () => {
  it('centres a server that started before its client, and shifts its same-host subtree', () => {
    const local = span('3', {
      name: 'local',
      service: 'b',
      parentId: '0000000000000002',
      localIp: '10.0.0.2',
      start: BASE + 510,
    });
    const remote = span('4', {
      name: 'other-host',
      service: 'c',
      parentId: '0000000000000002',
      localIp: '10.0.0.3',
      start: BASE + 530,
    });
    expect(corrected([client(), server(), local, remote])).toEqual({
      client: { raw: 1000, start: 1000 },
      server: { raw: 500, start: 1020, skew: 520 },
      local: { raw: 510, start: 1030, skew: 520 },
      'other-host': { raw: 530, start: 530 },
    });
  });

  it('centres a server whose clock is ahead (it ends after its client)', () => {
    expect(corrected([client(), server({ start: BASE + 5000 })]).server).toEqual({
      raw: 5000,
      start: 1020,
      skew: -3980,
    });
  });

  it('leaves a server that fits inside its client alone', () => {
    expect(corrected([client(), server({ start: BASE + 1001 })]).server).toEqual({ raw: 1001, start: 1001 });
  });

  it('does nothing when both run on the same host, or an IP is unknown', () => {
    expect(corrected([client(), server({ localIp: '10.0.0.1' })]).server).toEqual({ raw: 500, start: 500 });
    expect(corrected([client({ localIp: undefined }), server()]).server).toEqual({ raw: 500, start: 500 });
    expect(corrected([client(), server({ localIp: undefined })]).server).toEqual({ raw: 500, start: 500 });
  });

  it('pushes a one-way server just after its client when a duration is unknown', () => {
    expect(corrected([client({ duration: 0 }), server()]).server).toEqual({
      raw: 500,
      start: 1001,
      skew: 501,
    });
    expect(corrected([client({ duration: 0 }), server({ start: BASE + 2000 })]).server).toEqual({
      raw: 2000,
      start: 2000,
    });
  });

  it('pushes an asynchronous server (longer than its client) after the client only if it started before', () => {
    expect(corrected([client(), server({ duration: 500 })]).server).toEqual({
      raw: 500,
      start: 1001,
      skew: 501,
    });
    expect(corrected([client(), server({ duration: 500, start: BASE + 1050 })]).server).toEqual({
      raw: 1050,
      start: 1050,
    });
  });

  it('corrects the server half of a shared span (same id as its client)', () => {
    const shared = server({ spanId: '0000000000000001', parentId: undefined });
    const c = corrected([client(), shared]);
    expect(c['server/server']).toEqual({ raw: 500, start: 1020, skew: 520 });
  });

  it('corrects a second hop against the corrected first one', () => {
    const hop2client = span('5', {
      name: 'b-calls-c',
      kind: 'client',
      service: 'b',
      parentId: '0000000000000002',
      localIp: '10.0.0.2',
      start: BASE + 520,
      duration: 20,
    });
    const hop2server = span('6', {
      name: 'c-serves',
      kind: 'server',
      service: 'c',
      parentId: '0000000000000005',
      localIp: '10.0.0.3',
      start: BASE + 90_000,
      duration: 10,
    });
    const c = corrected([client(), server(), hop2client, hop2server]);
    expect(c['b-calls-c']).toEqual({ raw: 520, start: 1040, skew: 520 });
    expect(c['c-serves']).toEqual({ raw: 90_000, start: 1045, skew: 1045 - 90_000 });
  });

  it('keeps the raw spans untouched and counts the shifted ones', () => {
    const spans = [client(), server()];
    const before = JSON.stringify(spans);
    const a = assembleTrace(spans);
    expect(JSON.stringify(spans)).toBe(before);
    expect(a.spans.find((s) => s.kind === 'server')!.start).toBe(BASE + 500);
    expect(a.skewedCount).toBe(1);
    expect(a.start).toBe(BASE + 1000);
  });

  it('needs a client parent and a server child', () => {
    expect(clockSkew(server(), BASE, client(), BASE)).toBeUndefined();
    expect(clockSkew(client(), BASE + 1000, client({ localIp: '10.0.0.9' }), BASE)).toBeUndefined();
  });
});
