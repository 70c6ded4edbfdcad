/**
 * The embedded `Bus`: a durable append-only log per topic in a directory of the data dir.
 *
 * Layout: `<dir>/LOCK` (pid of the owning process), `<dir>/<topic>/<base offset>.log` segments and
 * `<dir>/<topic>/groups/<group>.json` committed offsets. One partition (0) per topic.
 *
 * Within one process a group has at most one subscriber per topic: a second `subscribe` of the
 * same topic and group is refused with a `BAD_REQUEST` HubError until the first is closed.
 */
import { mkdir, open, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Clock, systemClock } from '../../../core/clock.ts';
import { HubError } from '../../../core/errors.ts';
import { type Logger, silentLogger } from '../../../core/logger.ts';
import type {
  Bus,
  BusMessage,
  BusRecord,
  SubscribeOptions,
  Subscription,
  TopicStats,
} from '../../../core/ports.ts';
import { deadLetterMessage } from '../kafka/record-mapping.ts';
import { Consumer } from './consumer.ts';
import { groupFileName, OffsetStore } from './offset-store.ts';
import { frameSize, MAX_PAYLOAD_BYTES } from './record-codec.ts';
import { TopicLog } from './topic-log.ts';

export type EmbeddedBusOptions = {
  /** Directory the bus owns; created if missing. */
  dir: string;
  /** A segment is closed and a new one started beyond this size. Default 64 MiB. */
  segmentBytes?: number;
  /** Old segments are deleted while a topic is bigger than this. Default 4 GiB. */
  retentionBytes?: number;
  /** Segments whose newest record is older than this are deleted. Default 24 h. */
  retentionAgeMs?: number;
  /**
   * Frame bytes of each topic's newest records also kept in memory, so that subscribers that keep
   * up read them without reading the segment back. Default 32 MiB; 0 reads everything from disk.
   */
  recentBytes?: number;
  /** How often retention runs besides on every segment roll. Default 60 s. */
  retentionCheckMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Longest wait of an idle subscriber before it looks at the log again. Default 1 s. */
  pollMs?: number;
  /** Where `deadLetter` sends records. Default `obs.dead-letter`. */
  deadLetterTopic?: string;
};

export type EmbeddedBus = Bus & {
  /** Runs retention on every topic now; resolves when done. */
  enforceRetention(): Promise<void>;
};

const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const openDirs = new Set<string>();

type TopicState = { log: TopicLog; offsets: OffsetStore };

/** Opens the bus in `options.dir`, recovering every topic found there. */
export async function createEmbeddedBus(options: EmbeddedBusOptions): Promise<EmbeddedBus> {
  const bus = new EmbeddedBusImpl(options);
  await bus.open();
  return bus;
}

export function validateTopic(topic: string): void {
  if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..')
    throw new HubError('BAD_REQUEST', `Invalid topic name "${topic}": use 1-249 of A-Z a-z 0-9 . _ -`, {
      where: 'topic',
    });
}

function validateGroup(group: string): void {
  if (group.length === 0 || groupFileName(group).length > 250)
    throw new HubError('BAD_REQUEST', `Invalid group name "${group}": empty or too long`, { where: 'group' });
}

