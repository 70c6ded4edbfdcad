import { describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import { formatProgress, formatSummary, parseDemoArgs } from './cli.ts';
import type { DemoStats } from './demo.ts';
import { hubPages } from './hub-link.ts';

describe('parseDemoArgs', () => {
  it.each([
    [[], { hub: 'http://127.0.0.1:7070/', rate: 20, durationMs: 0 }],
    [
      ['--hub', 'http://hub:9000', '--token', 'obs_x', '--rate', '5', '--duration', '30'],
      { hub: 'http://hub:9000/', token: 'obs_x', rate: 5, durationMs: 30_000 },
    ],
    [['--duration', '2m'], { hub: 'http://127.0.0.1:7070/', rate: 20, durationMs: 120_000 }],
    [['--rate=0.5', '--duration=1.5'], { hub: 'http://127.0.0.1:7070/', rate: 0.5, durationMs: 1500 }],
    [['--hub', 'http://h/obs'], { hub: 'http://h/obs/', rate: 20, durationMs: 0 }],
  ])('%j', (argv, expected) => {
    expect(parseDemoArgs(argv)).toEqual(expected);
  });

  it.each([
    [['--rate=-1'], /Invalid rate "-1"/],
    [['--rate', 'fast'], /Invalid rate "fast"/],
    [['--duration', 'soon'], /Invalid duration "soon"/],
    [['--hub', 'not a url'], /Not a hub URL: "not a url"/],
    [['--colour'], /Unknown option '--colour'[\s\S]*usage:/],
  ])('refuses %j', (argv, message) => {
    let error: unknown;
    try {
      parseDemoArgs(argv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).code).toBe('BAD_REQUEST');
    expect((error as HubError).message).toMatch(message);
  });
});

const stats: DemoStats = {
  load: { sent: { normal: 85, slow: 10, fail: 5 }, errors: 1, skipped: 0, inFlight: 0 },
  pushapi: { accepted: 99, refused: 1, failed: 0 },
  worker: { consumed: 99, delivered: 94, failed: 5, malformed: 0 },
  pushd: [
    { instance: 'pushd-1', port: 4001, sent: 40, offline: 2 },
    { instance: 'pushd-2', port: 4002, sent: 30, offline: 3 },
    { instance: 'pushd-3', port: 4003, sent: 24, offline: 0 },
  ],
  spans: { queued: 0, sent: 495, dropped: 0, failed: 0 },
};

describe('printed lines', () => {
  it('progress gives the calls per kind and the spans sent', () => {
    expect(formatProgress(stats, 5_200)).toBe(
      '[5s] calls 100 (normal 85, slow 10, failing 5) · worker delivered 94, failed 5 · spans sent 495, queued 0, dropped 0, lost 0',
    );
  });

  it('the summary says what ran and where to look', () => {
    const text = formatSummary(stats, hubPages('http://127.0.0.1:7070'), 61_000);
    expect(text).toContain('stopped after 61s');
    expect(text).toContain('100 calls: 85 normal, 10 slow, 5 failing; 1 refused');
    expect(text).toContain('pushd-2  30 sent, 3 DeviceOffline (port 4002)');
    expect(text).toContain('http://127.0.0.1:7070/traces.html?service=pushapi');
    expect(text).toContain('http://127.0.0.1:7070/service-map.html');
  });
});
