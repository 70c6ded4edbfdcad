/**
 * Child process of kafka-leader.test.ts: joins the election of a group on the test broker and
 * prints `leads` or `follows` at every change, until it is killed.
 * Usage: node --import tsx test/bus/leader-child.ts <group> <leader topic>
 */
import { testBus } from '../../pipeline/bus/kafka/test-broker.ts';

const [group, topic] = process.argv.slice(2);
if (!group || !topic) throw new Error('usage: leader-child.ts <group> <leader topic>');

const bus = await testBus({ leader: { topic, sessionTimeoutMs: 6000 } });
const leadership = await bus.lead(group);
leadership.onChange((leads) => process.stdout.write(`${leads ? 'leads' : 'follows'}\n`));
process.stdout.write(`joined\n${leadership.leads() ? 'leads\n' : ''}`);
