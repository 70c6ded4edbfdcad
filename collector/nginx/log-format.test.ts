import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HubError, isHubError } from '../../core/errors.ts';
import { compileLogFormat, NAMED_FORMATS, type ParsedLine } from './log-format.ts';

const COMBINED_LINE =
  '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 ' +
  '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"';

/** A platform line; the last four fields are given. */
const platform = (status: string, tail: string, request = 'GET /api/v1/orders?id=7 HTTP/1.1') =>
  `10.1.2.3 - - [26/Nov/2026:20:54:55 +0000] "${request}" ${status} 512 "-" "curl/7.88.1" ${tail}`;

type Ok = { name: string; format: string; line: string; expected: Partial<ParsedLine> };

const parses: Ok[] = [
  {
    name: 'combined: no times, vhost or upstream',
    format: 'combined',
    line: COMBINED_LINE,
    expected: {
      status: 200,
      statusClass: '2xx',
      bytesSent: 2326,
      requestTime: null,
      upstreamTime: null,
      vhost: null,
      upstream: null,
    },
  },
  {
    name: 'platform: one upstream',
    format: 'platform',
    line: platform('200', '0.048 0.047 shop.example.com 10.0.0.7:31000'),
    expected: {
      status: 200,
      requestTime: 0.048,
      upstreamTime: 0.047,
      bytesSent: 512,
      vhost: 'shop.example.com',
      upstream: '10.0.0.7:31000',
    },
  },
  {
    name: 'platform: retries sum the times, the last server answered',
    format: 'platform',
    line: platform('502', '0.500 0.010, 0.020 shop.example.com 10.0.0.7:31000, 10.0.0.8:31001'),
    expected: { status: 502, statusClass: '5xx', upstreamTime: 0.03, upstream: '10.0.0.8:31001' },
  },
  {
    name: 'platform: internal redirect',
    format: 'platform',
    line: platform('200', '0.030 0.003 : 0.026 shop.example.com 10.0.0.7:31000 : 10.0.0.9:31002'),
    expected: { upstreamTime: 0.029, upstream: '10.0.0.9:31002' },
  },
  {
    name: 'platform: answered by nginx itself (`-` upstream)',
    format: 'platform',
    line: platform('503', '0.000 - shop.example.com -'),
    expected: { status: 503, requestTime: 0, upstreamTime: null, upstream: null, vhost: 'shop.example.com' },
  },
  {
    name: 'platform: a try without a response',
    format: 'platform',
    line: platform('504', '60.001 -, 60.000 shop.example.com 10.0.0.7:31000, 10.0.0.8:31001'),
    expected: { status: 504, requestTime: 60.001, upstreamTime: 60 },
  },
  {
    name: 'escape=default: a quote inside the request is \\x22',
    format: 'platform',
    line: platform('404', '0.001 0.001 shop.example.com 10.0.0.7:31000', 'GET /q?x=\\x22a\\x22 HTTP/1.1'),
    expected: { status: 404, statusClass: '4xx' },
  },
  {
    name: 'escape=default: escaped UTF-8 in the host is decoded',
    format: 'platform',
    line: platform('200', '0.001 0.001 caf\\xC3\\xA9.example 10.0.0.7:31000'),
    expected: { vhost: 'café.example' },
  },
  {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx variable syntax
    name: '${name} braces and literal text',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx variable syntax
    format: 'st=${status};rt=${request_time};h=$host',
    line: 'st=301;rt=0.002;h=a.example',
    expected: { status: 301, statusClass: '3xx', requestTime: 0.002, vhost: 'a.example' },
  },
  {
    name: '$bytes_sent wins over $body_bytes_sent; $server_name is a vhost',
    format: '$server_name $status $body_bytes_sent $bytes_sent',
    line: 'api.example 200 100 350',
    expected: { vhost: 'api.example', bytesSent: 350 },
  },
  {
    name: '$proxy_host names the upstream before $upstream_addr',
    format: '$status $upstream_addr "$proxy_host"',
    line: '200 10.0.0.7:31000 "orders-app"',
    expected: { upstream: 'orders-app' },
  },
  {
    name: 'a pasted directive, strings joined, escape=json honoured',
    format: `log_format j escape=json '{"status":"$status",' '"host":"$host","rt":"$request_time","ua":"$http_user_agent"}';`,
    line: '{"status":"200","host":"a.b","rt":"0.004","ua":"say \\"hi\\" \\\\"}',
    expected: { status: 200, vhost: 'a.b', requestTime: 0.004 },
  },
  {
    name: 'a directive with double quotes and \\" inside',
    format: 'log_format q "$status \\"$host\\"";',
    line: '200 "h.example"',
    expected: { status: 200, vhost: 'h.example' },
  },
  {
    name: 'a list followed by other text than a space',
    format: '$status|$upstream_response_time|$upstream_addr|$host',
    line: '200|0.010, 0.020 : 0.001|10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80|h.example',
    expected: { upstreamTime: 0.031, upstream: '10.0.0.3:80', vhost: 'h.example' },
  },
  {
    name: '1xx is a class',
    format: '$status $request_time',
    line: '101 -',
    expected: { status: 101, statusClass: '1xx', requestTime: null },
  },
];

