/**
 * The parser of alert rule expressions (grammar.md): recursive descent over the tokens of lex.ts.
 * Every mistake is a `HubError('INVALID_QUERY')` whose message ends with the column and a caret.
 */
import { formatDuration } from '../../core/duration.ts';
import type { HubError } from '../../core/errors.ts';
import {
  type ArithmeticOp,
  type BinaryOp,
  type ComparisonOp,
  type Expr,
  type FunctionName,
  isSeries,
  type SelectorExpr,
} from './ast.ts';
import { isFunctionName, type Param, SIGNATURES, unknownFunction } from './functions.ts';
import { exprError, Lexer, locate, type Token } from './lex.ts';
import { parseSelector } from './selector.ts';

/** Deepest nesting of parentheses, calls and operators an expression may have. */
export const MAX_DEPTH = 128;

/** A function argument: an expression, or a duration (which only arguments may be). */
type Arg =
  | { kind: 'expr'; expr: Expr; at: number }
  | { kind: 'duration'; ms: number; text: string; at: number };

const ADDITIVE = new Set(['+', '-']);
const MULTIPLICATIVE = new Set(['*', '/']);
const COMPARISONS = new Set(['>', '>=', '<', '<=', '==', '!=']);
const HOUR_MS = 3_600_000;

function describe(t: Token): string {
  return t.kind === 'eof' ? 'end of expression' : `"${t.text}"`;
}

