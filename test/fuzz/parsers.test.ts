/**
 * Every parser that takes outside input, fuzzed: each input is accepted or rejected with a clear
 * HubError (or a per-item error), never another exception and never a hang. Fixed seed, bounded
 * runs, so CI is repeatable. A new parser of outside input adds a row here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { HubError } from '../../core/errors.ts';
import type { PointSeries } from '../../core/model.ts';
import { decodePutBody, parseTelnetLine } from '../../pipeline/codec/opentsdb-put.ts';
import { decodePoints } from '../../pipeline/codec/points-codec.ts';
import { createPutBodyDecoder } from '../../pipeline/codec/put-body-decoder.ts';
import { RefRecordReader, RefRecordWriter } from '../../pipeline/codec/series-refs.ts';
import { createTelnetLineDecoder } from '../../pipeline/codec/telnet-line-decoder.ts';
import { parseQueryBody, parseQueryParams } from '../../pipeline/query/parse.ts';
import { parseLookup } from '../../ui/api/opentsdb.ts';

const RUNS = { seed: 20261126, numRuns: 800 };
const NOW = Date.UTC(2026, 10, 26);

/** Strings shaped like the inputs, plus plain noise. */
const tsdbish = fc.oneof(
  fc.string(),
  fc.stringMatching(
    /^(sum|avg|p99|zimsum|none|max):([0-9]+[smhd]-(avg|sum|max)(-(zero|nan|null|none))?:)?(rate(\{counter(,[0-9]+)?\})?:)?[a-z.]{1,12}(\{[a-z]{1,4}=[a-z*|()]{0,12}\})?$/,
  ),
  fc.constantFrom(
    'sum:',
    'sum:m{',
    'sum:m{a=b',
    'sum:rate{counter,,}:m',
    'avg:0all-max:m',
    'x:y:z{}{}',
    'sum:m{a=regexp((}',
  ),
);

function acceptedOrHubError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).message.length).toBeGreaterThan(5);
  }
}

