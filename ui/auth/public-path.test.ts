import { describe, expect, it } from 'vitest';
import { isPublicPath } from './http-auth.ts';

describe('isPublicPath', () => {
  it.each([
    ['/', true],
    ['/index.html', true],
    ['/app.js', true],
    ['/lib/chart.js', true],
    ['/vendor/d3/d3.min.js', true],
    ['/healthz', true],
    ['/api/login', true],
    ['/api/query', false],
    ['/v1/traces', false],
    ['/metrics', false],
    ['/socket.io/', false],
    ['/api/v2/spans', false],
    ['/anything-new', false],
    ['/lib/../api/query', false],
  ])('%s -> %s', (path, expected) => {
    expect(isPublicPath(path)).toBe(expected);
  });
});
