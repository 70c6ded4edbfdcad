import { describe, expect, it } from 'vitest';
import { type MetricPoint, validateMetricPoint } from '../../core/model.ts';
import { cleanTagValue, createNginxAggregator } from './aggregator.ts';
import { compileLogFormat } from './log-format.ts';
import { RELATIVE_ACCURACY } from './time-sketch.ts';

const STD = { dc: 'dc1', cluster: 'paas', host: 'router-1' };
const TS = Date.UTC(2026, 10, 26, 21, 0, 0);

function line(o: {
  status?: number;
  bytes?: number;
  rt?: string;
  ut?: string;
  host?: string;
  addr?: string;
}) {
  return (
    `10.9.8.7 - - [26/Nov/2026:21:00:00 +0000] "GET /x HTTP/1.1" ${o.status ?? 200} ${o.bytes ?? 100} "-" "curl/8" ` +
    `${o.rt ?? '0.010'} ${o.ut ?? '0.009'} ${o.host ?? 'shop.example.com'} ${o.addr ?? '10.0.0.7:31000'}`
  );
}

const find = (points: MetricPoint[], metric: string, tags: Record<string, string>) =>
  points.filter((p) => p.metric === metric && Object.entries(tags).every(([k, v]) => p.tags[k] === v));

describe('createNginxAggregator', () => {
  it('emits the interval metrics per vhost, upstream and status class', () => {
    const agg = createNginxAggregator({ format: 'platform', tags: STD });
    agg.addLines([
      line({ rt: '0.010', ut: '0.009', bytes: 100 }),
      line({ rt: '0.020', ut: '0.010, 0.008', bytes: 300, addr: '10.0.0.8:31000, 10.0.0.7:31000' }),
      line({ rt: '0.100', ut: '0.090', bytes: 200 }),
      line({ status: 404, rt: '0.001', ut: '0.001', bytes: 50 }),
      line({ status: 503, rt: '0.000', ut: '-', addr: '-', bytes: 0 }),
      'garbage',
    ]);
    const points = agg.flush(TS, 10_000);
    for (const p of points) expect(validateMetricPoint(p).ok).toBe(true);
    expect(points.every((p) => p.ts === TS && p.tags['dc'] === 'dc1' && p.tags['host'] === 'router-1')).toBe(
      true,
    );

    const app = { vhost: 'shop.example.com', upstream: '10.0.0.7_31000' };
    expect(find(points, 'nginx.requests', { ...app, status_class: '2xx' })).toEqual([
      { metric: 'nginx.requests', tags: { ...STD, ...app, status_class: '2xx' }, ts: TS, value: 0.3 },
    ]);
    expect(find(points, 'nginx.requests', { ...app, status_class: '4xx' })[0]!.value).toBeCloseTo(0.1, 12);
    expect(find(points, 'nginx.bytes_sent', { ...app, status_class: '2xx' })[0]!.value).toBe(60);
    expect(find(points, 'nginx.status.2xx', app)).toEqual([
      { metric: 'nginx.status.2xx', tags: { ...STD, ...app }, ts: TS, value: 3 },
    ]);
    expect(find(points, 'nginx.status.4xx', app)[0]!.value).toBe(1);
    expect(find(points, 'nginx.status.5xx', app)).toEqual([]);
    expect(find(points, 'nginx.status.5xx', { vhost: 'shop.example.com', upstream: 'none' })[0]!.value).toBe(
      1,
    );

    const max = find(points, 'nginx.request_time.max', app)[0]!.value;
    expect(max).toBe(0.1);
    const p50 = find(points, 'nginx.request_time.p50', app)[0]!.value;
    expect(Math.abs(p50 - 0.01)).toBeLessThanOrEqual(0.01 * RELATIVE_ACCURACY);
    const up99 = find(points, 'nginx.upstream_time.p99', app)[0]!.value;
    // Upstream times 0.001, 0.009, 0.018 (a retry, summed), 0.090: rank 0.99 × 3 falls on 0.018.
    expect(Math.abs(up99 - 0.018)).toBeLessThanOrEqual(0.018 * RELATIVE_ACCURACY);
    expect(find(points, 'nginx.upstream_time.p99', { upstream: 'none' })).toEqual([]);

    expect(find(points, 'nginx.malformed', { reason: 'layout' })[0]!.value).toBe(1);
    expect(find(points, 'nginx.lines', {})[0]!.value).toBe(6);
    expect(agg.totals()).toEqual({ lines: 6, parsed: 5, failed: 1 });
  });

  it('starts each interval empty', () => {
    const agg = createNginxAggregator({ format: 'platform', tags: STD });
    agg.addLine(line({}));
    agg.flush(TS, 10_000);
    expect(agg.flush(TS + 10_000, 10_000)).toEqual([
      { metric: 'nginx.lines', tags: STD, ts: TS + 10_000, value: 0 },
    ]);
  });

  it('sums requests exactly across intervals', () => {
    const agg = createNginxAggregator({ format: 'platform', tags: STD });
    let total = 0;
    for (let i = 0; i < 7; i++) {
      const n = 1 + ((i * 37) % 11);
      for (let k = 0; k < n; k++) agg.addLine(line({ status: k % 3 ? 200 : 503 }));
      const points = agg.flush(TS + i * 10_000, 10_000);
      total += points
        .filter((p) => p.metric === 'nginx.requests')
        .reduce((sum, p) => sum + Math.round(p.value * 10), 0);
    }
    expect(total).toBe([0, 1, 2, 3, 4, 5, 6].reduce((s, i) => s + 1 + ((i * 37) % 11), 0));
  });

  it('keeps percentiles within the stated error against exact ones', () => {
    const agg = createNginxAggregator({ format: 'platform', tags: STD });
    const values: number[] = [];
    let a = 17;
    for (let i = 0; i < 20_000; i++) {
      a = (a * 48271) % 2147483647;
      const ms = 1 + (a % 1000) * ((a >> 10) % 5 === 0 ? 20 : 1);
      values.push(ms / 1000);
      agg.addLine(line({ rt: (ms / 1000).toFixed(3) }));
    }
    const points = agg.flush(TS, 10_000);
    const sorted = values.sort((x, y) => x - y);
    for (const [name, q] of [
      ['p50', 0.5],
      ['p90', 0.9],
      ['p99', 0.99],
    ] as const) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      const got = find(points, `nginx.request_time.${name}`, {})[0]!.value;
      expect(Math.abs(got - exact)).toBeLessThanOrEqual(exact * RELATIVE_ACCURACY + 1e-12);
    }
  });

  it('counts malformed lines by reason and keeps a few samples of each', () => {
    const agg = createNginxAggregator({ format: 'platform', tags: STD, maxSamples: 2, maxSampleChars: 20 });
    for (let i = 0; i < 5; i++) agg.addLine(`junk ${i}`);
    agg.addLine(line({ status: 999 }));
    agg.addMalformed('too_long', 'line longer than 1048576 bytes', 'x'.repeat(50));
    const { counts, samples } = agg.malformed();
    expect(counts).toEqual({ layout: 5, status: 1, too_long: 1 });
    expect(samples.map((s) => s.code)).toEqual(['layout', 'layout', 'status', 'too_long']);
    expect(samples[0]!.reason).toMatch(/^expected " - " after \$remote_addr at column 1$/);
    expect(samples[3]!.line).toHaveLength(20);
    const points = agg.flush(TS, 10_000);
    expect(find(points, 'nginx.malformed', { reason: 'layout' })[0]!.value).toBe(5);
    expect(find(points, 'nginx.malformed', { reason: 'too_long' })[0]!.value).toBe(1);
  });

  it('puts (vhost, upstream) pairs beyond maxGroups under _other', () => {
    const agg = createNginxAggregator({ format: 'platform', tags: STD, maxGroups: 3 });
    for (let i = 0; i < 10; i++) agg.addLine(line({ host: `h${i}.example`, addr: `10.0.0.${i}:80` }));
    const points = agg.flush(TS, 1_000);
    const counts = find(points, 'nginx.status.2xx', {}).map((p) => [p.tags['vhost'], p.value]);
    expect(counts).toEqual([
      ['h0.example', 1],
      ['h1.example', 1],
      ['h2.example', 1],
      ['_other', 7],
    ]);
  });

  it('merges raw values that clean to the same tags', () => {
    const agg = createNginxAggregator({ format: 'platform', tags: STD });
    agg.addLine(line({ addr: '10.0.0.7:31000' }));
    agg.addLine(line({ addr: '10.0.0.7_31000' }));
    const points = agg.flush(TS, 1_000);
    expect(find(points, 'nginx.status.2xx', {}).map((p) => p.value)).toEqual([2]);
  });

  it('scans a whole chunk of text the same as its lines one by one', () => {
    const lines = [
      line({}),
      'junk',
      '',
      line({ status: 503, addr: '-', ut: '-' }),
      line({ host: 'b.example' }),
    ];
    const byLine = createNginxAggregator({ format: 'platform', tags: STD });
    byLine.addLines(lines);
    const byText = createNginxAggregator({ format: 'platform', tags: STD });
    expect(byText.addText(lines.join('\n') + '\n')).toBe(5);
    expect(byText.flush(TS, 1_000)).toEqual(byLine.flush(TS, 1_000));
    expect(byText.malformed()).toEqual(byLine.malformed());
    expect(byText.malformed().samples.map((x) => x.line)).toEqual(['junk', '']);
    expect(byText.addText(line({}))).toBe(1); // a last line without its newline
    expect(byText.addText('')).toBe(0);
    expect(byText.totals()).toEqual({ lines: 6, parsed: 4, failed: 2 });
  });

  it('takes parsed lines from elsewhere too', () => {
    const parse = compileLogFormat('platform');
    const agg = createNginxAggregator({ format: parse, tags: STD });
    const parsed = parse(line({ status: 302, bytes: 10 }));
    if (!parsed.ok) throw new Error(parsed.reason);
    agg.add(parsed);
    const points = agg.flush(TS, 1_000);
    expect(find(points, 'nginx.status.3xx', {})[0]!.value).toBe(1);
    expect(find(points, 'nginx.bytes_sent', {})[0]!.value).toBe(10);
  });

  it.each([
    ['10.0.0.7:31000', '10.0.0.7_31000'],
    ['unix:/run/app.sock', 'unix_/run/app.sock'],
    ['café.example', 'café.example'],
    [null, 'none'],
    ['', 'none'],
    ['a b"c', 'a_b_c'],
  ])('cleans tag value %j to %j', (raw, clean) => {
    expect(cleanTagValue(raw)).toBe(clean);
  });
});
