import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BusRecord } from '../../core/ports.ts';
import { createEmbeddedBus, type EmbeddedBus } from '../../pipeline/bus/embedded/embedded-bus.ts';
import { consumeTraced, extractFromMessage, injectToMessage, publishTraced } from './bus-propagation.ts';
import { createInMemoryExporter } from './in-memory-exporter.ts';
import type { SamplerSpec } from './sampler.ts';
import { createTracer } from './tracer.ts';

const text = (s: string) => new TextEncoder().encode(s);

function service(name: string, sampler: SamplerSpec = 'always') {
  const exporter = createInMemoryExporter();
  return {
    tracer: createTracer({ service: name, sampler, exporter }),
    spans: () => exporter.finishedSpans(),
  };
}

let dir: string;
let bus: EmbeddedBus;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obs-bus-trace-'));
  bus = await createEmbeddedBus({ dir, pollMs: 20 });
});
afterEach(async () => {
  await bus.close();
  await rm(dir, { recursive: true, force: true });
});

/** Subscribes `group` to `topic` and hands every record to `each` inside a consumer span. */
async function consume(
  topic: string,
  tracer: ReturnType<typeof service>['tracer'],
  each: (r: BusRecord) => unknown = () => {},
) {
  const seen: BusRecord[] = [];
  const sub = await bus.subscribe({
    topic,
    group: 'g1',
    async onBatch(records) {
      for (const r of records) {
        await consumeTraced(tracer, r, () => each(r), { group: 'g1' });
        seen.push(r);
      }
    },
  });
  return { seen, close: () => sub.close() };
}

describe('trace context on the Bus', () => {
  it('links consumer spans to the producer spans through message headers', async () => {
    const producer = service('ingest-api');
    const consumer = service('ingest-worker');
    await producer.tracer.trace('handle request', { kind: 'server' }, () =>
      publishTraced(bus, producer.tracer, 'points', [
        { key: 'k1', value: text('a'), headers: { 'content-type': 'text/plain' } },
        { value: text('b') },
      ]),
    );
    const sub = await consume('points', consumer.tracer, () =>
      consumer.tracer.startSpan('store write').finish(),
    );
    await vi.waitFor(() => expect(sub.seen).toHaveLength(2));
    await sub.close();

    const request = producer.spans().find((s) => s.name === 'handle request')!;
    const producers = producer.spans().filter((s) => s.kind === 'producer');
    const consumers = consumer.spans().filter((s) => s.kind === 'consumer');
    const writes = consumer.spans().filter((s) => s.name === 'store write');
    expect(producers).toHaveLength(2);
    expect(consumers).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      expect(producers[i]).toMatchObject({
        name: 'publish points',
        parentId: request.spanId,
        traceId: request.traceId,
        tags: { 'messaging.destination': 'points' },
      });
      expect(consumers[i]).toMatchObject({
        name: 'consume points',
        parentId: producers[i]!.spanId,
        traceId: request.traceId,
        tags: {
          'messaging.destination': 'points',
          'messaging.consumer_group': 'g1',
          'messaging.offset': String(i),
        },
      });
      expect(writes[i]!.parentId).toBe(consumers[i]!.spanId);
    }
    expect(sub.seen[0]!.headers).toMatchObject({
      'content-type': 'text/plain',
      'X-B3-SpanId': producers[0]!.spanId,
    });
  });

  it('starts a new trace for a message without context and records consumer failures', async () => {
    const consumer = service('worker');
    await bus.publish('plain', [
      { value: text('x') },
      { value: text('y'), headers: { 'X-B3-TraceId': 'bad' } },
    ]);
    let attempts = 0;
    const sub = await consume('plain', consumer.tracer, () => {
      attempts++;
      if (attempts === 1) throw new Error('store down');
    });
    await vi.waitFor(() => expect(sub.seen).toHaveLength(2));
    await sub.close();
    const spans = consumer.spans();
    expect(spans[0]).toMatchObject({ kind: 'consumer', error: true, tags: { error: 'store down' } });
    for (const s of spans) expect(s.parentId).toBeUndefined();
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(spans.length);
  });

  it('carries an unsampled decision: no spans on either side', async () => {
    const producer = service('p', 'never');
    const consumer = service('c', 'always');
    await publishTraced(bus, producer.tracer, 'quiet', [{ value: text('q') }]);
    const sub = await consume('quiet', consumer.tracer);
    await vi.waitFor(() => expect(sub.seen).toHaveLength(1));
    await sub.close();
    expect(sub.seen[0]!.headers).toMatchObject({ 'X-B3-Sampled': '0' });
    expect(producer.spans()).toEqual([]);
    expect(consumer.spans()).toEqual([]);
  });

  it('marks producer spans failed when the publish fails', async () => {
    const producer = service('p');
    await expect(publishTraced(bus, producer.tracer, 'bad topic!', [{ value: text('x') }])).rejects.toThrow(
      /Invalid topic/,
    );
    expect(producer.spans()).toMatchObject([{ kind: 'producer', error: true }]);
  });

  it('injects and extracts with the plain helpers', () => {
    const { tracer } = service('p');
    const span = tracer.startSpan('x', { kind: 'producer' });
    const headers = injectToMessage(tracer, span);
    expect(extractFromMessage({ headers })).toEqual({
      traceId: span.context.traceId,
      spanId: span.context.spanId,
      sampled: true,
    });
    expect(extractFromMessage({})).toBeUndefined();
  });
});
