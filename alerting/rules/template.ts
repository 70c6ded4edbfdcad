/**
 * Label and annotation templates, a small subset of Go's text/template as Prometheus uses it:
 * `{{ $labels.app }}`, `{{ $value }}`, `{{ $value | printf "%.2f" }}`, `{{ printf "%.1f" $value }}`,
 * `{{ index $labels "k8s.pod" }}`, `{{ $value | humanize }}`, `{{ $value | humanizePercentage }}`,
 * `{{ $value | humanizeDuration }}`, `toUpper`, `toLower`; `{{-` and `-}}` trim the white space
 * next to them. A template is compiled once, when its rule is loaded, so mistakes are load errors.
 */
import { HubError } from '../../core/errors.ts';
import type { Tags } from '../../core/model.ts';

export type TemplateContext = { labels: Tags; value: number | null };

export type Template = {
  text: string;
  /** Whether it reads `$value` (a label that did would change the alert's identity at every value). */
  usesValue: boolean;
  render(ctx: TemplateContext): string;
};

type Value = string | number | null | Tags;
type Operand =
  | { kind: 'literal'; value: string | number }
  | { kind: 'value' }
  | { kind: 'labels'; name?: string };
type Command = { fn?: string; args: Operand[] };
type Part = { text: string } | { pipeline: Command[] };

const FUNCTIONS: Record<string, (args: Value[]) => Value> = {
  printf: (args) => printf(asString(args[0] ?? ''), args.slice(1)),
  humanize: (args) => humanize(args[0] ?? null),
  humanizePercentage: (args) => {
    const v = args[0] ?? null;
    return typeof v === 'number' ? `${formatG(v * 100, 4)}%` : asString(v);
  },
  humanizeDuration: (args) => humanizeDuration(args[0] ?? null),
  toUpper: (args) => asString(args[0] ?? '').toUpperCase(),
  toLower: (args) => asString(args[0] ?? '').toLowerCase(),
  index: (args) => {
    const [map, key] = args;
    return map !== null && typeof map === 'object' ? (map[asString(key ?? '')] ?? '') : '';
  },
};

/** How a missing value (a series without data) is written. */
export const NO_VALUE = 'nodata';

function fail(at: number, message: string): HubError {
  return new HubError('INVALID_CONFIG', `${message} at column ${at + 1}`, { where: `column ${at + 1}` });
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function asString(v: Value): string {
  if (v === null) return NO_VALUE;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  return `map[${Object.keys(v)
    .sort()
    .map((k) => `${k}:${v[k]}`)
    .join(' ')}]`;
}

/** `%g` with `digits` significant digits, without trailing zeros. */
function formatG(v: number, digits: number): string {
  if (!Number.isFinite(v)) return formatNumber(v);
  return String(Number(v.toPrecision(digits)));
}

function humanize(v: Value): string {
  if (typeof v !== 'number') return asString(v);
  if (v === 0 || !Number.isFinite(v)) return formatNumber(v);
  const big = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  const small = ['', 'm', 'µ', 'n', 'p', 'f', 'a'];
  let x = v;
  let i = 0;
  if (Math.abs(x) >= 1) {
    while (Math.abs(x) >= 1000 && i < big.length - 1) {
      x /= 1000;
      i++;
    }
    return formatG(x, 4) + big[i];
  }
  while (Math.abs(x) < 1 && i < small.length - 1) {
    x *= 1000;
    i++;
  }
  return formatG(x, 4) + small[i];
}

function humanizeDuration(v: Value): string {
  if (typeof v !== 'number') return asString(v);
  if (!Number.isFinite(v)) return formatNumber(v);
  if (Math.abs(v) < 1) return `${formatG(v * 1000, 4)}ms`;
  const sign = v < 0 ? '-' : '';
  let s = Math.abs(v);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${parts.length ? Math.floor(s) : formatG(s, 4)}s`);
  return sign + parts.join(' ');
}

const VERB_RE = /%([-+ 0#]*)(\d+)?(?:\.(\d+))?([vsdfFeEgGxq%])/g;

/** Go's `fmt.Sprintf` for the verbs templates need: v s d f e g x q and %%. */
export function printf(format: string, args: Value[]): string {
  let i = 0;
  return format.replace(VERB_RE, (_m, flags: string, width?: string, precision?: string, verb?: string) => {
    if (verb === '%') return '%';
    const arg = args[i++];
    if (arg === undefined) return `%!${verb}(MISSING)`;
    let out: string;
    if (arg === null) out = NO_VALUE;
    else if (typeof arg !== 'number' || verb === 's' || verb === 'v' || verb === 'q') {
      out = asString(arg);
      if (verb === 'q') out = JSON.stringify(out);
    } else if (!Number.isFinite(arg)) out = formatNumber(arg);
    else if (verb === 'd') out = String(Math.trunc(arg));
    else if (verb === 'f' || verb === 'F') out = arg.toFixed(precision === undefined ? 6 : Number(precision));
    else if (verb === 'e' || verb === 'E') {
      out = arg
        .toExponential(precision === undefined ? 6 : Number(precision))
        .replace(/e([+-])(\d)$/, 'e$10$2');
      if (verb === 'E') out = out.toUpperCase();
    } else if (verb === 'x') out = Math.trunc(arg).toString(16);
    else out = precision === undefined ? formatNumber(arg) : formatG(arg, Math.max(1, Number(precision)));
    if (typeof arg === 'number' && flags.includes('+') && arg >= 0 && verb !== 's') out = `+${out}`;
    const w = width === undefined ? 0 : Number(width);
    if (out.length < w) {
      if (flags.includes('-')) out = out.padEnd(w);
      else if (flags.includes('0') && typeof arg === 'number') {
        const sign = /^[-+]/.test(out) ? out[0]! : '';
        out = sign + out.slice(sign.length).padStart(w - sign.length, '0');
      } else out = out.padStart(w);
    }
    return out;
  });
}

/** Splits an action's text into tokens, keeping each one's offset in the whole template. */
function tokenize(text: string, offset: number): { tok: string; at: number }[] {
  const out: { tok: string; at: number }[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||[^\s|"`]+)/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  for (;;) {
    const start = re.lastIndex;
    if (/^\s*$/.test(text.slice(start))) break;
    m = re.exec(text);
    if (!m) throw fail(offset + start, `unterminated string in template`);
    out.push({ tok: m[1]!, at: offset + m.index + m[0].length - m[1]!.length });
  }
  return out;
}

