/**
 * The hot loop of the nginx parser, generated per format. Pure.
 *
 * A format becomes straight-line code: for each variable, one `indexOf` of the literal that
 * follows it (a list scan for unquoted `$upstream_*`), then, for the few variables the metrics
 * use, an inline conversion. Literals are constants in the code and there is no loop over steps,
 * no switch, and no allocation on success: results go into a reused {@link ScanOut}. The code is
 * built from validated variable names and JSON-quoted literals only.
 */
import type { FailureCode, ParseFailure } from './log-format.ts';
import { sumUpstreamTime } from './upstream-time.ts';

export type Role = 'none' | 'status' | 'requestTime' | 'upstreamTime' | 'bytesSent' | 'vhost' | 'upstream';

/** Where a scan puts a line's fields. Numbers are -1 when absent (`-`, or not in the format). */
export type ScanOut = {
  status: number;
  requestTime: number;
  upstreamTime: number;
  bytesSent: number;
  /** Start and end (exclusive) of the vhost value in the line; -1 when not in the format. */
  vs: number;
  ve: number;
  /** Start and end of the upstream value (the whole list for `$upstream_addr`). */
  us: number;
  ue: number;
};

export const newScanOut = (): ScanOut => ({
  status: 0,
  requestTime: -1,
  upstreamTime: -1,
  bytesSent: -1,
  vs: -1,
  ve: -1,
  us: -1,
  ue: -1,
});

/**
 * Scans the line `text[start, end)` (no newline in it): fills `out` with positions in `text` and
 * returns null, or returns why the line does not match (columns from the line's start). Never
 * throws. Taking a range lets a whole read chunk be scanned without cutting a string per line.
 */
export type Scanner = (text: string, start: number, end: number, out: ScanOut) => ParseFailure | null;

export type ScanPlan = {
  /** Literal before the first variable. */
  head: string;
  names: readonly string[];
  /** after[i]: the literal that ends variable i; '' for the last variable when the format ends with it. */
  after: readonly string[];
  roles: readonly Role[];
  /** Unquoted list variables (`$upstream_addr 10.0.0.1:80, 10.0.0.2:80`). */
  list: readonly boolean[];
  /** escape=json: a literal preceded by an odd number of backslashes is inside a value. */
  json: boolean;
};

/** Non-negative decimal (`12`, `0.123`) in s[start, end); -1 for `-`; NaN if malformed. */
export function decimal(s: string, start: number, end: number): number {
  if (end - start === 1 && s.charCodeAt(start) === 45) return -1;
  let whole = 0;
  let i = start;
  let c = i < end ? s.charCodeAt(i) : -1;
  while (c >= 48 && c <= 57) {
    whole = whole * 10 + (c - 48);
    c = ++i < end ? s.charCodeAt(i) : -1;
  }
  if (i === start) return Number.NaN;
  if (i === end) return whole;
  if (c !== 46) return Number.NaN;
  let frac = 0;
  let scale = 1;
  c = ++i < end ? s.charCodeAt(i) : -1;
  while (c >= 48 && c <= 57) {
    frac = frac * 10 + (c - 48);
    scale *= 10;
    c = ++i < end ? s.charCodeAt(i) : -1;
  }
  if (i !== end || scale === 1) return Number.NaN;
  return (whole * scale + frac) / scale;
}

/** End of an unquoted list value starting at `i`: entries joined by `", "` or `" : "`. */
export function listEnd(s: string, i: number, len: number): number {
  for (;;) {
    const sp = s.indexOf(' ', i);
    if (sp < 0 || sp >= len) return len;
    if (sp > i && s.charCodeAt(sp - 1) === 44 /* , */) i = sp + 1;
    else if (s.charCodeAt(sp + 1) === 58 /* : */ && s.charCodeAt(sp + 2) === 32) i = sp + 3;
    else return sp;
  }
}

/** Finds `lit` from `from`, skipping occurrences escaped by a backslash (escape=json). */
export function indexOfUnescaped(s: string, lit: string, from: number): number {
  let at = s.indexOf(lit, from);
  while (at > 0) {
    let slashes = 0;
    for (let k = at - 1; k >= from && s.charCodeAt(k) === 92; k--) slashes++;
    if (slashes % 2 === 0) return at;
    at = s.indexOf(lit, at + 1);
  }
  return at;
}

function fail(code: FailureCode, reason: string, column: number): ParseFailure {
  return { ok: false, code, reason, column };
}

function shown(s: string, start: number, end: number): string {
  return JSON.stringify(end - start > 40 ? s.slice(start, start + 40) + '…' : s.slice(start, end));
}

