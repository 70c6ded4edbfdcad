/**
 * Trace context through the `Bus`: the producer puts the B3 headers of its producer span on each
 * message; the consumer continues the trace with a consumer span, child of that producer span.
 * Works with any `Bus` adapter, since it only uses `BusMessage.headers`.
 */
import type { Bus, BusMessage, BusRecord } from '../../core/ports.ts';
import { parseB3, type SpanContext } from './b3.ts';
import { finishWhenSettled, type Tracer, type TracerSpan } from './tracer.ts';

/** The B3 headers of `span`, to merge into a message's headers. */
export function injectToMessage(tracer: Tracer, span: TracerSpan): Record<string, string> {
  return tracer.inject(span.context);
}

/** The producer's context carried by a message or record, or undefined when absent or malformed. */
export function extractFromMessage(message: Pick<BusMessage, 'headers'>): SpanContext | undefined {
  return message.headers ? parseB3(message.headers) : undefined;
}

/** Tags every messaging span carries. */
function messagingTags(topic: string): Record<string, string> {
  return { 'messaging.system': 'obs-bus', 'messaging.destination': topic };
}

/** A producer span for one message to `topic`, child of the active span. */
export function startProducerSpan(tracer: Tracer, topic: string, name = `publish ${topic}`): TracerSpan {
  return tracer.startSpan(name, { kind: 'producer', tags: messagingTags(topic) });
}

/**
 * Publishes `messages` with one producer span each (children of the active span), their B3
 * headers added to the message headers. The spans end when the bus has the messages; a failed
 * publish marks them failed and is passed on.
 */
export async function publishTraced(
  bus: Pick<Bus, 'publish'>,
  tracer: Tracer,
  topic: string,
  messages: readonly BusMessage[],
): Promise<void> {
  const spans = messages.map(() => startProducerSpan(tracer, topic));
  const traced = messages.map((m, i) => ({
    ...m,
    headers: { ...m.headers, ...injectToMessage(tracer, spans[i]!) },
  }));
  try {
    await bus.publish(topic, traced);
  } catch (e) {
    for (const s of spans) s.setError(e);
    throw e;
  } finally {
    for (const s of spans) s.finish();
  }
}

export type ConsumeOptions = {
  /** The consumer group, tag `messaging.consumer_group`. */
  group?: string;
  /** Default `consume <topic>`. */
  name?: string;
};

/**
 * Runs `fn` for one record inside a consumer span: a child of the producer span when the record
 * carries a context, a new trace otherwise. Spans started by `fn` become its children. The span
 * ends when `fn` returns or its promise settles; failures are recorded and passed on.
 */
export function consumeTraced<T>(
  tracer: Tracer,
  record: BusRecord,
  fn: (span: TracerSpan) => T,
  options: ConsumeOptions = {},
): T {
  const tags: Record<string, string> = {
    ...messagingTags(record.topic),
    'messaging.partition': String(record.partition),
    'messaging.offset': String(record.offset),
  };
  if (options.group !== undefined) tags['messaging.consumer_group'] = options.group;
  const span = tracer.startSpan(options.name ?? `consume ${record.topic}`, {
    kind: 'consumer',
    parent: extractFromMessage(record) ?? null,
    tags,
  });
  return tracer.withSpan(span, () => finishWhenSettled(span, () => fn(span)));
}
