/** The trace-field shims on bytes in memory: generated client → bytes → generated processor, no sockets. */

import type { TProtocol } from 'thrift';
import * as thrift from 'thrift';
import { describe, expect, it } from 'vitest';
import { createTraceReader, type ProtocolClass, tracedProtocolClass, withOutgoingTrace } from './protocol.ts';
import { type Notification, Platform, PushApi, type PushApiHandler } from './push-idl.ts';

const B3 = {
  'X-B3-TraceId': '4bf92f3577b34da6a3ce929d0e0e4736',
  'X-B3-SpanId': '00f067aa0ba902b7',
  'X-B3-ParentSpanId': '53995c3f42cd8ad8',
  'X-B3-Sampled': '1',
};

const NOTE: Notification = {
  app: '/push/app',
  deviceToken: 'd1',
  platform: Platform.ANDROID,
  title: 't',
  body: 'b',
  data: { k: 'v' },
  ttlSeconds: 60,
};

/** Bytes the four fields take: binary, 7 of header each; compact, 4 then 1 (delta ids) plus a length byte. */
const PROTOCOLS: [string, ProtocolClass, number][] = [
  ['binary', thrift.TBinaryProtocol, 4 * 7 + 32 + 16 + 16 + 1],
  ['compact', thrift.TCompactProtocol, 5 + 32 + (2 + 16) * 2 + 2 + 1],
];

/** The bytes of one `push` call written by a generated client with `pClass`. */
function callBytes(pClass: ProtocolClass, headers?: Record<string, string>): Buffer {
  const frames: Buffer[] = [];
  const transport = new thrift.TFramedTransport(undefined, (buf) => frames.push(buf!));
  const client = new PushApi.Client(transport, pClass);
  const send = () => void client.push(NOTE).catch(() => {});
  if (headers) withOutgoingTrace(transport, headers, send);
  else send();
  return frames[0]!.subarray(4);
}

/** Feeds `bytes` to a generated processor; returns what the handler got and the reply frame. */
async function serve(bytes: Buffer, pClass: ProtocolClass, wrap?: (input: TProtocol) => TProtocol) {
  const received: Notification[] = [];
  const handler: PushApiHandler = {
    push: (n) => {
      received.push(n);
      return { id: 'r', accepted: 1 };
    },
    pushMany: (ns) => ({ id: 'm', accepted: ns.length }),
    ping: () => 'pong',
  };
  let reply: Buffer | undefined;
  const input = new pClass(new thrift.TFramedTransport(bytes));
  const output = new pClass(new thrift.TFramedTransport(undefined, (buf) => (reply = buf)));
  new PushApi.Processor(handler).process(wrap ? wrap(input) : input, output);
  await new Promise((r) => setImmediate(r));
  return { received, reply };
}

describe.each(PROTOCOLS)('trace fields over the %s protocol', (_, Protocol, overhead) => {
  const Traced = tracedProtocolClass(Protocol);

  it('adds the four fields once, to the argument struct only', () => {
    const plain = callBytes(Protocol);
    const traced = callBytes(Traced, B3);
    expect(traced.length - plain.length).toBe(overhead);
    for (const id of [B3['X-B3-TraceId'], B3['X-B3-SpanId'], B3['X-B3-ParentSpanId']])
      expect(traced.toString('latin1').split(id)).toHaveLength(2);
    expect(callBytes(Traced)).toEqual(plain);
  });

  it('leaves a plain processor working: it skips the unknown fields', async () => {
    const { received, reply } = await serve(callBytes(Traced, B3), Protocol);
    expect(received).toEqual([expect.objectContaining(NOTE)]);
    const plain = await serve(callBytes(Protocol), Protocol);
    expect(reply).toEqual(plain.reply);
  });

  it('lets a trace reader take the fields out before the processor sees them', async () => {
    let reader: ReturnType<typeof createTraceReader> | undefined;
    const { received } = await serve(callBytes(Traced, B3), Protocol, (input) => {
      reader = createTraceReader(input);
      return reader.protocol;
    });
    expect(received).toEqual([expect.objectContaining(NOTE)]);
    expect(reader!.headers()).toEqual(B3);
  });

  it('reads no headers from a plain caller', async () => {
    let reader: ReturnType<typeof createTraceReader> | undefined;
    const { received } = await serve(callBytes(Protocol), Protocol, (input) => {
      reader = createTraceReader(input);
      return reader.protocol;
    });
    expect(received).toHaveLength(1);
    expect(reader!.headers()).toEqual({});
  });

  it('passes a reserved id of another type through to the generated code', async () => {
    const frames: Buffer[] = [];
    const out = new Protocol(new thrift.TFramedTransport(undefined, (b) => frames.push(b!)));
    out.writeMessageBegin('ping', thrift.Thrift.MessageType.CALL, 7);
    out.writeStructBegin('PushApi_ping_args');
    out.writeFieldBegin('odd', thrift.Thrift.Type.I32, 32760);
    out.writeI32(5);
    out.writeFieldEnd();
    out.writeFieldStop();
    out.writeStructEnd();
    out.writeMessageEnd();
    out.flush();
    let reader: ReturnType<typeof createTraceReader> | undefined;
    const { reply } = await serve(frames[0]!.subarray(4), Protocol, (input) => {
      reader = createTraceReader(input);
      return reader.protocol;
    });
    expect(reader!.headers()).toEqual({});
    expect(reply!.toString('latin1')).toContain('pong');
  });

  it('writes nothing extra into replies', () => {
    const write = (P: ProtocolClass) => {
      const frames: Buffer[] = [];
      const transport = new thrift.TFramedTransport(undefined, (b) => frames.push(b!));
      const p = withOutgoingTrace(transport, B3, () => new P(transport));
      p.writeMessageBegin('ping', thrift.Thrift.MessageType.REPLY, 1);
      p.writeStructBegin('r');
      p.writeFieldBegin('success', thrift.Thrift.Type.STRING, 0);
      p.writeString('pong');
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
      p.writeMessageEnd();
      p.flush();
      return frames[0];
    };
    expect(write(Traced)).toEqual(write(Protocol));
  });

  it('builds the traced class once per protocol class', () => {
    expect(tracedProtocolClass(Protocol)).toBe(Traced);
    expect(tracedProtocolClass(Traced)).toBe(Traced);
  });
});
