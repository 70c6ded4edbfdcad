/**
 * Child process of crash.test.ts: publishes small batches from several concurrent callers and
 * prints `ack <batch id> <records>` after each publish resolves, until it is killed.
 * Usage: node --import tsx test/bus/crash-publisher.ts <bus dir> <round>
 */
import { createEmbeddedBus } from '../../pipeline/bus/embedded/embedded-bus.ts';
import { CRASH_TOPIC, crashPayload } from './crash-payload.ts';

const [dir, round] = process.argv.slice(2);
if (!dir || !round) throw new Error('usage: crash-publisher.ts <dir> <round>');

const bus = await createEmbeddedBus({ dir, segmentBytes: 64 * 1024 });
const callers = 4;

await Promise.all(
  Array.from({ length: callers }, async (_, caller) => {
    for (let batch = 0; ; batch++) {
      const batchId = `${round}-${caller}-${batch}`;
      const ids = Array.from({ length: 1 + (batch % 10) }, (_, i) => `${batchId}-${i}`);
      await bus.publish(
        CRASH_TOPIC,
        ids.map((id) => ({ key: id, headers: { id }, value: crashPayload(id) })),
      );
      process.stdout.write(`ack ${batchId} ${ids.length}\n`);
    }
  }),
);
