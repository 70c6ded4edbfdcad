/**
 * Compiles an nginx `log_format` into a fast line parser. Pure.
 *
 * A format is literal text and variables (`$name`, `${name}`). The compiled parser (straight-line
 * code generated per format, line-scanner.ts) walks the line once, finding the literal that
 * follows each variable with `indexOf`; it converts only the variables the nginx metrics need
 * (status, times, bytes, vhost, upstream) and checks the rest of the line's shape without copying
 * it. No regular expression runs per line. A line is accepted when every literal is where the
 * format puts it, the line ends as the format ends, `$status` is 100–599 and the numbers are
 * numbers (`-` is allowed for an absent value); otherwise the failure says what and at which
 * column. Two variables with no text between them cannot be split and are refused at compile.
 *
 * The format can be given as:
 * - a name: `combined` (nginx's built-in) or `platform` (ours, see {@link NAMED_FORMATS});
 * - a pasted directive: `log_format main escape=json '$remote_addr ...' '...';` (quoted strings
 *   are joined as nginx joins them, `escape=` is honoured);
 * - the format text itself, taken literally.
 *
 * Values are unescaped as nginx escaped them: `escape=default` (nginx's default) writes `"`, `\`
 * and bytes outside 0x20–0x7e as `\xHH`, so a `"` never occurs inside a value and quoted fields
 * split exactly; `escape=json` writes JSON string escapes; `escape=none` writes values as they are
 * (a value containing the next literal then splits wrongly, as it would for any reader).
 *
 * Unquoted `$upstream_*` variables are lists (`0.010, 0.020 : -`) and may hold spaces; the parser
 * reads them as lists, so `... $upstream_response_time $host` splits right with retries too.
 */
import { HubError } from '../../core/errors.ts';
import { buildScanner, newScanOut, type Role, type Scanner, type ScanOut } from './line-scanner.ts';

/** nginx's `combined` format, built into nginx. */
const COMBINED =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

/**
 * The formats known by name. `platform` is the routing nodes' format: `combined` followed by
 * the request time, the upstream response time, the virtual host and the upstream address.
 * Its nginx directive:
 *
 * ```
 * log_format platform '$remote_addr - $remote_user [$time_local] "$request" $status '
 *                     '$body_bytes_sent "$http_referer" "$http_user_agent" '
 *                     '$request_time $upstream_response_time $host $upstream_addr';
 * ```
 */
export const NAMED_FORMATS: Readonly<Record<string, string>> = {
  combined: COMBINED,
  platform: COMBINED + ' $request_time $upstream_response_time $host $upstream_addr',
};

export type EscapeMode = 'default' | 'json' | 'none';

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

const STATUS_CLASSES: readonly StatusClass[] = ['1xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** The fields of one line the nginx metrics use. Absent fields (not in the format, or `-`) are null. */
export type ParsedLine = {
  ok: true;
  status: number;
  statusClass: StatusClass;
  /** `$request_time`, seconds. */
  requestTime: number | null;
  /** `$upstream_response_time` summed over tries and redirects, seconds (see upstream-time.ts). */
  upstreamTime: number | null;
  /** `$bytes_sent`, else `$body_bytes_sent`. */
  bytesSent: number | null;
  /** `$host`, else `$server_name`, else `$http_host` (or the variable named in the options). */
  vhost: string | null;
  /** `$proxy_host`, else the last server of `$upstream_addr` (the one that answered). */
  upstream: string | null;
};

/** Closed list of reasons a line is rejected; `reason` says what and where in words. */
export type FailureCode = 'empty' | 'layout' | 'status' | 'number' | 'upstream_time';

export type ParseFailure = {
  ok: false;
  code: FailureCode;
  reason: string;
  /** 1-based column where the problem is. */
  column: number;
};

export type ParseResult = ParsedLine | ParseFailure;

/** A compiled format: call it with a line (without its newline). Never throws. */
export type LineParser = ((line: string) => ParseResult) & {
  readonly format: string;
  readonly escape: EscapeMode;
  readonly variables: readonly string[];
  /** Which variable feeds each field; null when the format has none. */
  readonly provides: Readonly<Record<Exclude<keyof ParsedLine, 'ok' | 'statusClass'>, string | null>>;
  /** The allocation-free form the aggregator uses, on a range of a chunk: see {@link Scanner}. */
  readonly scan: Scanner;
  /**
   * After a successful scan: a string that is the same for lines of the same (vhost, upstream),
   * cut with one `slice` when they are next to each other in the format (as in `platform`).
   */
  readonly groupKey: (line: string, out: ScanOut) => string;
  /** After a successful scan: the vhost and upstream values, as in {@link ParsedLine}. */
  readonly vhostOf: (line: string, out: ScanOut) => string | null;
  readonly upstreamOf: (line: string, out: ScanOut) => string | null;
};

export type CompileOptions = {
  /** Overrides the directive's `escape=`; default `default`. */
  escape?: EscapeMode;
  /** Variable for the `vhost` tag, instead of `host` / `server_name` / `http_host`. */
  vhostVariable?: string;
  /** Variable for the `upstream` tag, instead of `proxy_host` / `upstream_addr`. */
  upstreamVariable?: string;
};

const ROLE_CANDIDATES: Record<Exclude<Role, 'none'>, readonly string[]> = {
  status: ['status'],
  requestTime: ['request_time'],
  upstreamTime: ['upstream_response_time'],
  bytesSent: ['bytes_sent', 'body_bytes_sent'],
  vhost: ['host', 'server_name', 'http_host'],
  upstream: ['proxy_host', 'upstream_addr'],
};

/** Variables whose value is a `", "` / `" : "` separated list: read as one when a space follows. */
const isListVariable = (name: string) => name.startsWith('upstream_');

function formatError(message: string, column?: number): HubError {
  return new HubError(
    'INVALID_CONFIG',
    column === undefined ? `log format: ${message}` : `log format: ${message} at column ${column}`,
    column === undefined ? {} : { where: `column ${column}` },
  );
}

/* ------------------------------------------------------------------ the format string */

type FormatSpec = { format: string; escape: EscapeMode };

const NAME_CHAR = /[A-Za-z0-9_]/;

/** Reads nginx config words: quoted strings with nginx's `\` escapes, or bare words. */
function configWords(text: string): { value: string; quoted: boolean }[] {
  const words: { value: string; quoted: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === ';') {
      if (text.slice(i + 1).trim() !== '')
        throw formatError(`unexpected text after ";": ${JSON.stringify(text.slice(i + 1).trim())}`, i + 2);
      return words;
    } else if (c === "'" || c === '"') {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        const n = text[j + 1];
        if (text[j] === '\\' && n !== undefined && `"'\\tnr`.includes(n)) {
          value += n === 't' ? '\t' : n === 'n' ? '\n' : n === 'r' ? '\r' : n;
          j++;
        } else value += text[j];
      }
      if (j >= text.length) throw formatError(`unterminated ${c}-quoted string starting`, i + 1);
      words.push({ value, quoted: true });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s;'"]/.test(text[j]!)) j++;
      words.push({ value: text.slice(i, j), quoted: false });
      i = j;
    }
  }
  return words;
}

