/**
 * From a point to a page, through the real hub: a point over a rule's threshold reaches a real
 * webhook receiver as Alertmanager's payload, once; the point back under it sends the resolve.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type AlertingHub, startAlertingHub } from './alerting-fixture.ts';
import { eventually, postJson } from './harness.ts';

describe('alerting end to end', () => {
  let fixture: AlertingHub | undefined;
  afterAll(async () => fixture?.stop());

  it('pages once when a point crosses the threshold, and resolves', async () => {
    fixture = await startAlertingHub();
    const { hub, received } = fixture;
    const put = (value: number) =>
      postJson(`${hub.url}api/put`, {
        metric: 'e2e.temp',
        timestamp: Date.now(),
        value,
        tags: { room: 'a' },
      });
    expect((await put(70)).status).toBe(204);
    await eventually(async () => expect(received.length).toBeGreaterThanOrEqual(1), 20_000);
    const first = received[0]!;
    expect(first.version).toBe('4');
    expect(first.status).toBe('firing');
    expect(`${first.externalURL}/`).toBe(hub.url);
    expect(first.alerts[0]!.labels).toMatchObject({
      alertname: 'HotRoom',
      room: 'a',
      severity: 'page',
      project: 'ops',
    });

    await new Promise((r) => setTimeout(r, 3000)); // several evaluations and group intervals: no second page
    expect(received.filter((p) => p.status === 'firing')).toHaveLength(1);

    expect((await put(20)).status).toBe(204);
    await eventually(async () => expect(received.some((p) => p.status === 'resolved')).toBe(true), 20_000);
  }, 60_000);
});
