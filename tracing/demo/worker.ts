/**
 * The worker of the demo: consumes notifications from the Bus (one consumer span each, child of
 * the producer span in pushapi, from the B3 headers of the message) and sends each to the push
 * daemon that holds the device, over an instrumented Thrift client, so the pushd server span is a
 * child of the worker's client span. A failed send marks the consumer span failed; the record is
 * still committed, as a real worker would drop or park an undeliverable notification.
 */
import * as thrift from 'thrift';
import type { Logger } from '../../core/logger.ts';
import type { Bus, BusRecord, Subscription } from '../../core/ports.ts';
import { instrumentClient } from '../thrift/client.ts';
import { type Notification, Pushd, type PushdClient } from '../thrift/push-idl.ts';
import { consumeTraced } from '../tracer/bus-propagation.ts';
import type { Tracer } from '../tracer/tracer.ts';
import { PUSHD_PROTOCOL, PUSHD_TRANSPORT } from './pushd.ts';
import { pickPushd } from './scenario.ts';

export type WorkerOptions = {
  bus: Bus;
  topic: string;
  /** Consumer group. Default `worker`. */
  group?: string;
  tracer: Tracer;
  /** The push daemons, in the order `pickPushd` indexes them. */
  pushd: readonly { port: number; host?: string }[];
  logger: Logger;
};

export type WorkerStats = { consumed: number; delivered: number; failed: number; malformed: number };

export type DemoWorker = {
  stats(): WorkerStats;
  /** Stops consuming (the batch in flight finishes first) and closes the Thrift connections. */
  close(): Promise<void>;
};

type Daemon = { client: PushdClient; connection: thrift.Connection };

function connect(tracer: Tracer, host: string, port: number, logger: Logger): Daemon {
  const connection = thrift.createConnection(host, port, {
    transport: PUSHD_TRANSPORT,
    protocol: PUSHD_PROTOCOL,
  });
  connection.on('error', (e: Error) => logger.warn('pushd connection failed', { host, port, error: e }));
  const client = instrumentClient(thrift.createClient(Pushd, connection), {
    tracer,
    peer: { host, port },
    service: 'Pushd',
  });
  return { client, connection };
}

function parseNotification(record: BusRecord): Notification | undefined {
  try {
    const n = JSON.parse(new TextDecoder().decode(record.value)) as Partial<Notification>;
    return typeof n.deviceToken === 'string' && typeof n.body === 'string' ? (n as Notification) : undefined;
  } catch {
    return undefined;
  }
}

/** Subscribes the worker to `topic` and connects it to every push daemon. */
export async function startWorker(options: WorkerOptions): Promise<DemoWorker> {
  const { tracer, logger } = options;
  const group = options.group ?? 'worker';
  const daemons = options.pushd.map((p) => connect(tracer, p.host ?? '127.0.0.1', p.port, logger));
  const counts: WorkerStats = { consumed: 0, delivered: 0, failed: 0, malformed: 0 };

  const handle = (record: BusRecord): Promise<void> =>
    consumeTraced(
      tracer,
      record,
      async (span) => {
        counts.consumed++;
        const n = parseNotification(record);
        if (!n) {
          counts.malformed++;
          span.setError(new Error('malformed notification'));
          return;
        }
        const index = pickPushd(n.deviceToken, daemons.length);
        span
          .setTag('push.app', n.app)
          .setTag('push.device', n.deviceToken)
          .setTag('pushd.instance', `pushd-${index + 1}`);
        try {
          await daemons[index]!.client.send(n.deviceToken, JSON.stringify({ title: n.title, body: n.body }));
          counts.delivered++;
        } catch (e) {
          // The client span already carries the Thrift exception; the consumer span says the
          // notification was not delivered.
          counts.failed++;
          span.setError(e);
        }
      },
      { group, name: 'deliver' },
    );

  // Records of a batch are handled together, so one slow device does not hold up the others.
  const subscription: Subscription = await options.bus.subscribe({
    topic: options.topic,
    group,
    onBatch: async (records) => {
      await Promise.all(records.map(handle));
    },
  });

  return {
    stats: () => ({ ...counts }),
    async close() {
      await subscription.close();
      for (const d of daemons) d.connection.end();
    },
  };
}
