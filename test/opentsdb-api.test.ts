/** The OpenTSDB-compatible HTTP API, over real HTTP against a real hub. */
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, postJson, startTestHub, type TestHub } from './harness.ts';

// Seconds, a multiple of 60, within the hot window (the last two hours).
const T0 = Math.floor(Date.now() / 60_000) * 60 - 3_600;
const pt = (metric: string, ts: number, value: number | string, tags: Record<string, string>) => ({
  metric,
  timestamp: ts,
  value,
  tags,
});

let hub: TestHub;
let api: string;

async function query(body: unknown): Promise<{ status: number; body: any }> {
  return postJson(`${api}api/query`, body);
}

function dps(result: any): Record<string, number> {
  return result.dps;
}

beforeAll(async () => {
  hub = await startTestHub();
  api = hub.url;
  const data = [
    pt('test.cpu', T0, 1, { host: 'a', app: 'web' }),
    pt('test.cpu', T0 + 10, 2, { host: 'a', app: 'web' }),
    pt('test.cpu', T0 + 20, 3, { host: 'a', app: 'web' }),
    pt('test.cpu', T0, 10, { host: 'b', app: 'web' }),
    pt('test.cpu', T0 + 10, 20, { host: 'b', app: 'web' }),
    pt('test.cpu', T0 + 20, 30, { host: 'b', app: 'web' }),
    pt('test.cpu', T0, 100, { host: 'c', app: 'api' }),
    pt('test.cpu', T0 + 20, 300, { host: 'c', app: 'api' }),
    pt('test.requests', T0, 100, { host: 'a' }),
    pt('test.requests', T0 + 10, 200, { host: 'a' }),
    pt('test.requests', T0 + 20, 50, { host: 'a' }),
    pt('test.requests', T0 + 30, 150, { host: 'a' }),
  ];
  const r = await postJson(`${api}api/put`, data);
  expect(r.status).toBe(204);
  await eventually(async () => {
    const q = await query({
      start: T0,
      end: T0 + 60,
      queries: [{ metric: 'test.requests', aggregator: 'sum' }],
    });
    expect(Object.keys(dps(q.body[0]))).toHaveLength(4);
    const c = await query({
      start: T0,
      end: T0 + 60,
      queries: [{ metric: 'test.cpu', aggregator: 'count' }],
    });
    expect(Object.keys(dps(c.body[0]))).toHaveLength(3);
  });
});

afterAll(async () => {
  await hub?.stop();
});

describe('POST /api/put', () => {
  const good = (i: number) => pt('put.mixed', T0 + i, i, { host: 'h1' });
  const bad = [
    pt('', T0, 1, { host: 'h1' }),
    pt('put.mixed', 0, 1, { host: 'h1' }),
    pt('put.mixed', T0, 'abc', { host: 'h1' }),
    { metric: 'put.mixed', timestamp: T0, value: 1, tags: {} },
  ];

  it('with ?details answers 400 listing exactly the bad points, and stores every good one', async () => {
    const body = [good(1), bad[0], good(2), bad[1], bad[2], good(3), bad[3]];
    const r = await postJson(`${api}api/put?details`, body);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      success: 3,
      failed: 4,
      errors: [
        { datapoint: bad[0], error: 'Metric name was empty' },
        { datapoint: bad[1], error: 'Invalid timestamp: 0' },
        { datapoint: bad[2], error: 'Unable to parse value to a number' },
        { datapoint: bad[3], error: 'Missing tags' },
      ],
    });
    await eventually(async () => {
      const q = await query({
        start: T0,
        end: T0 + 10,
        queries: [{ metric: 'put.mixed', aggregator: 'sum' }],
      });
      expect(q.body[0].dps).toEqual({ [T0 + 1]: 1, [T0 + 2]: 2, [T0 + 3]: 3 });
    });
  });

  it('answers as OpenTSDB does without and with ?summary', async () => {
    expect((await postJson(`${api}api/put`, good(4))).status).toBe(204);
    const plain = await postJson(`${api}api/put`, [good(5), bad[0]]);
    expect(plain.status).toBe(400);
    expect(plain.body).toEqual({
      error: {
        code: 400,
        message: 'One or more data points had errors',
        details: 'Please see the TSD logs or append "details" to the put request',
      },
    });
    expect(await postJson(`${api}api/put?summary`, [good(6)])).toEqual({
      status: 200,
      body: { failed: 0, success: 1 },
    });
    expect(await postJson(`${api}api/put?summary`, [good(7), bad[1]])).toEqual({
      status: 400,
      body: { failed: 1, success: 1 },
    });
    expect(await postJson(`${api}api/put?details`, [good(8)])).toEqual({
      status: 200,
      body: { errors: [], failed: 0, success: 1 },
    });
  });

  it('rejects a body that is not JSON, saying so', async () => {
    const res = await fetch(`${api}api/put`, { method: 'POST', body: '[{"metric": ' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.error.message).toMatch(/Unable to parse the given JSON/);
  });

  it('counts accepted and rejected points on /metrics', async () => {
    const text = await (await fetch(`${api}metrics`)).text();
    expect(text).toMatch(/obs_points_accepted_total\{protocol="http"\} \d+/);
    expect(text).toMatch(/obs_points_rejected_total\{protocol="http",reason="timestamp"\} [1-9]/);
    expect(text).toMatch(/obs_store_write_seconds_bucket/);
    expect(text).toMatch(/obs_bus_lag_records\{topic="metrics",group="metric-store"\} \d+/);
  });
});

