import { describe, expect, it } from 'vitest';
import type { TraceSpan } from '../model.ts';
import { assembleTrace, traceRows } from './assemble.ts';
import { toDependencyLinks } from './links.ts';
import { mergeSpan } from './merge.ts';

const T = 'b'.repeat(32);
const BASE = 1_767_225_600_000_000;
const id = (n: number) => n.toString(16).padStart(16, '0');

function span(n: number, over: Partial<TraceSpan> = {}): TraceSpan {
  return {
    traceId: T,
    spanId: id(n),
    name: `op${n}`,
    kind: 'local',
    service: 'svc',
    start: BASE + n,
    duration: 100,
    tags: {},
    annotations: [],
    error: false,
    ...over,
  };
}

/** The tree as indented "service:name(kind)" lines. */
function shape(spans: TraceSpan[]): string[] {
  return traceRows(assembleTrace(spans)).map(
    (r) => '  '.repeat(r.depth) + (r.placeholder ? `?${r.spanId}` : `${r.service}:${r.name}(${r.kind})`),
  );
}

describe('trace tree', () => {
  it('nests children under parents, ordered by start', () => {
    expect(
      shape([
        span(3, { parentId: id(1) }),
        span(1),
        span(2, { parentId: id(1), start: BASE + 1 }),
        span(4, { parentId: id(2) }),
      ]),
    ).toEqual(['svc:op1(local)', '  svc:op2(local)', '    svc:op4(local)', '  svc:op3(local)']);
  });

  it('hangs a shared server under its client and marks it shared, giving it the client parent id', () => {
    const root = span(1, { service: 'a', kind: 'server' });
    const client = span(2, { service: 'a', kind: 'client', parentId: id(1) });
    const server = span(2, { service: 'b', kind: 'server' });
    const serverChild = span(3, { service: 'b', parentId: id(2) });
    const a = assembleTrace([serverChild, server, client, root]);
    expect(shape([serverChild, server, client, root])).toEqual([
      'a:op1(server)',
      '  a:op2(client)',
      '    b:op2(server)',
      '      b:op3(local)',
    ]);
    const shared = a.spans.find((s) => s.kind === 'server' && s.spanId === id(2))!;
    expect(shared).toMatchObject({ shared: true, parentId: id(1) });
  });

  it('keeps orphans visible under a placeholder for their missing parent', () => {
    expect(
      shape([
        span(1),
        span(5, { parentId: id(9) }),
        span(6, { parentId: id(9) }),
        span(7, { parentId: id(5) }),
      ]),
    ).toEqual(['svc:op1(local)', `?${id(9)}`, '  svc:op5(local)', '    svc:op7(local)', '  svc:op6(local)']);
    expect(assembleTrace([span(1), span(5, { parentId: id(9) })]).orphanCount).toBe(1);
  });

  it('cuts a parent cycle instead of looping', () => {
    const rows = shape([span(1, { parentId: id(2) }), span(2, { parentId: id(1) })]);
    expect(rows).toHaveLength(3);
  });

  it('merges duplicate and partial reports of one span', () => {
    const a = span(1, { duration: 0, tags: { a: '1' }, annotations: [{ ts: 5, value: 'x' }] });
    const b = span(1, {
      start: BASE + 3,
      duration: 50,
      tags: { b: '2' },
      error: true,
      annotations: [{ ts: 5, value: 'x' }],
    });
    const merged = assembleTrace([a, b, a]).spans;
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({ start: BASE + 1, duration: 50, tags: { a: '1', b: '2' }, error: true });
    expect(merged[0]!.annotations).toEqual([{ ts: 5, value: 'x' }]);
    expect(mergeSpan(a, b)).toEqual(mergeSpan(b, a));
  });
});

describe('dependency links', () => {
  it('counts RPC links from server spans and errors from the client side', () => {
    const spans = [
      span(1, { service: 'web', kind: 'server' }),
      span(2, { service: 'web', kind: 'client', parentId: id(1), error: true }),
      span(2, { service: 'api', kind: 'server' }),
      span(3, { service: 'api', kind: 'client', parentId: id(2), remoteService: 'mysql' }),
      span(4, { service: 'api', kind: 'producer', parentId: id(2), remoteService: 'kafka' }),
      span(5, { service: 'worker', kind: 'consumer', parentId: id(4), remoteService: 'kafka' }),
    ];
    expect(toDependencyLinks(assembleTrace(spans).links)).toEqual([
      { parent: 'api', child: 'kafka', callCount: 1, errorCount: 0 },
      { parent: 'api', child: 'mysql', callCount: 1, errorCount: 0 },
      { parent: 'kafka', child: 'worker', callCount: 1, errorCount: 0 },
      { parent: 'web', child: 'api', callCount: 1, errorCount: 1 },
    ]);
  });

  it('links a root server span only when it knows its caller', () => {
    expect(toDependencyLinks(assembleTrace([span(1, { kind: 'server', service: 'api' })]).links)).toEqual([]);
    expect(
      toDependencyLinks(
        assembleTrace([span(1, { kind: 'server', service: 'api', remoteService: 'lb' })]).links,
      ),
    ).toEqual([{ parent: 'lb', child: 'api', callCount: 1, errorCount: 0 }]);
  });
});
