import { describe, expect, it } from 'vitest';
import { compileTemplate, printf } from './template.ts';

const ctx = { labels: { app: '/push/pushd', host: 'h1', 'k8s.pod': 'p1' }, value: 0.93456 };

describe('templates', () => {
  const cases: [string, string][] = [
    ['{{ $labels.app }} at {{ $value }}', '/push/pushd at 0.93456'],
    ['{{ $value | printf "%.2f" }}', '0.93'],
    ['{{ printf "%.1f%%" $value }}', '0.9%'],
    ['{{ $value | humanizePercentage }}', '93.46%'],
    ['{{ .Labels.host }} {{ .Value | printf "%5.1f" }}', 'h1   0.9'],
    ['{{ index $labels "k8s.pod" }}', 'p1'],
    ['{{ $labels.missing }}', ''],
    ['{{ $labels.app | toUpper }}', '/PUSH/PUSHD'],
    ['a {{- " b " -}} c', 'a b c'],
    ['no template', 'no template'],
  ];
  it.each(cases)('%s', (text, want) => {
    expect(compileTemplate(text).render(ctx)).toBe(want);
  });

  it('writes a missing value as nodata', () => {
    expect(
      compileTemplate('{{ $value }} / {{ $value | printf "%.2f" }}').render({ labels: {}, value: null }),
    ).toBe('nodata / nodata');
  });

  it('humanizes numbers and durations', () => {
    const t = compileTemplate('{{ $value | humanize }}');
    expect(t.render({ labels: {}, value: 1_234_567 })).toBe('1.235M');
    expect(t.render({ labels: {}, value: 0.0012 })).toBe('1.2m');
    expect(compileTemplate('{{ $value | humanizeDuration }}').render({ labels: {}, value: 3725 })).toBe(
      '1h 2m 5s',
    );
  });

  it('knows whether $value is used', () => {
    expect(compileTemplate('{{ $labels.app }}').usesValue).toBe(false);
    expect(compileTemplate('{{ $value | printf "%d" }}').usesValue).toBe(true);
  });

  const errors: [string, RegExp][] = [
    ['{{ $labels.app ', /unclosed \{\{ in template at column 1/],
    ['x {{ $labelz.app }}', /unknown variable \$labelz\.app .* at column 6/],
    ['{{ $value | printff "%d" }}', /unknown function "printff" .* at column 13/],
    ['{{ }}', /empty \{\{ \}\}/],
    ['{{ "abc }}', /unclosed|unterminated/],
  ];
  it.each(errors)('rejects %s', (text, message) => {
    expect(() => compileTemplate(text)).toThrow(message);
  });

  it('printf covers the usual verbs', () => {
    expect(
      printf('%d|%5.2f|%-4s|%e|%g|%x|%q|%05d|%+d', [3.7, 1.234, 'ab', 12345.678, 0.5, 255, 'q', 42, 3]),
    ).toBe('3| 1.23|ab  |1.234568e+04|0.5|ff|"q"|00042|+3');
    expect(printf('%s %s', ['one'])).toBe('one %!s(MISSING)');
  });
});