function parseDirective(text: string): FormatSpec {
  const words = configWords(text);
  if (words.length < 3)
    throw formatError('a log_format directive needs a name and at least one format string');
  let escapeMode: EscapeMode = 'default';
  let k = 2;
  const param = words[2]!;
  if (!param.quoted && param.value.startsWith('escape=')) {
    const mode = param.value.slice('escape='.length);
    if (mode !== 'default' && mode !== 'json' && mode !== 'none')
      throw formatError(`escape must be default, json or none, not "${mode}"`);
    escapeMode = mode;
    k = 3;
  }
  const parts = words.slice(k);
  if (parts.length === 0) throw formatError('the log_format directive has no format string');
  return { format: parts.map((w) => w.value).join(''), escape: escapeMode };
}

function resolveSpec(input: string): FormatSpec {
  const trimmed = input.trim();
  const named = NAMED_FORMATS[trimmed];
  if (named !== undefined) return { format: named, escape: 'default' };
  if (/^log_format\s/.test(trimmed)) return parseDirective(trimmed);
  return { format: input, escape: 'default' };
}

type Token = { literals: string[]; names: string[] };

/** Splits a format into literals and variables: literals[i] precedes names[i]; one more literal ends it. */
function tokenize(format: string): Token {
  const literals: string[] = [];
  const names: string[] = [];
  let literal = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c !== '$') {
      literal += c;
      i++;
      continue;
    }
    let name: string;
    let next: number;
    if (format[i + 1] === '{') {
      const close = format.indexOf('}', i + 2);
      if (close < 0) throw formatError(`"\${" without a closing "}"`, i + 1);
      name = format.slice(i + 2, close);
      next = close + 1;
      if (!/^[A-Za-z0-9_]+$/.test(name))
        throw formatError(`"\${${name}}" is not a variable name (letters, digits and _)`, i + 1);
    } else {
      let j = i + 1;
      while (j < format.length && NAME_CHAR.test(format[j]!)) j++;
      if (j === i + 1) throw formatError('"$" is not followed by a variable name', i + 1);
      name = format.slice(i + 1, j);
      next = j;
    }
    if (names.length > 0 && literal === '')
      throw formatError(
        `$${names[names.length - 1]} and $${name} have no text between them, so a line cannot be split there`,
        i + 1,
      );
    literals.push(literal);
    names.push(name);
    literal = '';
    i = next;
  }
  literals.push(literal);
  return { literals, names };
}

function assignRoles(names: readonly string[], options: CompileOptions): Role[] {
  const roles: Role[] = names.map(() => 'none');
  const candidates: Record<Exclude<Role, 'none'>, readonly string[]> = {
    ...ROLE_CANDIDATES,
    ...(options.vhostVariable ? { vhost: [options.vhostVariable] } : {}),
    ...(options.upstreamVariable ? { upstream: [options.upstreamVariable] } : {}),
  };
  for (const [role, wanted] of Object.entries(candidates) as [Exclude<Role, 'none'>, readonly string[]][]) {
    for (const name of wanted) {
      const at = names.indexOf(name);
      if (at >= 0 && roles[at] === 'none') {
        roles[at] = role;
        break;
      }
    }
  }
  return roles;
}