function validateMessages(topic: string, messages: BusMessage[]): void {
  if (!Array.isArray(messages))
    throw new HubError('BAD_REQUEST', `Messages for ${topic} must be an array`, { where: topic });
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const where = `${topic}[${i}]`;
    if (!(m?.value instanceof Uint8Array))
      throw new HubError('BAD_REQUEST', `Message ${i} for ${topic} has no Uint8Array value`, { where });
    if (m.key !== undefined && typeof m.key !== 'string')
      throw new HubError('BAD_REQUEST', `Message ${i} for ${topic} has a key that is not a string`, {
        where,
      });
    if (m.headers !== undefined)
      for (const [name, value] of Object.entries(m.headers))
        if (typeof value !== 'string')
          throw new HubError('BAD_REQUEST', `Header "${name}" of message ${i} for ${topic} is not a string`, {
            where: `${where}.headers.${name}`,
          });
    if (frameSize(m) > MAX_PAYLOAD_BYTES)
      throw new HubError(
        'PAYLOAD_TOO_LARGE',
        `Message ${i} for ${topic} is over ${MAX_PAYLOAD_BYTES} bytes`,
        {
          where,
        },
      );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<dir>/LOCK`, refusing when another live process (or this one) holds it. */
async function lockDir(dir: string, logger: Logger): Promise<() => Promise<void>> {
  const key = resolve(dir);
  if (openDirs.has(key)) throw new HubError('UNAVAILABLE', `The bus directory ${dir} is already open`);
  const path = join(dir, 'LOCK');
  try {
    const h = await open(path, 'wx');
    await h.writeFile(String(process.pid));
    await h.close();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const owner = Number((await readFile(path, 'utf8')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner))
      throw new HubError('UNAVAILABLE', `The bus directory ${dir} is in use by process ${owner}`, {
        canRetry: true,
      });
    logger.info('bus: taking over a stale lock', { dir, previousOwner: owner });
    await writeFile(path, String(process.pid));
  }
  openDirs.add(key);
  return async () => {
    openDirs.delete(key);
    await unlink(path).catch(() => undefined);
  };
}

class EmbeddedBusImpl implements EmbeddedBus {
  private readonly dir: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly settings: {
    segmentBytes: number;
    retentionBytes: number;
    retentionAgeMs: number;
    recentBytes: number;
  };
  private readonly pollMs: number;
  private readonly deadLetterTopic: string;
  private readonly retentionCheckMs: number;
  private readonly topics = new Map<string, Promise<TopicState>>();
  private readonly consumers = new Map<string, Consumer>();
  private unlock: (() => Promise<void>) | undefined;
  private stopTimer: (() => void) | undefined;
  private closed = false;

  constructor(options: EmbeddedBusOptions) {
    this.dir = options.dir;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.settings = {
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      retentionBytes: options.retentionBytes ?? 4 * 1024 * 1024 * 1024,
      retentionAgeMs: options.retentionAgeMs ?? 24 * 3_600_000,
      recentBytes: options.recentBytes ?? 32 * 1024 * 1024,
    };
    this.pollMs = options.pollMs ?? 1_000;
    this.deadLetterTopic = options.deadLetterTopic ?? 'obs.dead-letter';
    this.retentionCheckMs = options.retentionCheckMs ?? 60_000;
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.unlock = await lockDir(this.dir, this.logger);
    try {
      for (const entry of await readdir(this.dir, { withFileTypes: true }))
        if (entry.isDirectory() && TOPIC_NAME.test(entry.name)) await this.topic(entry.name);
    } catch (e) {
      for (const pending of this.topics.values()) await (await pending.catch(() => undefined))?.log.close();
      await this.unlock();
      throw e;
    }
    this.stopTimer = this.clock.setInterval(() => {
      this.enforceRetention().catch((error) => this.logger.error('bus: retention failed', { error }));
    }, this.retentionCheckMs);
  }

  private topic(name: string): Promise<TopicState> {
    let state = this.topics.get(name);
    if (!state) {
      const dir = join(this.dir, name);
      const logger = this.logger.child({ topic: name });
      state = (async () => ({
        log: await TopicLog.open({ dir, topic: name, ...this.settings, clock: this.clock, logger }),
        offsets: await OffsetStore.open(dir, logger),
      }))();
      this.topics.set(name, state);
      state.catch(() => this.topics.delete(name));
    }
    return state;
  }

  private assertOpen(): void {
    if (this.closed) throw new HubError('UNAVAILABLE', 'The embedded bus is closed');
  }

  async publish(topic: string, messages: BusMessage[]): Promise<void> {
    this.assertOpen();
    validateTopic(topic);
    validateMessages(topic, messages);
    if (messages.length === 0) return;
    const { log } = await this.topic(topic);
    await log.append(messages);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const { topic, group } = options;
    validateTopic(topic);
    validateGroup(group);
    const key = `${topic}\u0000${group}`;
    if (this.consumers.has(key))
      throw new HubError('BAD_REQUEST', `Group "${group}" already has a subscriber of topic ${topic}`, {
        where: 'group',
      });
    const { log, offsets } = await this.topic(topic);
    this.assertOpen();
    if (this.consumers.has(key))
      throw new HubError('BAD_REQUEST', `Group "${group}" already has a subscriber of topic ${topic}`, {
        where: 'group',
      });
    const consumer: Consumer = new Consumer({
      log,
      offsets,
      group,
      onBatch: options.onBatch,
      maxBatchBytes: options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
      clock: this.clock,
      logger: this.logger.child({ topic, group }),
      pollMs: this.pollMs,
      onStop: () => {
        if (this.consumers.get(key) === consumer) this.consumers.delete(key);
      },
    });
    this.consumers.set(key, consumer);
    return consumer;
  }

  async deadLetter(record: BusRecord, reason: string): Promise<void> {
    await this.publish(this.deadLetterTopic, [deadLetterMessage(record, reason)]);
  }

  async stats(): Promise<TopicStats[]> {
    const out: TopicStats[] = [];
    for (const [name, pending] of [...this.topics].sort(([a], [b]) => a.localeCompare(b))) {
      const { log, offsets } = await pending;
      const end = log.endOffset;
      const groups = offsets.groups();
      for (const key of this.consumers.keys()) {
        const [t, g] = key.split('\u0000') as [string, string];
        if (t === name && !groups.has(g)) groups.set(g, log.startOffset);
      }
      out.push({
        topic: name,
        partition: 0,
        endOffset: end,
        bytes: log.bytes,
        groups: [...groups]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([group, committed]) => ({
            group,
            committed,
            lag: Math.max(0, end - Math.max(committed, log.startOffset)),
          })),
      });
    }
    return out;
  }

  async enforceRetention(): Promise<void> {
    for (const pending of [...this.topics.values()]) {
      const { log } = await pending;
      await log.enforceRetention();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimer?.();
    await Promise.all([...this.consumers.values()].map((c) => c.close()));
    for (const pending of this.topics.values()) {
      const state = await pending.catch(() => undefined);
      await state?.log.close();
    }
    await this.unlock?.();
  }
}
