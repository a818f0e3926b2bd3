import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { MAX_DURATION_MS, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['150ms', 150],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1_500],
    ['1.1s', 1_100],
    ['0.25m', 15_000],
    ['0s', 0],
    ['596h31m23s647ms', MAX_DURATION_MS],
    // Prometheus' day and week (model.ParseDuration): 1d = 24h, 1w = 7d.
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1w2d3h', 788_400_000],
    ['1.5d', 129_600_000],
    ['3w3d20h31m23s647ms', MAX_DURATION_MS],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['10', 'expected a duration like "10s" (add a unit: ms, s, m, h, d or w), got "10"'],
    ['fast', 'expected a duration like "10s", got "fast"'],
    ['', 'expected a duration like "10s", got ""'],
    ['-1s', 'expected a duration like "10s", got "-1s"'],
    ['10 s', 'expected a duration like "10s", got "10 s"'],
    ['10S', 'expected a duration like "10s", got "10S"'],
    ['1y', 'expected a duration like "10s", got "1y"'],
    ['1D', 'expected a duration like "10s", got "1D"'],
    [
      '4w',
      'expected a duration like "10s": the longest supported duration is 596h (24.8 days; 3w3d20h), got "4w"',
    ],
    ['0.5ms', 'expected a duration like "10s": durations are whole milliseconds, got "0.5ms"'],
    [
      '597h',
      'expected a duration like "10s": the longest supported duration is 596h (24.8 days; 3w3d20h), got "597h"',
    ],
  ])('rejects %j', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
  });

  it('throws a ConfigError with code VIGIL_ERR_CONFIG_DURATION', () => {
    const error = (() => {
      try {
        parseDuration('soon');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('VIGIL_ERR_CONFIG_DURATION');
  });
});
