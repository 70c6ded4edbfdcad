/**
 * For tests against the real broker that scripts/engines/kafka.sh runs on 127.0.0.1:9092:
 * whether it answers, unique names, and buses that clean up after themselves.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { silentLogger } from '../../../core/logger.ts';
import { missingPrerequisite } from '../../../test/containers/cgroup-harness.ts';
import { createKafkaBus, type KafkaBus, type KafkaBusOptions } from './kafka-bus.ts';

export const TEST_BROKER = '127.0.0.1:9092';

/** Why the broker cannot be used, or undefined when it answers. */
export function brokerUnavailable(address = TEST_BROKER): Promise<string | undefined> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    socket.setTimeout(2000);
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.once('connect', () => done(undefined));
    socket.once('timeout', () => done(`no Kafka broker answers at ${address}`));
    socket.once('error', (e) => done(`no Kafka broker answers at ${address} (${e.message})`));
  });
}

/** True when the suite must skip (locally); throws under CI=true when the broker is missing. */
export async function skipWithoutBroker(suite: string): Promise<boolean> {
  const reason = await brokerUnavailable();
  return missingPrerequisite(suite, reason && `${reason}; start it with scripts/engines/kafka.sh start`);
}

export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A Kafka bus on the test broker with quick retries; the caller closes it. */
export function testBus(options: Partial<KafkaBusOptions> = {}): Promise<KafkaBus> {
  return createKafkaBus({
    brokers: [TEST_BROKER],
    clientId: unique('obs-test'),
    logger: silentLogger,
    retry: { initialMs: 50, maxMs: 1000 },
    ...options,
  });
}
