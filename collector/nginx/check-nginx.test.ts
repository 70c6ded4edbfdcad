import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNginxLog, formatCheckReport, MAX_REPORTED_FAILURES, runCheckNginx } from './check-nginx.ts';
import { readLineBatches, readLines } from './line-reader.ts';

const line = (status: number, rt: string) =>
  `10.0.0.1 - - [26/Nov/2026:21:00:00 +0000] "GET / HTTP/1.1" ${status} 10 "-" "curl/8" ${rt} 0.001 a.example 10.0.0.2:80`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obs-check-nginx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkNginxLog', () => {
  it('counts lines, classes, percentiles and failures with line numbers', async () => {
    const lines = [
      line(200, '0.010'),
      line(200, '0.020'),
      'nonsense',
      line(404, '0.001'),
      line(503, '1.500'),
    ];
    const report = await checkNginxLog(lines, 'platform');
    expect(report).toMatchObject({
      lines: 5,
      parsed: 4,
      failed: 1,
      statusClasses: { '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 1, '5xx': 1 },
      failures: [{ line: 3, reason: 'expected " - " after $remote_addr at column 1' }],
    });
    expect(report.requestTime!.max).toBe(1.5);
    expect(report.requestTime!.p50).toBeCloseTo(0.01, 3);
    expect(Object.keys(report)).toEqual([
      'lines',
      'parsed',
      'failed',
      'statusClasses',
      'requestTime',
      'failures',
    ]);
  });

  it('keeps the first 100 failures only', async () => {
    async function* many() {
      for (let i = 0; i < 250; i++) yield 'bad';
    }
    const report = await checkNginxLog(many(), 'combined');
    expect(report.failed).toBe(250);
    expect(report.failures).toHaveLength(MAX_REPORTED_FAILURES);
    expect(report.failures[99]!.line).toBe(100);
    expect(report.requestTime).toBeNull();
    expect(formatCheckReport(report)).toContain('failures (first 100 of 250):');
  });

  it('prints a readable report', async () => {
    const text = formatCheckReport(await checkNginxLog([line(200, '0.010'), 'x'], 'platform'));
    expect(text).toContain('lines   2');
    expect(text).toContain('parsed  1 (50.00 %)');
    expect(text).toContain('2xx 1');
    expect(text).toMatch(/request time \(s, ±1 %\)\s+p50 0\.010/);
    expect(text).toContain('  line 2: expected " - " after $remote_addr at column 1');
  });
});

describe('runCheckNginx', () => {
  it('exits 0 when every line parsed, printing JSON with --json', async () => {
    const file = join(dir, 'ok.log');
    writeFileSync(file, `${line(200, '0.010')}\n${line(301, '0.002')}\n`);
    let out = '';
    const code = await runCheckNginx({ format: 'platform', file, json: true }, (s) => {
      out += s;
    });
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report).toMatchObject({ lines: 2, parsed: 2, failed: 0, statusClasses: { '2xx': 1, '3xx': 1 } });
    expect(Object.keys(report.requestTime)).toEqual(['p50', 'p90', 'p99', 'max']);
  });

  it('exits 1 when some lines failed', async () => {
    const file = join(dir, 'some-bad.log');
    writeFileSync(file, `${line(200, '0.010')}\nbroken\n`);
    let out = '';
    expect(await runCheckNginx({ format: 'platform', file, json: false }, (s) => (out += s))).toBe(1);
    expect(out).toContain('line 2: ');
  });

  it('exits 2 with a message for a bad format or a missing file', async () => {
    let err = '';
    const capture = (s: string) => {
      err += s;
    };
    expect(
      await runCheckNginx({ format: '$status$status', file: join(dir, 'ok.log'), json: false }, capture),
    ).toBe(2);
    expect(err).toContain('obs check-nginx: log format: $status and $status have no text between them');
    err = '';
    expect(
      await runCheckNginx({ format: 'combined', file: join(dir, 'missing.log'), json: true }, capture),
    ).toBe(2);
    expect(err).toMatch(/^obs check-nginx: cannot read .*missing\.log: ENOENT/);
  });
});

describe('line reader', () => {
  it('splits in chunks, keeps empty lines, the unterminated last line and long lines whole', async () => {
    const file = join(dir, 'lines.log');
    const long = 'z'.repeat(500);
    writeFileSync(file, `a\n\nb\n${long}\nc\u00e9\nlast`);
    const got: string[] = [];
    for await (const l of readLines(file, { chunkBytes: 16 })) got.push(l);
    expect(got).toEqual(['a', '', 'b', long, 'c\u00e9', 'last']);
    let batches = 0;
    for await (const _ of readLineBatches(file, { chunkBytes: 16 })) batches++;
    expect(batches).toBeGreaterThan(2);
  });
});