/** The failures, built off the hot path; `column` counts from the line's start. */
function failures(plan: ScanPlan) {
  const tail = plan.after[plan.after.length - 1]!;
  const field = (i: number, line: string, pos: number, end: number) =>
    `${plan.names[i]} ${shown(line, pos, end)}`;
  return {
    Z: () => fail('empty', 'empty line', 1),
    H: () => fail('layout', `line does not start with ${JSON.stringify(plan.head)}`, 1),
    E: (column: number) => fail('layout', `line does not end with ${JSON.stringify(tail)}`, column),
    L: (i: number, column: number) =>
      fail(
        'layout',
        `expected ${JSON.stringify(plan.after[i])} after $${plan.names[i]} at column ${column}`,
        column,
      ),
    S: (line: string, pos: number, end: number, column: number) => {
      const digits = end - pos === 3 && /^[0-9]{3}$/.test(line.slice(pos, end));
      const what = digits ? 'is not an HTTP status (100-599)' : 'is not a number';
      return fail('status', `status ${shown(line, pos, end)} ${what}`, column);
    },
    N: (i: number, line: string, pos: number, end: number, whole: boolean, column: number) =>
      fail('number', `${field(i, line, pos, end)} is not a ${whole ? 'whole number' : 'number'}`, column),
    U: (i: number, line: string, pos: number, end: number, column: number) =>
      fail(
        'upstream_time',
        `${field(i, line, pos, end)} is not a list of times like "0.010, 0.020 : -"`,
        column,
      ),
  };
}

function roleCode(role: Role, i: number): string {
  const col = 'pos - s0 + 1';
  switch (role) {
    case 'status':
      return `if (end - pos !== 3) return F.S(line, pos, end, ${col});
  a = line.charCodeAt(pos) - 48; b = line.charCodeAt(pos + 1) - 48; c = line.charCodeAt(pos + 2) - 48;
  if (a < 1 || a > 5 || b < 0 || b > 9 || c < 0 || c > 9) return F.S(line, pos, end, ${col});
  out.status = a * 100 + b * 10 + c;`;
    case 'requestTime':
      return `v = decimal(line, pos, end); if (v !== v) return F.N(${i}, line, pos, end, false, ${col});
  out.requestTime = v;`;
    case 'bytesSent':
      return `v = decimal(line, pos, end); if (v !== v || v % 1 !== 0) return F.N(${i}, line, pos, end, true, ${col});
  out.bytesSent = v;`;
    case 'upstreamTime':
      return `v = sumUpstreamTime(line, pos, end); if (v !== v) return F.U(${i}, line, pos, end, ${col});
  out.upstreamTime = v;`;
    case 'vhost':
      return 'out.vs = pos; out.ve = end;';
    case 'upstream':
      return 'out.us = pos; out.ue = end;';
    default:
      return '';
  }
}

/** The code that finds the end of variable i and checks the literal after it fits in the line. */
function findCode(plan: ScanPlan, i: number): string {
  const q = JSON.stringify;
  const lit = plan.after[i]!;
  const miss = `return F.L(${i}, pos - s0 + 1);`;
  if (i === plan.names.length - 1)
    return lit === ''
      ? 'end = len;'
      : `end = len - ${lit.length}; if (end < pos || !line.startsWith(${q(lit)}, end)) return F.E(len - s0 + 1);`;
  if (plan.list[i])
    return `end = listEnd(line, pos, len); if (end > len - ${lit.length} || !line.startsWith(${q(lit)}, end)) ${miss}`;
  const find = plan.json ? `indexOfUnescaped(line, ${q(lit)}, pos)` : `line.indexOf(${q(lit)}, pos)`;
  return `end = ${find}; if (end < 0 || end > len - ${lit.length}) ${miss}`;
}

/** Generates the scanner of a plan. */
export function buildScanner(plan: ScanPlan): Scanner {
  const head = plan.head;
  const body: string[] = [
    'if (len === s0) return F.Z();',
    `let pos = s0 + ${head.length}, end = 0, v = 0, a = 0, b = 0, c = 0;`,
  ];
  if (head !== '')
    body.push(
      `if (len - s0 < ${head.length} || !line.startsWith(${JSON.stringify(head)}, s0)) return F.H();`,
    );
  for (let i = 0; i < plan.names.length; i++) {
    body.push(`// $${plan.names[i]}`, findCode(plan, i));
    const code = roleCode(plan.roles[i]!, i);
    if (code) body.push(code);
    if (i < plan.names.length - 1) body.push(`pos = end + ${plan.after[i]!.length};`);
  }
  body.push('return null;');
  const source = `"use strict";\nreturn function scan(line, s0, len, out) {\n  ${body.join('\n  ')}\n};`;
  const factory = new Function('F', 'decimal', 'sumUpstreamTime', 'listEnd', 'indexOfUnescaped', source);
  return factory(failures(plan), decimal, sumUpstreamTime, listEnd, indexOfUnescaped) as Scanner;
}
