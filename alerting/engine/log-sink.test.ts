import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../core/logger.ts';
import type { Alert } from '../types.ts';
import { createLogSink } from './log-sink.ts';

const alert = (over: Partial<Alert>): Alert => ({
  fingerprint: 'f1',
  rule: 'R',
  labels: { alertname: 'R' },
  annotations: {},
  status: 'firing',
  nodata: false,
  value: 1,
  startsAt: 10,
  endsAt: null,
  updatedAt: 10,
  generatorURL: '',
  ...over,
});

describe('log sink', () => {
  it('logs an alert once when it starts firing, and when it resolves', async () => {
    const logger = createMemoryLogger();
    const sink = createLogSink(logger);
    await sink.update([alert({})], 10);
    await sink.update([alert({ value: 2, updatedAt: 20 })], 20);
    await sink.update([alert({ status: 'resolved', endsAt: 30 })], 30);
    await sink.update([alert({ startsAt: 40 })], 40);
    expect(logger.lines.map((l) => `${l['msg']}@${l['startsAt']}`)).toEqual([
      'alert firing@10',
      'alert resolved@10',
      'alert firing@40',
    ]);
  });
});
