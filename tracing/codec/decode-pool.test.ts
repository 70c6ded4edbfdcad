import { afterAll, describe, expect, it } from 'vitest';
import { HubError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import { createDecodePool } from './decode-pool.ts';
import { hasSummaries } from './span-summaries.ts';
import { decodeSpans } from './spans-codec.ts';

const pool = createDecodePool({ logger: silentLogger, size: 1, perRecord: 2 });
afterAll(() => pool.close());

const zipkin = (id: string) => ({
  traceId: 'a'.repeat(32),
  id,
  localEndpoint: { serviceName: 'api' },
  timestamp: 1,
  duration: 2,
});

describe('decode pool', () => {
  it('decodes Zipkin bodies on a thread into bus records, with per-span errors', async () => {
    const body = Buffer.from(JSON.stringify([zipkin('01'), zipkin('zz'), zipkin('02'), zipkin('03')]));
    const r = await pool.decode('zipkin', body, true);
    expect(r).toMatchObject({ count: 3, indexes: [0, 2, 3], services: ['api', 'api', 'api'] });
    expect(r.errors).toEqual([{ index: 1, field: 'id', message: expect.stringContaining('hex') }]);
    expect(r.records).toHaveLength(2);
    expect(r.records.flatMap((rec) => decodeSpans(rec.value)).map((s) => s.spanId)).toEqual([
      '0000000000000001',
      '0000000000000002',
      '0000000000000003',
    ]);
  });

  it('writes version-2 records by default and version-1 JSON when told (a hub on Kafka)', async () => {
    const body = Buffer.from(JSON.stringify([zipkin('01')]));
    const json = createDecodePool({ logger: silentLogger, size: 1, encoding: 'json' });
    try {
      const v1 = (await json.decode('zipkin', body, false)).records[0]!.value;
      const v2 = (await pool.decode('zipkin', body, false)).records[0]!.value;
      expect(hasSummaries(v1)).toBe(false);
      expect(JSON.parse(Buffer.from(v1).toString('utf8'))).toHaveLength(1);
      expect(hasSummaries(v2)).toBe(true);
      expect(decodeSpans(v2)).toEqual(decodeSpans(v1));
    } finally {
      await json.close();
    }
  });

  it('decodes OTLP bodies', async () => {
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'web' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'b'.repeat(32),
                  spanId: 'c'.repeat(16),
                  name: 'x',
                  kind: 2,
                  startTimeUnixNano: '1000',
                  endTimeUnixNano: '3000',
                },
              ],
            },
          ],
        },
      ],
    };
    const r = await pool.decode('otlp', Buffer.from(JSON.stringify(body)), false);
    expect(r).toMatchObject({ count: 1, errors: [], services: undefined });
    expect(decodeSpans(r.records[0]!.value)[0]).toMatchObject({
      service: 'web',
      kind: 'server',
      start: 1,
      duration: 2,
    });
  });

  it('refuses a body that is not JSON with a BAD_REQUEST', async () => {
    await expect(pool.decode('zipkin', Buffer.from('[{'), false)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('moves a body that owns its memory to the thread instead of copying it', async () => {
    const spans = Array.from({ length: 200 }, (_, i) => zipkin((i + 1).toString(16).padStart(16, '0')));
    const text = JSON.stringify(spans);
    const owned = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
    owned.write(text);
    const r = await pool.decode('zipkin', owned, false);
    expect(owned.length).toBe(0);
    expect(r.count).toBe(200);
    expect(r.records.flatMap((rec) => decodeSpans(rec.value))).toHaveLength(200);
    // A view of a larger buffer stays with the caller.
    const view = Buffer.from(`  ${text}`).subarray(2);
    expect((await pool.decode('zipkin', view, false)).count).toBe(200);
    expect(view.length).toBe(text.length);
  });

  it('answers UNAVAILABLE once closed, so callers decode themselves', async () => {
    const other = createDecodePool({ logger: silentLogger, size: 1 });
    await other.close();
    const err = await other.decode('zipkin', Buffer.from('[]'), false).catch((e) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err.code).toBe('UNAVAILABLE');
  });
});
