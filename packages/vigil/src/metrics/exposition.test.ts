import { describe, expect, it } from 'vitest';
import { escapeLabelValue, familyHeader, formatLabels, formatValue } from './exposition.js';

describe('exposition format', () => {
  it.each([
    ['plain', 'plain'],
    ['say "hi"', 'say \\"hi\\"'],
    ['C:\\models', 'C:\\\\models'],
    ['two\nlines', 'two\\nlines'],
  ])('escapes the label value %j', (value, escaped) => {
    expect(escapeLabelValue(value)).toBe(escaped);
  });

  it.each([
    [0.17, '0.17'],
    [200, '200'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, '+Inf'],
    [Number.NEGATIVE_INFINITY, '-Inf'],
  ])('writes the value %s as %s', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });

  it('joins labels in insertion order', () => {
    expect(formatLabels({ target: 'a', model: '' })).toBe('target="a",model=""');
    expect(formatLabels({})).toBe('');
  });

  it('escapes backslashes and line feeds in HELP, not quotes', () => {
    expect(familyHeader('x_total', 'a "b"\\c\nd', 'counter')).toBe(
      '# HELP x_total a "b"\\\\c\\nd\n# TYPE x_total counter\n',
    );
  });
});