describe('fuzzing the parsers of outside input', () => {
  it('OpenTSDB telnet put lines', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          tsdbish.map((s) => `put ${s} ${NOW} 1 a=b`),
          fc.string().map((s) => `put m 1700000000 ${s}`),
        ),
        (line) => {
          const r = parseTelnetLine(line);
          if (r.kind === 'error') expect(r.reply).toMatch(/^put: .+\n$/);
        },
      ),
      RUNS,
    );
  });

  it('OpenTSDB /api/put JSON bodies', () => {
    const point = fc.record(
      {
        metric: fc.oneof(fc.string(), fc.constant('sys.cpu')),
        timestamp: fc.oneof(fc.integer(), fc.string(), fc.double()),
        value: fc.oneof(fc.double(), fc.string()),
        tags: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.array(point), point), (body) => {
        const r = decodePutBody(body);
        for (const e of r.errors) expect(e.error.length).toBeGreaterThan(3);
        for (const p of r.points) expect(Number.isFinite(p.value) && Number.isInteger(p.ts)).toBe(true);
      }),
      RUNS,
    );
  });

  it('OpenTSDB /api/put bodies and telnet lines, read from their bytes', () => {
    const decodeBody = createPutBodyDecoder(16, 100);
    const decodeLine = createTelnetLineDecoder(16, 100);
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.string().map((s) => Buffer.from(s)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
      fc
        .string()
        .map((s) => Buffer.from(`[{"metric":"m","timestamp":1700000000,"value":1,"tags":{"a":"${s}"}}]`)),
      fc.string().map((s) => Buffer.from(`put m 1700000000 1 a=${s}`)),
    );
    fc.assert(
      fc.property(bytes, (raw) => {
        const b = Buffer.from(raw);
        const body = decodeBody(b);
        for (const e of body?.errors ?? []) expect(e.error.length).toBeGreaterThan(3);
        const r = decodeLine(b, 0, b.length);
        if (r.kind === 'error') expect(r.reply).toMatch(/^put: .+\n$/);
      }),
      RUNS,
    );
  });

  it('OpenTSDB /api/query JSON bodies', () => {
    const sub = fc.record(
      {
        metric: fc.oneof(fc.string(), fc.constant('m')),
        aggregator: fc.oneof(fc.string(), fc.constantFrom('sum', 'avg', 'p99')),
        downsample: fc.oneof(fc.string(), fc.constantFrom('1m-avg', '0all-sum', '5s-max-zero')),
        rate: fc.jsonValue(),
        rateOptions: fc.jsonValue(),
        filters: fc.jsonValue(),
        tags: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const body = fc.record(
      {
        start: fc.oneof(fc.string(), fc.integer(), fc.constant('1h-ago')),
        end: fc.jsonValue(),
        queries: fc.oneof(fc.array(sub), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(body, fc.jsonValue()), (b) => acceptedOrHubError(() => parseQueryBody(b, NOW))),
      RUNS,
    );
  });

  it('OpenTSDB /api/query m= parameters', () => {
    fc.assert(
      fc.property(
        fc.array(tsdbish, { maxLength: 3 }),
        fc.oneof(fc.string(), fc.constant('1h-ago')),
        (ms, start) => {
          const params = new URLSearchParams([
            ['start', start],
            ...ms.map((m) => ['m', m] as [string, string]),
          ]);
          acceptedOrHubError(() => parseQueryParams(params, NOW));
        },
      ),
      RUNS,
    );
  });

  it('/api/search/lookup m= parameters', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), tsdbish), (m) => acceptedOrHubError(() => parseLookup(m))),
      RUNS,
    );
  });

  it('bus records of points', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array(),
          fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
        ),
        (bytes) => acceptedOrHubError(() => decodePoints(bytes)),
      ),
      RUNS,
    );
  });

  it('bus records of points with series refs (v3), whole or cut and changed', () => {
    const writer = new RefRecordWriter();
    const keys = ['m{a=1,b=2}', 'm{a=2}', 'n{}'];
    const series: PointSeries[] = [
      { metric: 'm', tags: { a: '1', b: '2' } },
      { metric: 'm', tags: { a: '2' } },
      { metric: 'n', tags: {} },
    ];
    const record = writer.encode({ series, ts: [1, 2, 3], values: [4, 5, 6] }, keys).bytes;
    const mutated = fc
      .tuple(
        fc.nat(record.length),
        fc.array(fc.tuple(fc.nat(record.length - 1), fc.integer({ min: 0, max: 255 }))),
      )
      .map(([cut, changes]) => {
        const bytes = Buffer.from(record.subarray(0, cut));
        for (const [at, byte] of changes) if (at < bytes.length && at > 0) bytes[at] = byte;
        return bytes;
      });
    fc.assert(
      fc.property(
        fc.oneof(
          mutated,
          fc.uint8Array().map((b) => Buffer.concat([Buffer.from([3]), b])),
        ),
        (bytes) =>
          acceptedOrHubError(() => {
            const reader = new RefRecordReader();
            reader.observe(bytes, 0);
            return reader.decode(bytes);
          }),
      ),
      RUNS,
    );
  });

  it('the config file and environment', () => {
    const yamlish = fc.oneof(
      fc.string(),
      fc
        .dictionary(
          fc.constantFrom('port', 'host', 'dataDir', 'store', 'bus', 'agent', 'limits', 'auth', 'tls', 'x'),
          fc.jsonValue(),
        )
        .map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(
        yamlish,
        fc.dictionary(fc.constantFrom('OBS_PORT', 'OBS_HOST', 'OBS_DATA_DIR', 'OBS_LOG_LEVEL'), fc.string()),
        (text, env) =>
          acceptedOrHubError(() =>
            loadConfig({ env: { ...env, OBS_CONFIG: 'obs.yaml' }, readFile: () => text }),
          ),
      ),
      { ...RUNS, numRuns: 400 },
    );
  });
});
