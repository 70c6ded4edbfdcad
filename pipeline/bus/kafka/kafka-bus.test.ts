import { describe, it } from 'vitest';
import { runBusContract } from '../contract.ts';
import { skipWithoutBroker, testBus } from './test-broker.ts';

const skip = await skipWithoutBroker('Kafka bus contract');

if (skip) {
  describe('Bus contract: kafka', () => {
    it.skip('needs a broker on 127.0.0.1:9092: start it with scripts/engines/kafka.sh start', () => {});
  });
} else {
  // One partition per topic: the contract checks a total order over a topic, which Kafka keeps
  // per partition only. Multi-partition behaviour is tested in kafka-groups.test.ts.
  runBusContract('kafka, 1 partition', async () => {
    const bus = await testBus({ topics: { partitions: 1 } });
    return { bus, cleanup: () => bus.close() };
  });
}