/* ------------------------------------------------------------------ per line */

const HEX = /\\x([0-9A-Fa-f]{2})/g;

function unescapeValue(value: string, mode: EscapeMode): string {
  if (mode === 'none' || value.indexOf('\\') < 0) return value;
  if (mode === 'default') {
    // nginx escaped bytes: rebuild them, then read them as the UTF-8 they were.
    const bytes = value.replace(HEX, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  try {
    return JSON.parse('"' + value + '"') as string;
  } catch {
    return value;
  }
}

/** The value in line[start, end), unescaped; null for `-`, empty or absent. */
function valueAt(line: string, start: number, end: number, mode: EscapeMode): string | null {
  if (start < 0 || end <= start || (end - start === 1 && line.charCodeAt(start) === 45)) return null;
  return unescapeValue(line.slice(start, end), mode);
}

/** How the aggregator gets a line's vhost and upstream after a scan, without a ParsedLine. */
function accessors(names: readonly string[], roles: readonly Role[], mode: EscapeMode) {
  const vhostAt = roles.indexOf('vhost');
  const upstreamAt = roles.indexOf('upstream');
  // With vhost and upstream next to each other, the text spanning both identifies the pair.
  const adjacent = vhostAt >= 0 && upstreamAt >= 0 && Math.abs(vhostAt - upstreamAt) === 1;
  const upstreamIsList = upstreamAt >= 0 && isListVariable(names[upstreamAt]!);
  return {
    groupKey(line: string, out: ScanOut): string {
      if (adjacent) return line.slice(Math.min(out.vs, out.us), Math.max(out.ve, out.ue));
      const vhost = out.vs < 0 ? '' : line.slice(out.vs, out.ve);
      return out.us < 0 ? vhost : vhost + '\n' + line.slice(out.us, out.ue);
    },
    vhostOf: (line: string, out: ScanOut) => valueAt(line, out.vs, out.ve, mode),
    upstreamOf(line: string, out: ScanOut): string | null {
      if (out.us < 0) return null;
      // A list names every server tried; the last one answered.
      const sp = upstreamIsList ? line.lastIndexOf(' ', out.ue - 1) : -1;
      return valueAt(line, sp >= out.us ? sp + 1 : out.us, out.ue, mode);
    },
  };
}

/* ------------------------------------------------------------------ compile */

/**
 * Compiles a format (a name, a pasted `log_format` directive or the format text) into a parser.
 * Throws a HubError (INVALID_CONFIG) that names the column for a format it cannot use: a `$`
 * without a name, two variables with nothing between them, no `$status`.
 */
export function compileLogFormat(input: string, options: CompileOptions = {}): LineParser {
  if (typeof input !== 'string' || input.trim() === '') throw formatError('the format is empty');
  const spec = resolveSpec(input);
  const escapeMode = options.escape ?? spec.escape;
  const { literals, names } = tokenize(spec.format);
  if (names.length === 0) throw formatError('the format has no variables');
  const roles = assignRoles(names, options);
  if (!roles.includes('status'))
    throw formatError(
      `the format has no $status, which the nginx metrics need (variables: ${names.join(' ')})`,
    );
  const after = literals.slice(1);
  const scan = buildScanner({
    head: literals[0]!,
    names,
    after,
    roles,
    list: names.map((name, i) => isListVariable(name) && after[i]!.startsWith(' ')),
    json: escapeMode === 'json',
  });

  const { groupKey, vhostOf, upstreamOf } = accessors(names, roles, escapeMode);
  const scratch = newScanOut();
  const parse = (line: string): ParseResult => {
    const failure = scan(line, 0, line.length, scratch);
    if (failure) return failure;
    const o = scratch;
    return {
      ok: true,
      status: o.status,
      statusClass: STATUS_CLASSES[(o.status / 100) | 0]!,
      requestTime: o.requestTime < 0 ? null : o.requestTime,
      upstreamTime: o.upstreamTime < 0 ? null : o.upstreamTime,
      bytesSent: o.bytesSent < 0 ? null : o.bytesSent,
      vhost: vhostOf(line, o),
      upstream: upstreamOf(line, o),
    };
  };

  const variableFor = (r: Role): string | null => {
    const at = roles.indexOf(r);
    return at < 0 ? null : names[at]!;
  };
  return Object.assign(parse, {
    format: spec.format,
    escape: escapeMode,
    variables: names,
    provides: {
      status: variableFor('status'),
      requestTime: variableFor('requestTime'),
      upstreamTime: variableFor('upstreamTime'),
      bytesSent: variableFor('bytesSent'),
      vhost: variableFor('vhost'),
      upstream: variableFor('upstream'),
    },
    scan,
    groupKey,
    vhostOf,
    upstreamOf,
  });
}
