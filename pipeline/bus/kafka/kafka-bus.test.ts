import { describe } from 'vitest';
import { runBusContract } from '../contract.ts';
import { skipWithoutBroker, testBus } from './test-broker.ts';

// Skips locally without a broker (start it with scripts/engines/kafka.sh start); throws under CI.
const skip = await skipWithoutBroker('Kafka bus contract');

describe.skipIf(skip)('Bus contract on a real Kafka broker', () => {
  // One partition per topic: the contract checks a total order over a topic, which Kafka keeps
  // per partition only. Multi-partition behaviour is tested in kafka-groups.test.ts.
  runBusContract('kafka, 1 partition', async () => {
    const bus = await testBus({ topics: { partitions: 1 } });
    return { bus, cleanup: () => bus.close() };
  });
});