type Bad = { name: string; format: string; line: string; code: string; reason: string | RegExp };

const rejects: Bad[] = [
  { name: 'empty line', format: 'platform', line: '', code: 'empty', reason: 'empty line' },
  {
    name: 'request not closed',
    format: 'combined',
    line: '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0',
    code: 'layout',
    reason: 'expected "\\" " after $request at column 45',
  },
  {
    name: 'status is text',
    format: 'combined',
    line: COMBINED_LINE.replace('" 200 ', '" abc '),
    code: 'status',
    reason: 'status "abc" is not a number',
  },
  {
    name: 'status out of range',
    format: 'combined',
    line: COMBINED_LINE.replace('" 200 ', '" 700 '),
    code: 'status',
    reason: 'status "700" is not an HTTP status (100-599)',
  },
  {
    name: 'status too long',
    format: 'combined',
    line: COMBINED_LINE.replace('" 200 ', '" 2000 '),
    code: 'status',
    reason: 'status "2000" is not a number',
  },
  {
    name: 'bytes not whole',
    format: 'combined',
    line: COMBINED_LINE.replace(' 2326 ', ' 23.5 '),
    code: 'number',
    reason: 'body_bytes_sent "23.5" is not a whole number',
  },
  {
    name: 'request time is text',
    format: 'platform',
    line: platform('200', 'fast 0.001 a.example 10.0.0.1:80'),
    code: 'number',
    reason: 'request_time "fast" is not a number',
  },
  {
    name: 'upstream time is text',
    format: 'platform',
    line: platform('200', '0.001 soon a.example 10.0.0.1:80'),
    code: 'upstream_time',
    reason: /^upstream_response_time "soon" is not a list of times/,
  },
  {
    name: 'truncated combined line',
    format: 'combined',
    line: COMBINED_LINE.slice(0, -1),
    code: 'layout',
    reason: 'line does not end with "\\""',
  },
  {
    name: 'wrong first literal',
    format: '[$time_local] $status',
    line: '10/Oct/2000 200',
    code: 'layout',
    reason: 'line does not start with "["',
  },
  {
    name: 'a combined line for the platform format',
    format: 'platform',
    line: COMBINED_LINE,
    code: 'layout',
    reason: /^expected "\\" " after \$http_user_agent at column \d+$/,
  },
];

describe('compileLogFormat: lines', () => {
  it.each(parses)('$name', ({ format, line, expected }) => {
    const r = compileLogFormat(format)(line);
    expect(r).toMatchObject({ ok: true, ...expected });
  });

  it.each(rejects)('rejects: $name', ({ format, line, code, reason }) => {
    const r = compileLogFormat(format)(line);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(code);
    if (typeof reason === 'string') expect(r.reason).toBe(reason);
    else expect(r.reason).toMatch(reason);
    expect(r.column).toBeGreaterThanOrEqual(1);
  });

  it('names the variables it uses', () => {
    expect(compileLogFormat('platform').provides).toEqual({
      status: 'status',
      requestTime: 'request_time',
      upstreamTime: 'upstream_response_time',
      bytesSent: 'body_bytes_sent',
      vhost: 'host',
      upstream: 'upstream_addr',
    });
    const custom = compileLogFormat('$status $http_x_app $server_name', { upstreamVariable: 'http_x_app' });
    expect(custom('200 orders x.example')).toMatchObject({ upstream: 'orders', vhost: 'x.example' });
  });

  it('documents the platform format as combined plus four fields', () => {
    expect(NAMED_FORMATS['platform']).toBe(
      `${NAMED_FORMATS['combined']} $request_time $upstream_response_time $host $upstream_addr`,
    );
  });
});