describe('POST /api/query', () => {
  it('sums across series, interpolating a missing point linearly', async () => {
    const r = await query({ start: T0, end: T0 + 30, queries: [{ metric: 'test.cpu', aggregator: 'sum' }] });
    expect(r.status).toBe(200);
    expect(r.body).toHaveLength(1);
    expect(r.body[0].metric).toBe('test.cpu');
    expect(r.body[0].aggregateTags.sort()).toEqual(['app', 'host']);
    expect(r.body[0].dps).toEqual({ [T0]: 111, [T0 + 10]: 222, [T0 + 20]: 333 });
  });

  it('zimsum takes a missing point as zero', async () => {
    const r = await query({
      start: T0,
      end: T0 + 30,
      queries: [{ metric: 'test.cpu', aggregator: 'zimsum' }],
    });
    expect(r.body[0].dps).toEqual({ [T0]: 111, [T0 + 10]: 22, [T0 + 20]: 333 });
  });

  it('groups by a tag with the legacy tags map and with filters', async () => {
    const legacy = await query({
      start: T0,
      end: T0 + 30,
      queries: [{ metric: 'test.cpu', aggregator: 'sum', tags: { app: '*' } }],
    });
    const filtered = await query({
      start: T0,
      end: T0 + 30,
      queries: [
        {
          metric: 'test.cpu',
          aggregator: 'sum',
          filters: [{ type: 'wildcard', tagk: 'app', filter: '*', groupBy: true }],
        },
      ],
    });
    for (const r of [legacy, filtered]) {
      const byApp = Object.fromEntries(r.body.map((s: any) => [s.tags.app, s.dps]));
      expect(byApp).toEqual({
        web: { [T0]: 11, [T0 + 10]: 22, [T0 + 20]: 33 },
        api: { [T0]: 100, [T0 + 20]: 300 },
      });
      const web = r.body.find((s: any) => s.tags.app === 'web');
      expect(web.aggregateTags).toEqual(['host']);
    }
  });

  it.each([
    [
      { type: 'literal_or', tagk: 'host', filter: 'a|b', groupBy: false },
      { [T0]: 11, [T0 + 10]: 22, [T0 + 20]: 33 },
    ],
    [
      { type: 'not_literal_or', tagk: 'host', filter: 'a|b', groupBy: false },
      { [T0]: 100, [T0 + 20]: 300 },
    ],
    [
      { type: 'iliteral_or', tagk: 'host', filter: 'A', groupBy: false },
      { [T0]: 1, [T0 + 10]: 2, [T0 + 20]: 3 },
    ],
    [
      { type: 'regexp', tagk: 'host', filter: '^[bc]$', groupBy: false },
      { [T0]: 110, [T0 + 10]: 220, [T0 + 20]: 330 },
    ],
    [
      { type: 'wildcard', tagk: 'app', filter: 'w*', groupBy: false },
      { [T0]: 11, [T0 + 10]: 22, [T0 + 20]: 33 },
    ],
  ])('filters with %j', async (filter, expected) => {
    const r = await query({
      start: T0,
      end: T0 + 30,
      queries: [{ metric: 'test.cpu', aggregator: 'sum', filters: [filter] }],
    });
    expect(r.body).toHaveLength(1);
    expect(r.body[0].dps).toEqual(expected);
  });

  it('downsamples into aligned buckets, with a fill policy for empty ones', async () => {
    const r = await query({
      start: T0,
      end: T0 + 59,
      queries: [
        {
          metric: 'test.cpu',
          aggregator: 'sum',
          downsample: '20s-avg',
          filters: [{ type: 'literal_or', tagk: 'host', filter: 'a', groupBy: false }],
        },
      ],
    });
    expect(r.body[0].dps).toEqual({ [T0]: 1.5, [T0 + 20]: 3 });
    const filled = await query({
      start: T0,
      end: T0 + 59,
      queries: [
        {
          metric: 'test.cpu',
          aggregator: 'sum',
          downsample: '20s-max-zero',
          filters: [{ type: 'literal_or', tagk: 'host', filter: 'a', groupBy: false }],
        },
      ],
    });
    expect(filled.body[0].dps).toEqual({ [T0]: 2, [T0 + 20]: 3, [T0 + 40]: 0 });
  });

  it('computes rates per second, and counter rates across a reset', async () => {
    const plain = await query({
      start: T0,
      end: T0 + 30,
      queries: [{ metric: 'test.requests', aggregator: 'sum', rate: true }],
    });
    expect(plain.body[0].dps).toEqual({ [T0 + 10]: 10, [T0 + 20]: -15, [T0 + 30]: 10 });
    const counter = await query({
      start: T0,
      end: T0 + 30,
      queries: [
        {
          metric: 'test.requests',
          aggregator: 'sum',
          rate: true,
          rateOptions: { counter: true, dropResets: true },
        },
      ],
    });
    expect(counter.body[0].dps).toEqual({ [T0 + 10]: 10, [T0 + 30]: 10 });
  });

  it('answers in milliseconds with msResolution and takes relative times', async () => {
    const r = await query({
      start: T0 * 1000,
      end: (T0 + 30) * 1000,
      msResolution: true,
      queries: [{ metric: 'test.requests', aggregator: 'max' }],
    });
    expect(Object.keys(r.body[0].dps)).toEqual([
      `${T0 * 1000}`,
      `${(T0 + 10) * 1000}`,
      `${(T0 + 20) * 1000}`,
      `${(T0 + 30) * 1000}`,
    ]);
    const recent = await query({
      start: '2h-ago',
      queries: [{ metric: 'test.requests', aggregator: 'max' }],
    });
    expect(recent.status).toBe(200);
    expect(Object.values(recent.body[0].dps)).toEqual([100, 200, 50, 150]);
    const none = await query({ start: '5m-ago', queries: [{ metric: 'test.requests', aggregator: 'max' }] });
    expect(none.body).toEqual([]);
  });

  it('rejects a bad query with a message that says what and where', async () => {
    const r = await query({ start: T0, queries: [{ metric: 'test.cpu', aggregator: 'avgg' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/avgg/);
    const noMetric = await query({ start: T0, queries: [{ aggregator: 'sum' }] });
    expect(noMetric.status).toBe(400);
    expect(noMetric.body.error.message).toMatch(/metric/);
  });

  it('answers GET /api/query with the m= syntax', async () => {
    const res = await fetch(`${api}api/query?start=${T0}&end=${T0 + 30}&m=sum:test.cpu%7Bapp=web%7D`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any[];
    expect(body).toHaveLength(1);
    expect(body[0].tags).toEqual({ app: 'web' });
    expect(body[0].dps).toEqual({ [T0]: 11, [T0 + 10]: 22, [T0 + 20]: 33 });
  });
});

describe("Grafana's OpenTSDB data source", () => {
  // The request shapes Grafana's data source sends (tsdbVersion 2.3+, tsdbResolution seconds).
  it('gets metric, tag key and tag value suggestions', async () => {
    const metrics = await (await fetch(`${api}api/suggest?type=metrics&q=test&max=1000`)).json();
    expect(metrics).toEqual(['test.cpu', 'test.requests']);
    const tagk = await (await fetch(`${api}api/suggest?type=tagk&q=&max=1000`)).json();
    expect(tagk).toEqual(expect.arrayContaining(['app', 'host']));
    const lookup = (await (
      await fetch(`${api}api/search/lookup?m=test.cpu%7Bapp=web%7D&limit=3000`)
    ).json()) as any;
    expect(lookup.type).toBe('LOOKUP');
    expect(lookup.results.map((r: any) => r.tags.host).sort()).toEqual(['a', 'b']);
  });

  it('lists aggregators and filter types', async () => {
    const aggs = (await (await fetch(`${api}api/aggregators`)).json()) as string[];
    expect(aggs).toEqual(expect.arrayContaining(['sum', 'avg', 'zimsum', 'p99', 'none']));
    const filters = (await (await fetch(`${api}api/config/filters`)).json()) as Record<string, unknown>;
    expect(Object.keys(filters)).toEqual(
      expect.arrayContaining(['literal_or', 'wildcard', 'regexp', 'not_literal_or']),
    );
    const version = (await (await fetch(`${api}api/version`)).json()) as any;
    expect(version.version).toMatch(/^2\./);
  });

  it('answers its time series query', async () => {
    const r = await query({
      start: T0 * 1000,
      end: (T0 + 30) * 1000,
      queries: [
        {
          metric: 'test.cpu',
          aggregator: 'sum',
          downsample: '10s-avg',
          filters: [{ type: 'wildcard', tagk: 'host', filter: '*', groupBy: true }],
        },
      ],
      msResolution: false,
      globalAnnotations: true,
    });
    expect(r.status).toBe(200);
    expect(r.body.map((s: any) => s.tags.host).sort()).toEqual(['a', 'b', 'c']);
    expect(r.body.find((s: any) => s.tags.host === 'c').dps).toEqual({ [T0]: 100, [T0 + 20]: 300 });
  });
});

describe('telnet put', () => {
  it('takes a fast sender’s lines over many chunks, and answers `exit` once every one is durable', async () => {
    const accepted = async () => {
      const text = await (await fetch(`${api}metrics`)).text();
      const m = /^obs_points_accepted_total\{protocol="telnet"\} (\d+)/m.exec(text);
      return Number(m?.[1] ?? 0);
    };
    const before = await accepted();
    const n = 30_000;
    const lines = Array.from({ length: n }, (_, i) => `put test.telnet.many ${T0 + i} ${i} host=fast\n`);
    const socket = connect(hub.telnetPort, '127.0.0.1');
    await once(socket, 'connect');
    const replies: string[] = [];
    socket.on('data', (d: Buffer) => replies.push(d.toString()));
    // About 1.3 MB in one go: many TCP chunks, hence many batches in flight on the bus at once.
    socket.write(`${lines.join('')}exit\n`);
    await once(socket, 'close');
    expect(replies.join('')).toBe('');
    // The hub closed the connection only after every batch was published and synced.
    expect((await accepted()) - before).toBe(n);
    await eventually(async () => {
      const r = await query({
        start: T0,
        end: T0 + n,
        queries: [{ metric: 'test.telnet.many', aggregator: 'sum' }],
      });
      const dps = r.body[0].dps as Record<string, number>;
      expect(Object.keys(dps)).toHaveLength(n);
      expect([dps[T0], dps[T0 + 12_345], dps[T0 + n - 1]]).toEqual([0, 12_345, n - 1]);
    });
  });

  it('keeps a line whole across three TCP chunks, a character split between two, and answers bad lines', async () => {
    const socket = connect(hub.telnetPort, '127.0.0.1');
    await once(socket, 'connect');
    socket.setNoDelay(true);
    const replies: string[] = [];
    socket.on('data', (d: Buffer) => replies.push(d.toString()));
    const line = Buffer.from(`put test.telnet ${T0} 7 ville=Genève\nput test.telnet ${T0} x ville=Genève\n`);
    // The first line in three pieces, the last cut inside the two bytes of its `è`.
    const cuts = [0, 9, line.indexOf(Buffer.from('è')) + 1, line.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      socket.write(line.subarray(cuts[i], cuts[i + 1]));
      await new Promise((r) => setTimeout(r, 50));
    }
    await eventually(async () => expect(replies.join('')).toBe('put: invalid value: x\n'));
    socket.end();
    await eventually(async () => {
      const r = await query({
        start: T0,
        end: T0 + 60,
        queries: [{ metric: 'test.telnet', aggregator: 'sum', tags: { ville: '*' } }],
      });
      expect(r.body.map((s: any) => [s.tags.ville, s.dps])).toEqual([['Genève', { [T0]: 7 }]]);
    });
  });
});
