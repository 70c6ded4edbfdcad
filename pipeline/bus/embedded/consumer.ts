/**
 * One subscriber of one group: reads from the group's committed offset, hands batches to the
 * handler, commits after it resolves, backs off and redelivers after it rejects.
 */
import type { Clock } from '../../../core/clock.ts';
import type { Logger } from '../../../core/logger.ts';
import { type BatchResult, type BusRecord, commitOffset, type Subscription } from '../../../core/ports.ts';
import type { OffsetStore } from './offset-store.ts';
import type { TopicLog } from './topic-log.ts';

export const RETRY_BASE_MS = 100;
export const RETRY_MAX_MS = 5_000;

/** Backoff before attempt `failures + 1`: 100 ms, doubling, capped at 5 s. */
export function retryDelay(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1));
}

export type ConsumerOptions = {
  log: TopicLog;
  offsets: OffsetStore;
  group: string;
  onBatch(records: BusRecord[]): Promise<BatchResult>;
  maxBatchBytes: number;
  clock: Clock;
  logger: Logger;
  /** Longest idle wait before looking at the log again, should a wake-up be missed. */
  pollMs: number;
  /** Called once the consumer has stopped. */
  onStop(): void;
};

export class Consumer implements Subscription {
  private readonly o: ConsumerOptions;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(options: ConsumerOptions) {
    this.o = options;
    this.done = this.run()
      .catch((error) => options.logger.error('bus: consumer stopped on an unexpected error', { error }))
      .finally(() => options.onStop());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.done;
  }

  private startPosition(): number {
    const { log, offsets, group, logger } = this.o;
    const committed = offsets.get(group);
    if (committed === undefined) return log.startOffset;
    if (committed > log.endOffset) {
      logger.warn('bus: committed offset is past the end of the log; resuming at the end', {
        committed,
        endOffset: log.endOffset,
      });
      return log.endOffset;
    }
    return committed;
  }

  private async run(): Promise<void> {
    const { log, logger } = this.o;
    let position = this.startPosition();
    let failures = 0;
    while (!this.closed) {
      if (position < log.startOffset) {
        logger.warn('bus: committed offset was deleted by retention; skipping to the earliest record', {
          committed: position,
          earliest: log.startOffset,
          skipped: log.startOffset - position,
        });
        position = log.startOffset;
      }
      if (position >= log.endOffset) {
        await this.idle(this.o.pollMs, true);
        continue;
      }
      const next = await this.deliver(position, failures + 1);
      if (next === undefined) {
        failures++;
        if (!this.closed) await this.idle(retryDelay(failures), false);
        continue;
      }
      position = next;
      failures = 0;
    }
  }

  /** Reads, handles and commits one batch; returns the next position, or undefined on failure. */
  private async deliver(position: number, attempt: number): Promise<number | undefined> {
    const { log, offsets, group, logger, clock } = this.o;
    let records: BusRecord[];
    try {
      records = await log.read(position, this.o.maxBatchBytes);
      if (records.length === 0) throw new Error(`no record found at offset ${position}`);
    } catch (error) {
      logger.error('bus: cannot read the log', { offset: position, attempt, error });
      return undefined;
    }
    let answer: BatchResult;
    try {
      answer = await this.o.onBatch(records);
    } catch (error) {
      logger.error('bus: batch handler failed; the batch will be delivered again', {
        offset: position,
        records: records.length,
        attempt,
        retryInMs: retryDelay(attempt),
        error,
      });
      return undefined;
    }
    const next = records.at(-1)!.offset + 1;
    const commit = commitOffset(next - 1, answer);
    try {
      if (commit > (offsets.get(group) ?? -1)) await offsets.commit(group, commit, clock.now());
    } catch (error) {
      // The batch is handled; the next commit covers it, or it is redelivered after a restart.
      logger.error('bus: cannot commit the offset', { offset: commit, error });
    }
    return next;
  }

  /** Waits `ms`, or (if `forAppend`) until records are appended, or until closed. */
  private idle(ms: number, forAppend: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.closed) return resolve();
      let cancelTimer = () => {};
      let unlisten = () => {};
      const finish = () => {
        cancelTimer();
        unlisten();
        this.wake = undefined;
        resolve();
      };
      cancelTimer = this.o.clock.setTimeout(finish, ms);
      if (forAppend) unlisten = this.o.log.onAppend(finish);
      this.wake = finish;
    });
  }
}