/** The first node inside a window function's series argument that cannot be evaluated over a window. */
function notPointwise(expr: Expr): Expr | undefined {
  switch (expr.kind) {
    case 'negate':
      return notPointwise(expr.arg);
    case 'binary':
      if (expr.op === 'and' || expr.op === 'or') return expr;
      return notPointwise(expr.left) ?? notPointwise(expr.right);
    case 'number':
    case 'selector':
      return undefined;
    default:
      return expr;
  }
}

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;
  private depth = 0;

  constructor(private readonly text: string) {
    this.lexer = new Lexer(text);
    this.tok = this.lexer.next();
  }

  parse(): Expr {
    const expr = this.parseOr();
    if (this.tok.kind !== 'eof') throw this.error(this.tok.at, `unexpected ${describe(this.tok)}`);
    return expr;
  }

  private error(at: number, message: string): HubError {
    return exprError(this.text, at, message);
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private isWord(word: string): boolean {
    return this.tok.kind === 'name' && this.tok.text.toLowerCase() === word;
  }

  private enter(at: number): void {
    if (++this.depth > MAX_DEPTH)
      throw this.error(at, `expression nested more than ${MAX_DEPTH} levels deep`);
  }

  private binary(op: BinaryOp, at: number, left: Expr, right: Expr): Expr {
    this.enter(at);
    return { kind: 'binary', at, op, left, right };
  }

  private parseOr(): Expr {
    const depth = this.depth;
    let left = this.parseAnd();
    while (this.isWord('or')) {
      const op = this.advance();
      const right = this.parseAnd();
      left = this.logical('or', op, left, right);
    }
    this.depth = depth;
    return left;
  }

  private parseAnd(): Expr {
    const depth = this.depth;
    let left = this.parseComparison();
    while (this.isWord('and')) {
      const op = this.advance();
      const right = this.parseComparison();
      left = this.logical('and', op, left, right);
    }
    this.depth = depth;
    return left;
  }

  private logical(op: 'and' | 'or', token: Token, left: Expr, right: Expr): Expr {
    for (const side of [left, right])
      if (!isSeries(side)) throw this.error(side.at, `"${op}" needs series on both sides, not a number`);
    return this.binary(op, token.at, left, right);
  }

  private parseComparison(): Expr {
    const left = this.parseAdditive();
    if (this.tok.kind !== 'op' || !COMPARISONS.has(this.tok.text)) return left;
    const op = this.advance();
    const right = this.parseAdditive();
    if (!isSeries(left) && !isSeries(right))
      throw this.error(op.at, `"${op.text}" compares two numbers: a comparison needs series on one side`);
    if (this.tok.kind === 'op' && COMPARISONS.has(this.tok.text))
      throw this.error(
        this.tok.at,
        `comparisons do not chain: combine them with "and", like a > 1 and a < 5`,
      );
    return this.binary(op.text as ComparisonOp, op.at, left, right);
  }

  private parseAdditive(): Expr {
    const depth = this.depth;
    let left = this.parseMultiplicative();
    while (this.tok.kind === 'op' && ADDITIVE.has(this.tok.text)) {
      const op = this.advance();
      left = this.binary(op.text as ArithmeticOp, op.at, left, this.parseMultiplicative());
    }
    this.depth = depth;
    return left;
  }

  private parseMultiplicative(): Expr {
    const depth = this.depth;
    let left = this.parseUnary();
    while (this.tok.kind === 'op' && MULTIPLICATIVE.has(this.tok.text)) {
      const op = this.advance();
      left = this.binary(op.text as ArithmeticOp, op.at, left, this.parseUnary());
    }
    this.depth = depth;
    return left;
  }

  private parseUnary(): Expr {
    if (this.tok.kind !== 'op' || (this.tok.text !== '-' && this.tok.text !== '+'))
      return this.parsePrimary();
    const op = this.advance();
    const depth = this.depth;
    this.enter(op.at);
    const arg = this.parseUnary();
    this.depth = depth;
    if (op.text === '+') return arg;
    if (arg.kind === 'number') return { kind: 'number', at: op.at, value: -arg.value };
    return { kind: 'negate', at: op.at, arg };
  }

  private parsePrimary(): Expr {
    const t = this.tok;
    switch (t.kind) {
      case 'number':
        this.advance();
        return { kind: 'number', at: t.at, value: t.value };
      case 'selector':
        this.advance();
        return this.selector(t);
      case '(':
        return this.parenthesised();
      case 'name':
        return this.call();
      case 'duration':
        throw this.error(
          t.at,
          `unexpected duration ${t.text}: durations are window arguments, like avg_over(avg:m, ${t.text})`,
        );
      default:
        throw this.error(t.at, `unexpected ${describe(t)}`);
    }
  }

  private selector(t: Token): SelectorExpr {
    return {
      kind: 'selector',
      at: t.at,
      text: t.text,
      query: parseSelector(this.text, t.at, t.at + t.text.length),
    };
  }

  private parenthesised(): Expr {
    const open = this.advance();
    const depth = this.depth;
    this.enter(open.at);
    const expr = this.parseOr();
    if (this.tok.kind !== ')')
      throw this.error(
        this.tok.at,
        `"(" at ${locate(this.text, open.at)} is not closed: expected ")", found ${describe(this.tok)}`,
      );
    this.advance();
    this.depth = depth;
    return expr;
  }

  private call(): Expr {
    const name = this.advance();
    const lower = name.text.toLowerCase();
    if (this.tok.kind !== '(') {
      if (lower === 'and' || lower === 'or') throw this.error(name.at, `unexpected "${name.text}"`);
      if (isFunctionName(lower))
        throw this.error(this.tok.at, `expected "(" after ${name.text}, found ${describe(this.tok)}`);
      throw this.error(
        name.at,
        `"${name.text}" is neither a function call nor a selector; a selector starts with an aggregator, like avg:${name.text}`,
      );
    }
    if (!isFunctionName(lower)) throw this.error(name.at, unknownFunction(name.text));
    const fn = lower;
    const depth = this.depth;
    this.enter(this.advance().at);
    const args = this.args(fn);
    const close = this.advance();
    this.depth = depth;
    return this.build(fn, name.at, args, close.at);
  }

  /** The arguments up to the closing `)`, which is left as the current token. */
  private args(fn: FunctionName): Arg[] {
    const args: Arg[] = [];
    if (this.tok.kind === ')') return args;
    for (;;) {
      args.push(this.arg());
      const t = this.tok;
      if (t.kind === ')') return args;
      if (t.kind !== ',')
        throw this.error(t.at, `expected "," or ")" in the arguments of ${fn}, found ${describe(t)}`);
      this.advance();
    }
  }

  private arg(): Arg {
    const t = this.tok;
    if (t.kind !== 'duration') return { kind: 'expr', expr: this.parseOr(), at: t.at };
    this.advance();
    if (this.tok.kind !== ',' && this.tok.kind !== ')')
      throw this.error(
        this.tok.at,
        `expected "," or ")" after the duration ${t.text}, found ${describe(this.tok)}`,
      );
    return { kind: 'duration', ms: t.value, text: t.text, at: t.at };
  }

  private build(fn: FunctionName, at: number, args: Arg[], closeAt: number): Expr {
    const sig = SIGNATURES[fn];
    const max = sig.params.length;
    const min = max - sig.optional;
    if (args.length < min || args.length > max) {
      const count = min === max ? `${max}` : `${min} or ${max}`;
      const message = `${fn} takes ${count} arguments, ${fn}(${sig.text}); got ${args.length}`;
      throw this.error(args.length > max ? args[max]!.at : closeAt, message);
    }
    const v = sig.params.map((p, i) => (args[i] ? this.check(fn, p, args[i]) : undefined));
    switch (fn) {
      case 'percentile_over':
        return { kind: fn, at, arg: v[0] as Expr, quantile: v[1] as number, windowMs: v[2] as number };
      case 'predict_linear':
        return { kind: fn, at, arg: v[0] as Expr, windowMs: v[1] as number, aheadMs: v[2] as number };
      case 'absent': {
        const windowMs = v[1] as number;
        const given = v[2] as number | undefined;
        if (given !== undefined && given <= windowMs)
          throw this.error(
            args[2]!.at,
            `the horizon of absent must be longer than its window, ${formatDuration(windowMs)}`,
          );
        const horizonMs = given ?? Math.max(HOUR_MS, 2 * windowMs);
        return { kind: fn, at, selector: v[0] as SelectorExpr, windowMs, horizonMs };
      }
      default:
        return { kind: 'window', fn, at, arg: v[0] as Expr, windowMs: v[1] as number };
    }
  }

  private check(fn: FunctionName, param: Param, arg: Arg): Expr | number {
    switch (param) {
      case 'series':
        return this.seriesArg(fn, arg);
      case 'selector':
        if (arg.kind === 'expr' && arg.expr.kind === 'selector') return arg.expr;
        throw this.error(
          arg.at,
          `${fn} takes a selector as its first argument, like ${fn}(sum:up{app=/a/b}, 5m)`,
        );
      case 'quantile': {
        const q = arg.kind === 'expr' && arg.expr.kind === 'number' ? arg.expr.value : undefined;
        if (q !== undefined && q >= 0 && q <= 1) return q;
        const got = q === undefined ? '' : `; got ${q}`;
        throw this.error(arg.at, `the quantile of ${fn} must be a number from 0 to 1, like 0.99${got}`);
      }
      default:
        return this.durationArg(fn, param, arg);
    }
  }

  private seriesArg(fn: FunctionName, arg: Arg): Expr {
    if (arg.kind === 'duration')
      throw this.error(arg.at, `the first argument of ${fn} must be series, not a duration`);
    if (!isSeries(arg.expr))
      throw this.error(
        arg.at,
        `the first argument of ${fn} must be series (it has no selector), not a number`,
      );
    const bad = notPointwise(arg.expr);
    if (bad?.kind === 'binary')
      throw this.error(bad.at, `"${bad.op}" is not allowed inside ${fn}(); apply it outside the function`);
    if (bad)
      throw this.error(
        bad.at,
        `window functions do not nest: use the selector's own rate or downsampler, like max_over(sum:rate:m, 10m)`,
      );
    return arg.expr;
  }

  private durationArg(fn: FunctionName, param: Param, arg: Arg): number {
    const what = param === 'window' ? 'window' : param === 'ahead' ? 'look-ahead' : 'horizon';
    if (arg.kind !== 'duration') {
      const got = arg.expr.kind === 'number' ? `; got the number ${arg.expr.value}` : '';
      throw this.error(arg.at, `the ${what} of ${fn} must be a duration with a unit, like 5m${got}`);
    }
    if (param !== 'ahead' && arg.ms <= 0)
      throw this.error(arg.at, `the ${what} of ${fn} must be longer than 0`);
    return arg.ms;
  }
}

/**
 * Parses a rule expression into its syntax tree. Throws `HubError('INVALID_QUERY')` with
 * `where` = `column N` (or `line L, column N`) and a message ending in the line and a caret.
 */
export function parseExpr(text: string): Expr {
  return new Parser(text).parse();
}
