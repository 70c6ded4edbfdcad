/**
 * Which hub of a Kafka group leads: the one Kafka assigns the only partition of the leader topic.
 * The leader runs what must run once per group (alert rules, the platform loop); every hub
 * ingests, stores and answers queries. Kafka's group protocol is the election: when the leader
 * leaves, or misses heartbeats for the session timeout, the group rebalances and another hub gets
 * the partition.
 *
 * The assignment is sticky: each member says in its join metadata whether it leads, and the
 * assigner leaves the partition with that member, so a hub joining the group does not move the
 * leadership (and the alert state that goes with it). Without a leader, the member first by id
 * leads.
 *
 * A leader cut off from Kafka keeps believing it leads until its heartbeat fails, so for up to
 * the session timeout two hubs may both lead.
 */
import { AssignerProtocol, type GroupMember, type Kafka, type PartitionAssigner } from 'kafkajs';
import type { Logger } from '../../../core/logger.ts';
import type { Leadership } from '../../../core/ports.ts';
import { checkTopic } from './record-mapping.ts';

export type KafkaLeaderOptions = {
  kafka: Kafka;
  /** The consumer group of the election: the hubs that share one leader. */
  group: string;
  /** A topic of one partition, created if missing; nothing is written to it. */
  topic: string;
  logger: Logger;
  /** How long a silent leader keeps the leadership; default 10 s (brokers allow 6 s to 30 min). */
  sessionTimeoutMs?: number;
};

const ASSIGNER = 'ObsStickyLeader';
const LEADS = 'leads';

/** The member the partition goes to: one that leads now, else the first by id. */
export function chooseLeader(members: readonly { memberId: string; leads: boolean }[]): string | undefined {
  const sorted = [...members].sort((a, b) =>
    a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
  );
  return (sorted.find((m) => m.leads) ?? sorted[0])?.memberId;
}

const claimsToLead = (m: GroupMember) => {
  try {
    return AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData.toString() === LEADS;
  } catch {
    return false;
  }
};

export async function electKafkaLeader(options: KafkaLeaderOptions): Promise<Leadership> {
  const { kafka, group, topic } = options;
  checkTopic(topic);
  const logger = options.logger.child({ component: 'leader', group });
  const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
  const listeners = new Set<(leads: boolean) => void>();
  let leads = false;

  const become = (next: boolean, why: string) => {
    if (next === leads) return;
    leads = next;
    logger.info(next ? 'this hub leads its group' : 'this hub no longer leads its group', { why });
    for (const listener of listeners) listener(next);
  };

  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }

  const sticky: PartitionAssigner = () => ({
    name: ASSIGNER,
    version: 1,
    async assign({ members, topics }) {
      const chosen = chooseLeader(members.map((m) => ({ memberId: m.memberId, leads: claimsToLead(m) })));
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: m.memberId === chosen ? Object.fromEntries(topics.map((t) => [t, [0]])) : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: ASSIGNER,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(leads ? LEADS : ''),
        }),
      };
    },
  });

  const consumer = kafka.consumer({
    groupId: group,
    partitionAssigners: [sticky],
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 5)),
    rebalanceTimeout: 30_000,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: Math.max(500, Math.floor(sessionTimeout / 5)),
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    become((payload.memberAssignment[topic] ?? []).includes(0), 'the group was (re)formed');
  });
  // The consumer stopped or lost its connection: another hub may get the partition meanwhile.
  consumer.on(consumer.events.CRASH, () => become(false, 'the consumer crashed'));
  consumer.on(consumer.events.STOP, () => become(false, 'the consumer stopped'));
  consumer.on(consumer.events.DISCONNECT, () => become(false, 'the consumer disconnected'));

  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  await consumer.run({ eachMessage: async () => {} });

  return {
    leads: () => leads,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      become(false, 'the hub is stopping');
      listeners.clear();
      await consumer.disconnect();
    },
  };
}
