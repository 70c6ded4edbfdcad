import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Span } from '../../core/model.ts';
import { parseSpanLog } from '../codec/span-log.ts';
import { createInMemoryExporter } from './in-memory-exporter.ts';
import { createSpanLogExporter } from './span-log-exporter.ts';
import { createTracer } from './tracer.ts';

const span = (i: number, extra: Partial<Span> = {}): Span => ({
  traceId: 'b'.repeat(32),
  spanId: (i + 1).toString(16).padStart(16, '0'),
  name: `op-${i}`,
  kind: 'client',
  service: 'svc',
  start: 1_767_225_600_000_000 + i,
  duration: 5,
  tags: {},
  annotations: [],
  error: false,
  ...extra,
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obs-spanlog-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('span-log exporter', () => {
  it('appends one JSON line per span that the span-log parser reads back', async () => {
    const path = join(dir, 'nested', 'spans.log');
    const e = createSpanLogExporter({ path });
    const spans = [
      span(0, { parentId: 'c'.repeat(16), peerIp: '10.0.0.9', peerPort: 81, tags: { a: 'b' }, error: true }),
      span(1, { annotations: [{ ts: 1_767_225_600_000_001, value: 'cs' }] }),
      span(2),
    ];
    const results = await Promise.all([e.export([spans[0]!]), e.export([spans[1]!]), e.export([spans[2]!])]);
    expect(results.every((r) => r.code === 'success')).toBe(true);
    await e.shutdown();
    const text = await readFile(path, 'utf8');
    expect(text.split('\n')).toHaveLength(4);
    expect(parseSpanLog(text)).toEqual({ spans, errors: [] });

    const again = createSpanLogExporter({ path });
    await again.export([span(3)]);
    await again.shutdown();
    expect(parseSpanLog(await readFile(path, 'utf8')).spans).toHaveLength(4);
  });

  it('returns a failed result when the file cannot be written, and recovers', async () => {
    const path = join(dir, 'spans.log');
    await mkdir(path);
    const e = createSpanLogExporter({ path });
    expect(await e.export([span(0)])).toMatchObject({
      code: 'failed',
      error: { code: 'STORE_FAILED', where: path },
    });
    await rm(path, { recursive: true });
    expect(await e.export([span(1)])).toEqual({ code: 'success' });
    await e.shutdown();
    expect(parseSpanLog(await readFile(path, 'utf8')).spans.map((s) => s.name)).toEqual(['op-1']);
  });

  it('refuses spans after shutdown', async () => {
    const e = createSpanLogExporter({ path: join(dir, 's.log') });
    await e.shutdown();
    expect(await e.export([span(0)])).toMatchObject({ code: 'failed', error: { code: 'UNAVAILABLE' } });
  });

  it('takes spans from a tracer', async () => {
    const path = join(dir, 's.log');
    const tracer = createTracer({ service: 'svc', exporter: createSpanLogExporter({ path }) });
    tracer.trace('outer', {}, () => tracer.startSpan('inner').finish());
    await tracer.shutdown();
    const { spans } = parseSpanLog(await readFile(path, 'utf8'));
    expect(spans.map((s) => s.name)).toEqual(['inner', 'outer']);
    expect(spans[0]!.parentId).toBe(spans[1]!.spanId);
  });
});

describe('in-memory exporter', () => {
  it('keeps copies of exported spans until reset', async () => {
    const e = createInMemoryExporter();
    const s = span(0);
    await e.export([s]);
    s.name = 'changed';
    expect(e.finishedSpans().map((x) => x.name)).toEqual(['op-0']);
    e.reset();
    expect(e.finishedSpans()).toEqual([]);
  });
});
