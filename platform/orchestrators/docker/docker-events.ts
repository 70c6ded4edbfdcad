/**
 * Follows Docker's `/events` stream for the containers of our apps and turns their starts, exits
 * and health changes into orchestrator events. Reconnects on its own after a break, asking Docker
 * for the events since the last one seen so none is lost in between.
 */
import type Docker from 'dockerode';
import type { Clock } from '../../../core/clock.ts';
import type { Logger } from '../../../core/logger.ts';
import type { OrchestratorEvent } from '../../types.ts';
import { createEventSplitter, type DockerEventMessage, eventTime, orchestratorEventOf } from './mapping.ts';

export type DockerEventsOptions = {
  docker: Docker;
  clock: Clock;
  logger: Logger;
  /** Ids of containers the adapter is removing: their exit is reported as `killed`. */
  stopping: ReadonlySet<string>;
  emit(event: OrchestratorEvent): void;
  /** Wait before reconnecting, ms; default 2 s. */
  retryMs?: number;
};

type Stream = NodeJS.ReadableStream & { destroy?: () => void };

/** A stream follower; `start` and `stop` may be called any number of times. */
export function createDockerEvents(options: DockerEventsOptions): { start(): void; stop(): void } {
  const { docker, clock, logger } = options;
  const retryMs = options.retryMs ?? 2000;
  let running = false;
  let stream: Stream | undefined;
  let cancelRetry: (() => void) | undefined;
  /** Epoch seconds of the last event seen, for `since` on reconnect. */
  let since: number | undefined;
  /** The events of second `since` already passed on: `since` replays that whole second. */
  let seenInSecond = new Set<string>();
  let warned = false;
  /** Each connection's number: handlers of a replaced stream do nothing. */
  let generation = 0;

  const onMessage = (message: DockerEventMessage) => {
    const second = Math.floor(eventTime(message, clock.now()) / 1000);
    const key = `${message.Actor?.ID ?? message.id}|${message.Action ?? message.status}|${message.timeNano ?? message.time}`;
    if (since !== undefined && second < since) return;
    if (second === since && seenInSecond.has(key)) return;
    if (second !== since) {
      since = second;
      seenInSecond = new Set();
    }
    seenInSecond.add(key);
    const event = orchestratorEventOf(message, clock.now(), options.stopping);
    if (event) options.emit(event);
  };

  const retry = (mine: number, why: unknown) => {
    if (mine !== generation) return;
    generation++;
    stream = undefined;
    if (!running) return;
    if (!warned) logger.warn('Docker event stream broke; reconnecting', { err: why, retryMs });
    warned = true;
    cancelRetry = clock.setTimeout(connect, retryMs);
  };

  function connect(): void {
    cancelRetry = undefined;
    if (!running) return;
    const mine = ++generation;
    const opts: Docker.GetEventsOptions = {
      filters: { type: ['container'] },
      ...(since === undefined ? {} : { since }),
    };
    docker.getEvents(opts).then(
      (s) => {
        if (!running || mine !== generation) return (s as Stream).destroy?.();
        stream = s as Stream;
        if (warned) logger.info('Docker event stream reconnected');
        warned = false;
        // A new splitter per connection: a line cut by a broken stream is not glued to the next one.
        const split = createEventSplitter(onMessage);
        stream.on('data', (chunk: Buffer) => split(chunk.toString('utf8')));
        stream.on('error', (e) => retry(mine, e));
        stream.on('end', () => retry(mine, new Error('the stream ended')));
      },
      (e: unknown) => retry(mine, e),
    );
  }

  return {
    start() {
      if (running) return;
      running = true;
      // Docker's `since` is in the engine's time, not the hub's (possibly fake) clock: starting a
      // second early replays a little rather than missing what happens while the stream connects.
      since = Math.floor(Date.now() / 1000) - 1;
      seenInSecond = new Set();
      connect();
    },
    stop() {
      running = false;
      generation++;
      cancelRetry?.();
      cancelRetry = undefined;
      stream?.destroy?.();
      stream = undefined;
    },
  };
}