const badFormats: [string, string, RegExp][] = [
  ['empty', '  ', /the format is empty/],
  ['lone $', 'a $ b $status', /"\$" is not followed by a variable name at column 3/],
  ['unclosed brace', '${status', /"\$\{" without a closing "\}" at column 1/],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx variable syntax
  ['bad brace name', '${sta tus}', /is not a variable name/],
  [
    'adjacent variables',
    '$status$body_bytes_sent',
    /\$status and \$body_bytes_sent have no text between them/,
  ],
  ['no $status', '$remote_addr [$time_local]', /has no \$status/],
  ['no variables', 'just text', /has no variables/],
  ['directive without a string', 'log_format main', /needs a name and at least one format string/],
  ['unterminated directive string', "log_format main '$status", /unterminated '-quoted string/],
  ['unknown escape', "log_format main escape=xml '$status'", /escape must be default, json or none/],
  ['text after ;', "log_format main '$status'; x", /unexpected text after ";"/],
];

describe('compileLogFormat: format errors', () => {
  it.each(badFormats)('%s', (_, format, message) => {
    let error: unknown;
    try {
      compileLogFormat(format);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).code).toBe('INVALID_CONFIG');
    expect((error as HubError).message).toMatch(message);
  });
});

describe('compileLogFormat: properties', () => {
  const parsers = [
    compileLogFormat('combined'),
    compileLogFormat('platform'),
    compileLogFormat(`log_format j escape=json '{"s":"$status","h":"$host","u":"$upstream_response_time"}';`),
    compileLogFormat('$host [$status] $upstream_addr $upstream_response_time'),
  ];
  const good = platform('200', '0.030 0.010, 0.020 : - a.example 10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80');

  /** Valid lines with a few characters inserted, deleted or replaced, and arbitrary text. */
  const lines = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc
      .array(
        fc.tuple(
          fc.nat(good.length),
          fc.nat(3),
          fc.constantFrom('"', ' ', '-', ',', ':', '\\', 'x', '9', '.', '\n', '\u00e9', '[', ']'),
        ),
        { maxLength: 6 },
      )
      .map((edits) =>
        edits.reduce((line, [at, del, ins]) => line.slice(0, at) + ins + line.slice(at + del), good),
      ),
  );

  it('any line is parsed or rejected with a reason, never an exception', () => {
    fc.assert(
      fc.property(lines, fc.nat(parsers.length - 1), (line, k) => {
        const r = parsers[k]!(line);
        if (r.ok) {
          expect(r.status).toBeGreaterThanOrEqual(100);
          expect(r.status).toBeLessThan(600);
        } else {
          expect(r.reason.length).toBeGreaterThan(0);
          expect(r.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { seed: 42, numRuns: 3000 },
    );
  });

  it('any format string compiles or throws a HubError', () => {
    const piece = fc.constantFrom(
      '$status',
      '$host',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx variable syntax
      '${request_time}',
      '$upstream_addr',
      '$',
      '${',
      '}',
      '"',
      "'",
      ';',
      ' ',
      '[',
      'x',
      'log_format ',
      'escape=json ',
      '\\',
    );
    const formats = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
    );
    fc.assert(
      fc.property(formats, (format) => {
        try {
          const parse = compileLogFormat(format);
          expect(typeof parse).toBe('function');
          parse(good);
        } catch (e) {
          expect(isHubError(e)).toBe(true);
        }
      }),
      { seed: 42, numRuns: 3000 },
    );
  });
});
