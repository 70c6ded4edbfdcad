import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '../core/model.ts';
import { decodePoints } from './codec/points-codec.ts';
import { toMessages } from './ingest.ts';

const point = (app: string, ts: number): MetricPoint => ({
  metric: 'container.cpu.usage',
  ts,
  value: ts,
  tags: { project: 'shop', app },
});

describe('toMessages', () => {
  it('sends one unkeyed message when the bus has one partition', () => {
    const messages = toMessages([point('a', 1), point('b', 2)], 1);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.key).toBeUndefined();
  });

  it('keeps every point of a series under one key, in order, across batches', () => {
    const apps = Array.from({ length: 40 }, (_, i) => `app-${i}`);
    const keyOf = new Map<string, string>();
    for (let batch = 0; batch < 3; batch++) {
      const points = apps.flatMap((a) => [point(a, batch * 10 + 1), point(a, batch * 10 + 2)]);
      const messages = toMessages(points, 8);
      expect(new Set(messages.map((m) => m.key)).size).toBe(messages.length);
      expect(messages.length).toBeGreaterThan(1);
      expect(messages.length).toBeLessThanOrEqual(8);
      let total = 0;
      for (const m of messages) {
        const decoded = decodePoints(m.value);
        total += decoded.length;
        for (const p of decoded) {
          const app = p.tags['app']!;
          expect(keyOf.get(app) ?? m.key).toBe(m.key);
          keyOf.set(app, m.key!);
        }
        const ofFirst = decoded.filter((p) => p.tags['app'] === decoded[0]!.tags['app']).map((p) => p.ts);
        expect(ofFirst).toEqual([...ofFirst].sort((a, b) => a - b));
      }
      expect(total).toBe(points.length);
    }
  });
});
