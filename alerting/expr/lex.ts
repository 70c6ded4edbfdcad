/**
 * The tokens of rule expressions, read one at a time so that the first mistake from the left is
 * the one reported. A name directly followed by `:` starts an OpenTSDB selector (see grammar.md).
 */
import { parseDuration } from '../../core/duration.ts';
import { HubError } from '../../core/errors.ts';

export type TokenKind = 'number' | 'duration' | 'name' | 'selector' | 'op' | '(' | ')' | ',' | 'eof';

export type Token = {
  kind: TokenKind;
  /** The text as written (a name keeps its case). */
  text: string;
  /** 0-based offset in the expression. */
  at: number;
  /** The number, or the duration in ms. */
  value: number;
};

const OPERATORS = ['>=', '<=', '==', '!=', '>', '<', '+', '-', '*', '/'] as const;
const NUMBER_RE = /(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const WORD_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
const DURATION_RE = /^\d+(?:\.\d+)?(?:ms|s|m|h|d|w|n|y)$/;
/** Characters of an `m` expression outside braces: OpenTSDB names, `-` of downsamplers, `:`. */
const SELECTOR_CHAR_RE = /^[\p{L}\p{N}\-_./:]$/u;

function lineOf(text: string, at: number): { start: number; end: number; column: number; line: number } {
  const start = at > 0 ? text.lastIndexOf('\n', at - 1) + 1 : 0;
  const newline = text.indexOf('\n', at);
  const column = [...text.slice(start, at)].length + 1;
  const line = text.slice(0, start).split('\n').length;
  return { start, end: newline < 0 ? text.length : newline, column, line };
}

/** `column N`, or `line L, column N` when the expression has several lines; columns count characters from 1. */
export function locate(text: string, at: number): string {
  const { line, column } = lineOf(text, at);
  return text.includes('\n') ? `line ${line}, column ${column}` : `column ${column}`;
}

/**
 * An INVALID_QUERY error pointing at offset `at`: the message, `at column N`, then the line and a
 * caret under the mistake. `where` is `column N` (or `line L, column N`).
 */
export function exprError(text: string, at: number, message: string): HubError {
  const { start, end } = lineOf(text, at);
  const where = locate(text, at);
  const line = text.slice(start, end).replace(/\r$/, '');
  const caret = [...text.slice(start, at)].map((c) => (c === '\t' ? '\t' : ' ')).join('') + '^';
  return new HubError('INVALID_QUERY', `${message} at ${where}\n${line}\n${caret}`, { where });
}

/** Index just past the `)` matching the `(` at `open` (backslash escapes), or the end of the text. */
function skipParens(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return text.length;
}

/**
 * The end of the selector starting at `start`: name characters and `:` outside braces, brace
 * groups whole (parenthesised filter values inside them skipped whole). After a `}` only `{` or
 * `:` continue it, so `sum:a{x=y}/sum:b` splits at the `/`. An unclosed `{` runs to the end.
 */
export function scanSelector(text: string, start: number): number {
  let i = start;
  let depth = 0;
  let closed = false;
  while (i < text.length) {
    const c = text[i]!;
    if (depth > 0) {
      if (c === '(') i = skipParens(text, i);
      else {
        if (c === '{') depth++;
        else if (c === '}' && --depth === 0) closed = true;
        i++;
      }
      continue;
    }
    if (c === '{') {
      depth++;
      i++;
    } else if (c === ':') {
      closed = false;
      i++;
    } else {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      if (closed || !SELECTOR_CHAR_RE.test(ch)) break;
      i += ch.length;
    }
  }
  return i;
}

function describeChar(text: string, at: number): string {
  return JSON.stringify(String.fromCodePoint(text.codePointAt(at)!));
}

/** Reads tokens on demand; `next()` throws INVALID_QUERY at the first character it cannot read. */
export class Lexer {
  private pos = 0;

  constructor(private readonly text: string) {}

  next(): Token {
    const text = this.text;
    while (this.pos < text.length && /\s/.test(text[this.pos]!)) this.pos++;
    const at = this.pos;
    if (at >= text.length) return { kind: 'eof', text: '', at, value: 0 };
    const c = text[at]!;
    if (/[0-9.]/.test(c)) return this.number(at);
    if (/[A-Za-z_]/.test(c)) return this.word(at);
    if (c === '(' || c === ')' || c === ',') {
      this.pos++;
      return { kind: c, text: c, at, value: 0 };
    }
    const op = OPERATORS.find((o) => text.startsWith(o, at));
    if (op) {
      this.pos += op.length;
      return { kind: 'op', text: op, at, value: 0 };
    }
    if (c === '=') throw exprError(text, at, 'unexpected "=": compare with "=="');
    if (c === '!') throw exprError(text, at, 'unexpected "!": "!=" is the only operator with "!"');
    throw exprError(text, at, `unexpected ${describeChar(text, at)}`);
  }

  private number(at: number): Token {
    NUMBER_RE.lastIndex = at;
    const m = NUMBER_RE.exec(this.text);
    if (!m) throw exprError(this.text, at, 'unexpected "."');
    WORD_RE.lastIndex = at + m[0].length;
    const unit = WORD_RE.exec(this.text);
    const word = m[0] + (unit ? unit[0] : '');
    this.pos = at + word.length;
    if (word === m[0]) {
      const value = Number(word);
      if (!Number.isFinite(value)) throw exprError(this.text, at, `number ${word} is too large`);
      return { kind: 'number', text: word, at, value };
    }
    if (!DURATION_RE.test(word))
      throw exprError(
        this.text,
        at,
        `invalid duration "${word}": expected a number and a unit (ms s m h d w n y), like 5m`,
      );
    return { kind: 'duration', text: word, at, value: this.duration(word, at) };
  }

  private duration(word: string, at: number): number {
    try {
      const ms = parseDuration(word);
      if (ms <= Number.MAX_SAFE_INTEGER) return ms;
    } catch {
      // parseDuration refuses only amounts too large to represent: reported below.
    }
    throw exprError(this.text, at, `duration ${word} is too long`);
  }

  private word(at: number): Token {
    WORD_RE.lastIndex = at;
    const name = WORD_RE.exec(this.text)![0];
    if (this.text[at + name.length] === ':') {
      this.pos = scanSelector(this.text, at);
      return { kind: 'selector', text: this.text.slice(at, this.pos), at, value: 0 };
    }
    this.pos = at + name.length;
    return { kind: 'name', text: name, at, value: 0 };
  }
}
