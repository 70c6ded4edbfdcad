import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import { validateSpan } from '../../core/model.ts';
import { failed, type SpanExporter } from './exporter.ts';
import { createInMemoryExporter } from './in-memory-exporter.ts';
import { createSampler, probabilitySampler } from './sampler.ts';
import { createTracer, type IdGenerator, type TracerOptions } from './tracer.ts';

const T0 = Date.UTC(2026, 0, 1);

function counterIds(): IdGenerator {
  let n = 0;
  const next = (width: number) => (++n).toString(16).padStart(width, '0');
  return { traceId: () => next(32), spanId: () => next(16) };
}

function setup(options: Partial<TracerOptions> = {}) {
  const clock = new FakeClock(T0);
  const exporter = createInMemoryExporter();
  const tracer = createTracer({
    service: 'svc',
    localIp: '10.0.0.1',
    clock,
    exporter,
    ids: counterIds(),
    ...options,
  });
  return { clock, exporter, tracer };
}

describe('tracer', () => {
  it('records a span with tags, annotations, peer and µs timing', async () => {
    const { clock, exporter, tracer } = setup();
    const span = tracer.startSpan('get /x', {
      kind: 'client',
      tags: { a: '1' },
      peer: { ip: '10.0.0.2', port: 80 },
    });
    clock.advance(5);
    span.setTag('http.status_code', 200).setTag('cached', false).annotate('ws');
    clock.advance(7);
    span.finish();
    span.setTag('late', 'ignored');
    span.finish();
    await tracer.flush();
    expect(exporter.finishedSpans()).toEqual([
      {
        traceId: '00000000000000000000000000000001',
        spanId: '0000000000000002',
        name: 'get /x',
        kind: 'client',
        service: 'svc',
        start: T0 * 1000,
        duration: 12_000,
        localIp: '10.0.0.1',
        peerIp: '10.0.0.2',
        peerPort: 80,
        tags: { a: '1', 'http.status_code': '200', cached: 'false' },
        annotations: [{ ts: (T0 + 5) * 1000, value: 'ws' }],
        error: false,
      },
    ]);
    expect(validateSpan(exporter.finishedSpans()[0]).ok).toBe(true);
  });

  it('records errors with message and class', async () => {
    const { exporter, tracer } = setup();
    tracer.startSpan('a').setError(new TypeError('bad input')).finish();
    tracer.startSpan('b').setError('plain text').finish();
    tracer.startSpan('c').setError(undefined).finish();
    await tracer.flush();
    const [a, b, c] = exporter.finishedSpans();
    expect(a).toMatchObject({ error: true, tags: { error: 'bad input', 'exception.class': 'TypeError' } });
    expect(b).toMatchObject({ error: true, tags: { error: 'plain text' } });
    expect(b!.tags['exception.class']).toBeUndefined();
    expect(c).toMatchObject({ error: true, tags: { error: 'true' } });
  });

  it('keeps the error tag a string for an exception whose message field is not one (generated Thrift exceptions)', async () => {
    const { exporter, tracer } = setup();
    class DeviceOffline extends Error {}
    const thrown = new DeviceOffline();
    (thrown as unknown as { message: unknown }).message = { device: 'gone-1' };
    tracer.startSpan('push').setError(thrown).finish();
    await tracer.flush();
    const [span] = exporter.finishedSpans();
    expect(span!.tags).toMatchObject({ error: 'true', 'exception.class': 'DeviceOffline' });
    expect(validateSpan(span).ok).toBe(true);
  });

  it('makes spans started inside withSpan children, across awaits', async () => {
    const { exporter, tracer } = setup();
    const root = tracer.startSpan('root', { kind: 'server' });
    await tracer.withSpan(root, async () => {
      await sleep(1);
      const child = tracer.startSpan('child');
      await tracer.withSpan(child, async () => {
        await Promise.resolve();
        tracer.startSpan('grandchild').finish();
      });
      child.finish();
      tracer.startSpan('fresh', { parent: null }).finish();
    });
    root.finish();
    expect(tracer.activeSpan()).toBeUndefined();
    await tracer.flush();
    const spans = Object.fromEntries(exporter.finishedSpans().map((s) => [s.name, s]));
    expect(spans['child']!.parentId).toBe(spans['root']!.spanId);
    expect(spans['grandchild']!.parentId).toBe(spans['child']!.spanId);
    expect(new Set([spans['root'], spans['child'], spans['grandchild']].map((s) => s!.traceId)).size).toBe(1);
    expect(spans['fresh']!.parentId).toBeUndefined();
    expect(spans['fresh']!.traceId).not.toBe(spans['root']!.traceId);
  });

  it('trace() finishes on return, resolve, throw and reject, recording failures', async () => {
    const { exporter, tracer } = setup();
    expect(tracer.trace('sync', {}, () => 1)).toBe(1);
    await expect(tracer.trace('async', {}, async () => 2)).resolves.toBe(2);
    expect(() =>
      tracer.trace('throws', {}, () => {
        throw new Error('t');
      }),
    ).toThrow('t');
    await expect(tracer.trace('rejects', {}, async () => Promise.reject(new Error('r')))).rejects.toThrow(
      'r',
    );
    await tracer.flush();
    expect(exporter.finishedSpans().map((s) => [s.name, s.error])).toEqual([
      ['sync', false],
      ['async', false],
      ['throws', true],
      ['rejects', true],
    ]);
  });

  it('continues an extracted context and keeps its sampling decision', async () => {
    const { exporter, tracer } = setup({ sampler: 'never' });
    const parent = tracer.extract({
      'x-b3-traceid': 'ab'.repeat(16),
      'x-b3-spanid': 'cd'.repeat(8),
      'x-b3-sampled': '1',
    });
    const span = tracer.startSpan('server', { kind: 'server', parent: parent! });
    expect(span.recording).toBe(true);
    expect(tracer.inject(span.context)).toEqual({
      'X-B3-TraceId': 'ab'.repeat(16),
      'X-B3-SpanId': span.context.spanId,
      'X-B3-ParentSpanId': 'cd'.repeat(8),
      'X-B3-Sampled': '1',
    });
    span.finish();
    tracer.startSpan('own root').finish();
    await tracer.flush();
    expect(exporter.finishedSpans().map((s) => s.name)).toEqual(['server']);
  });

  it('propagates ids of unsampled traces but exports nothing', async () => {
    const { exporter, tracer } = setup({ sampler: 'never' });
    const root = tracer.startSpan('root');
    const child = tracer.withSpan(root, () => tracer.startSpan('child'));
    expect(root.recording).toBe(false);
    expect(child.context).toMatchObject({
      traceId: root.context.traceId,
      parentId: root.context.spanId,
      sampled: false,
    });
    expect(tracer.inject(child.context)['X-B3-Sampled']).toBe('0');
    child.finish();
    root.finish();
    await tracer.flush();
    expect(exporter.finishedSpans()).toEqual([]);
  });

  it('decides a deferred decision with its own sampler', () => {
    const { tracer } = setup({ sampler: 'never' });
    const parent = tracer.extract({ 'x-b3-traceid': 'ab'.repeat(16), 'x-b3-spanid': 'cd'.repeat(8) });
    expect(parent?.sampled).toBeUndefined();
    expect(tracer.startSpan('s', { parent: parent! }).recording).toBe(false);
  });

  it('sends export failures to the error handler, never to the caller', async () => {
    const errors: HubError[] = [];
    const rejecting: SpanExporter = {
      export: () => Promise.reject(new Error('disk on fire')),
      flush: async () => ({ code: 'success' }),
      shutdown: async () => {},
    };
    const refusing: SpanExporter = {
      ...rejecting,
      export: async () => failed(new HubError('UNAVAILABLE', 'down')),
    };
    const throwing: SpanExporter = {
      ...rejecting,
      export: () => {
        throw new Error('sync throw');
      },
    };
    for (const exporter of [rejecting, refusing, throwing]) {
      const { tracer } = setup({ exporter, onError: (e) => errors.push(e) });
      expect(() => tracer.startSpan('x').finish()).not.toThrow();
      await tracer.flush();
    }
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['INTERNAL', 'disk on fire'],
      ['UNAVAILABLE', 'down'],
      ['INTERNAL', 'sync throw'],
    ]);
  });

  it('uses 128-bit trace ids and 64-bit span ids in lower-case hex by default', () => {
    const tracer = createTracer({ service: 's', exporter: createInMemoryExporter() });
    const span = tracer.startSpan('x');
    expect(span.context.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.context.spanId).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('samplers', () => {
  it('keeps about the given share, decided by the trace id alone', () => {
    const sampler = probabilitySampler(0.25);
    let kept = 0;
    const ids = Array.from({ length: 4000 }, (_, i) =>
      createHash('sha256').update(String(i)).digest('hex').slice(0, 32),
    );
    for (const id of ids) if (sampler.shouldSample(id)) kept++;
    expect(kept / ids.length).toBeGreaterThan(0.2);
    expect(kept / ids.length).toBeLessThan(0.3);
    expect(ids.map((id) => sampler.shouldSample(id))).toEqual(
      ids.map((id) => probabilitySampler(0.25).shouldSample(id)),
    );
  });

  it('builds samplers from their configuration names and refuses bad rates', () => {
    expect(createSampler('always').shouldSample('f'.repeat(32))).toBe(true);
    expect(createSampler('never').shouldSample('0'.repeat(31) + '1')).toBe(false);
    expect(createSampler({ probability: 1 }).shouldSample('f'.repeat(32))).toBe(true);
    expect(createSampler({ probability: 0 }).shouldSample('0'.repeat(31) + '1')).toBe(false);
    expect(() => createSampler({ probability: 1.5 })).toThrow(HubError);
    expect(() => createSampler({ probability: Number.NaN })).toThrow(/between 0 and 1/);
  });
});
