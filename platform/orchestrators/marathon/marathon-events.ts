/**
 * Follows Marathon's event stream (GET /v2/events, server-sent events) and turns it into
 * OrchestratorEvents. The stream is filtered on the server by `event_type`.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Clock } from '../../../core/clock.ts';
import type { Logger } from '../../../core/logger.ts';
import type { OrchestratorEvent } from '../../types.ts';
import { backoffMs, type HttpClient } from './http.ts';
import { fromMarathonEvent, type MarathonEvent } from './mapping.ts';
import type { MarathonDeployment } from './marathon-orchestrator.ts';

/** The Marathon event types the hub follows; everything else is filtered out by Marathon itself. */
export const FOLLOWED_EVENT_TYPES = [
  'deployment_info',
  'deployment_success',
  'deployment_failed',
  'status_update_event',
  'health_status_changed_event',
  'deployment_step_success',
] as const;

export type MarathonEventsDeps = { http: HttpClient; url: string; clock: Clock; logger: Logger };

/** The query string that asks Marathon for the followed event types only. */
export function eventStreamQuery(): string {
  return FOLLOWED_EVENT_TYPES.map((t) => `event_type=${t}`).join('&');
}

/**
 * Keeps a subscription to /v2/events until `close`. After the stream drops it reconnects with
 * exponential backoff (reset once connected).
 *
 * Marathon has no `Last-Event-ID` resume: events sent while we were away are gone. So on every
 * (re)connect it re-lists GET /v2/deployments and compares with the deployments it knew to be
 * running: one that vanished finished in the gap and is reported as `deployment_success` with a
 * message saying it was inferred (a deployment that failed or was cancelled in the gap is reported
 * the same way, since Marathon keeps no record of it); one it did not know is reported as
 * `deployment_started`. Task and health changes in the gap are not replayed: callers re-read
 * the apps when they need their state.
 */
export function watchMarathonEvents(
  deps: MarathonEventsDeps,
  onEvent: (event: OrchestratorEvent) => void,
): { close(): void } {
  const { http, clock, logger } = deps;
  const base = deps.url.replace(/\/+$/, '');
  const running = new Map<string, string | undefined>();
  let closed = false;
  let abort: AbortController | undefined;
  let cancelSleep: (() => void) | undefined;
  let failures = 0;

  const emit = (event: OrchestratorEvent) => {
    try {
      onEvent(event);
    } catch (e) {
      logger.error('event handler failed', { error: e });
    }
  };

  function handle(message: EventSourceMessage): void {
    let data: MarathonEvent;
    try {
      data = JSON.parse(message.data) as MarathonEvent;
    } catch {
      logger.warn('unparsable Marathon event', { event: message.event, data: message.data.slice(0, 200) });
      return;
    }
    const type = message.event ?? data.eventType ?? '';
    const event = fromMarathonEvent(type, data, clock.now());
    if (!event) return;
    const id = event.deploymentId;
    if (id && event.type === 'deployment_started') {
      if (running.has(id)) return; // already reported by the re-list, or a later step of it
      running.set(id, event.appId);
    }
    if (id && (event.type === 'deployment_success' || event.type === 'deployment_failed')) {
      if (!event.appId && running.get(id)) event.appId = running.get(id)!;
      running.delete(id);
    }
    emit(event);
  }

  async function reconcile(): Promise<void> {
    const res = await http.send('GET', '/v2/deployments');
    if (res.status !== 200 || !Array.isArray(res.body))
      throw new Error(`GET /v2/deployments answered ${res.status}`);
    const listed = res.body as MarathonDeployment[];
    const now = new Set(listed.map((d) => d.id));
    for (const [id, appId] of running) {
      if (now.has(id)) continue;
      running.delete(id);
      const e: OrchestratorEvent = {
        type: 'deployment_success',
        orchestrator: 'marathon',
        deploymentId: id,
        message: 'finished while the event stream was down (inferred: no longer in /v2/deployments)',
        ts: clock.now(),
      };
      if (appId) e.appId = appId;
      emit(e);
    }
    for (const d of listed) {
      if (running.has(d.id)) continue;
      const appId = d.affectedApps?.[0];
      running.set(d.id, appId);
      const e: OrchestratorEvent = {
        type: 'deployment_started',
        orchestrator: 'marathon',
        deploymentId: d.id,
        message: 'running when the event stream (re)connected',
        ts: clock.now(),
      };
      if (appId) e.appId = appId;
      emit(e);
    }
  }

  async function connectOnce(): Promise<void> {
    abort = new AbortController();
    const res = await fetch(`${base}/v2/events?${eventStreamQuery()}`, {
      headers: http.headers('text/event-stream'),
      signal: abort.signal,
    });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      throw new Error(`GET /v2/events answered ${res.status}`);
    }
    // Connected first, then re-listed: whatever happens after the listing is in the stream.
    await reconcile();
    failures = 0;
    logger.info('Marathon event stream connected');
    const parser = createParser({ onEvent: handle });
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done || closed) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  }

  async function loop(): Promise<void> {
    while (!closed) {
      try {
        await connectOnce();
        if (!closed) logger.warn('Marathon event stream ended, reconnecting');
      } catch (e) {
        if (closed) break;
        logger.warn('Marathon event stream failed, reconnecting', { error: e, attempt: failures });
      }
      if (closed) break;
      const ms = backoffMs(http.retry.baseMs, failures++);
      await new Promise<void>((resolve) => {
        const cancel = clock.setTimeout(resolve, ms);
        cancelSleep = () => {
          cancel();
          resolve();
        };
      });
      cancelSleep = undefined;
    }
  }

  void loop();
  return {
    close() {
      closed = true;
      abort?.abort();
      cancelSleep?.();
    },
  };
}
