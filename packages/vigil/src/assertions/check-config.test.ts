import { describe, expect, it } from 'vitest';
import type { ExpectConfig } from '../types.js';
import { checkExpectConfig } from './index.js';

describe('checkExpectConfig', () => {
  it('accepts a sound expect block', () => {
    const config: ExpectConfig = {
      status: [200, '2xx', '200-399'],
      latency: { degradedMs: 150, failedMs: 180 },
      outputs: {
        probability: { range: [0, 1], finite: true, notEmpty: true },
        label: { notIn: ['Unknown'] },
      },
      assertions: [{ path: '$.outputs[?@.score > 0.5]', length: { min: 1, max: 3 }, matches: '^a' }],
      schema: { type: 'object' },
      body: { matches: 'ok' },
    };
    expect(checkExpectConfig(config)).toEqual([]);
  });

  it('reports every problem with its path', () => {
    const config = {
      status: [200, 'abc'],
      latency: { degradedMs: 200, failedMs: 180 },
      outputs: {
        probability: { range: [1, 0], lt: 'x', length: -1 },
        label: { matches: '(', notEmpty: false, type: 'text' },
      },
      assertions: [
        { path: '$.[', eq: 1 },
        { path: '$.a', length: { min: 3, max: 1 } },
      ],
      schema: { type: 'nope' },
      body: { matches: '[' },
    } as unknown as ExpectConfig;
    const problems = checkExpectConfig(config);
    expect(problems.slice(0, 10)).toEqual([
      'status[1]: expected a status code (100-599), a class like "2xx" or a range like "200-399", got "abc"',
      'latency: degradedMs 200 is not below failedMs 180',
      'outputs.probability.lt: expected a number or a decimal string, got "x"',
      'outputs.probability.range: min 1 is above max 0',
      'outputs.probability.length: expected a non-negative integer, got -1',
      'outputs.label.type: expected one of number, integer, string, boolean, array, object, null, got "text"',
      'outputs.label.matches: invalid regular expression /(/: missing closing ): `(`',
      'outputs.label: notEmpty: false asserts that nothing is selected, so the other operators can never hold',
      `assertions[0].path: invalid JSONPath "$.[": unexpected shorthand selector '[' ('$.[':2)`,
      'assertions[1].length: min 3 is above max 1',
    ]);
    expect(problems[10]).toMatch(/^schema: invalid JSON Schema: /);
    expect(problems[11]).toBe('body.matches: invalid regular expression /[/: missing closing ]: `[`');
    expect(problems).toHaveLength(12);
  });
});