function operand(tok: string, at: number): Operand {
  if (tok.startsWith('"')) {
    try {
      return { kind: 'literal', value: JSON.parse(tok) as string };
    } catch {
      throw fail(at, `bad string ${tok} in template`);
    }
  }
  if (tok.startsWith('`')) return { kind: 'literal', value: tok.slice(1, -1) };
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(tok)) return { kind: 'literal', value: Number(tok) };
  if (tok === '$value' || tok === '.Value') return { kind: 'value' };
  if (tok === '$labels' || tok === '.Labels') return { kind: 'labels' };
  const label = /^(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(tok);
  if (label) return { kind: 'labels', name: label[1]! };
  if (tok.startsWith('$') || tok.startsWith('.'))
    throw fail(at, `unknown variable ${tok} in template (use $labels.NAME or $value)`);
  throw fail(at, `unexpected "${tok}" in template`);
}

function parseAction(inner: string, offset: number): Command[] {
  const tokens = tokenize(inner, offset);
  if (tokens.length === 0) throw fail(offset, 'empty {{ }} in template');
  const commands: Command[] = [];
  let current: { tok: string; at: number }[] = [];
  const flush = (at: number) => {
    if (current.length === 0) throw fail(at, 'empty command in template pipeline');
    const [head, ...rest] = current;
    if (/^[A-Za-z_]\w*$/.test(head!.tok)) {
      if (!Object.hasOwn(FUNCTIONS, head!.tok))
        throw fail(
          head!.at,
          `unknown function "${head!.tok}" in template (known: ${Object.keys(FUNCTIONS).join(', ')})`,
        );
      commands.push({ fn: head!.tok, args: rest.map((t) => operand(t.tok, t.at)) });
    } else {
      if (rest.length > 0) throw fail(rest[0]!.at, `unexpected "${rest[0]!.tok}" in template`);
      if (commands.length > 0) throw fail(head!.at, 'only a function may follow "|" in a template');
      commands.push({ args: [operand(head!.tok, head!.at)] });
    }
    current = [];
  };
  for (const t of tokens) {
    if (t.tok === '|') flush(t.at);
    else current.push(t);
  }
  flush(offset + inner.length);
  return commands;
}

function resolve(op: Operand, ctx: TemplateContext): Value {
  if (op.kind === 'literal') return op.value;
  if (op.kind === 'value') return ctx.value;
  return op.name === undefined ? ctx.labels : (ctx.labels[op.name] ?? '');
}

function run(commands: Command[], ctx: TemplateContext): string {
  let piped: Value | undefined;
  for (const c of commands) {
    const args = c.args.map((a) => resolve(a, ctx));
    if (piped !== undefined) args.push(piped);
    piped = c.fn ? FUNCTIONS[c.fn]!(args) : args[0]!;
  }
  return piped === undefined ? '' : asString(piped);
}

function usesValue(commands: Command[]): boolean {
  return commands.some((c) => c.args.some((a) => a.kind === 'value'));
}

/** Compiles a template; throws `HubError('INVALID_CONFIG')` with `where` = `column N`. */
export function compileTemplate(text: string): Template {
  const parts: Part[] = [];
  let i = 0;
  let trimNext = false;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    let literal = text.slice(i, open < 0 ? text.length : open);
    if (trimNext) literal = literal.trimStart();
    trimNext = false;
    if (open < 0) {
      if (literal) parts.push({ text: literal });
      break;
    }
    let start = open + 2;
    if (text[start] === '-' && /\s/.test(text[start + 1] ?? '')) {
      literal = literal.trimEnd();
      start++;
    }
    if (literal) parts.push({ text: literal });
    const close = findClose(text, start);
    if (close < 0) throw fail(open, 'unclosed {{ in template');
    let end = close;
    if (text[close - 1] === '-' && /\s/.test(text[close - 2] ?? '')) {
      end = close - 1;
      trimNext = true;
    }
    parts.push({ pipeline: parseAction(text.slice(start, end), start) });
    i = close + 2;
  }
  const compiled = parts;
  return {
    text,
    usesValue: compiled.some((p) => 'pipeline' in p && usesValue(p.pipeline)),
    render: (ctx) => compiled.map((p) => ('text' in p ? p.text : run(p.pipeline, ctx))).join(''),
  };
}

/** Index of the `}}` closing an action that starts at `from`, skipping quoted strings. */
function findClose(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '`') {
      i = text.indexOf('`', i + 1);
      if (i < 0) return -1;
    } else if (c === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}
