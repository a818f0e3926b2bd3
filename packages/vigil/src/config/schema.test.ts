import { describe, expect, it } from 'vitest';
import { authSchema, configSchema, expectSchema, operatorsSchema } from './schema.js';

describe('operatorsSchema', () => {
  it.each([
    [{ lt: '0.1' }],
    [{ ge: '-1e3' }],
    [{ le: '.5' }],
    [{ gt: 0.3 }],
    [{ range: ['0.1', 1] }],
    [{ range: [1, 1] }],
    [{ eq: null }],
    [{ length: 3 }],
    [{ length: { max: 3 } }],
    [{ matches: '^(?:a|b)+$' }],
  ])('accepts %j', (operators) => {
    expect(operatorsSchema.safeParse(operators).success).toBe(true);
  });

  it.each([
    [{}],
    [{ lt: '+1' }],
    [{ lt: 'NaN' }],
    [{ lt: Number.POSITIVE_INFINITY }],
    [{ range: ['0.2', '0.1'] }],
    [{ range: [1] }],
    [{ length: { min: 2, max: 1 } }],
    [{ length: {} }],
    [{ matches: '(' }],
    [{ matches: '(a)\\1' }],
    [{ matches: '^(?!x)' }],
    [{ type: 'float' }],
    [{ notEmpty: false, eq: 1 }],
  ])('rejects %j', (operators) => {
    expect(operatorsSchema.safeParse(operators).success).toBe(false);
  });
});

describe('expectSchema', () => {
  it('accepts a sound expect block', () => {
    const sound = {
      status: [200, '2xx'],
      latency: { degraded: '150ms', failed: '180ms' },
      outputs: {
        probability: { range: [0, 1], finite: true, notEmpty: true },
        label: { notIn: ['Unknown'] },
      },
      assertions: [{ path: '$.outputs[?@.score > 0.5]', length: { min: 1, max: 3 }, matches: '^a' }],
      schema: { type: 'object' },
      body: { matches: 'ok' },
    };
    expect(expectSchema.safeParse(sound).error?.issues ?? []).toEqual([]);
  });
});

describe('authSchema', () => {
  it('turns {bearer} and {basic} into AuthConfig', () => {
    expect(authSchema.parse({ bearer: 't' })).toEqual({ bearer: 't' });
    expect(authSchema.parse({ basic: { username: 'u', password: '' } })).toEqual({
      basic: { username: 'u', password: '' },
    });
  });
});

describe('configSchema', () => {
  it('fills the defaults block, region and target defaults', () => {
    const config = configSchema.parse({
      targets: [{ name: 'a', url: 'http://127.0.0.1:8081/', protocol: 'oip-v2', model: 'a' }],
    });
    expect(config).toEqual({
      region: 'local',
      defaults: {
        interval: '10s',
        timeout: '2s',
        failureThreshold: 3,
        successThreshold: 1,
        fastInterval: '1s',
        initialDelay: '0s',
        startupGrace: '0s',
      },
      targets: [
        {
          name: 'a',
          url: 'http://127.0.0.1:8081',
          protocol: 'oip-v2',
          model: 'a',
          maxBodyBytes: 1_048_576,
          maxRedirects: 5,
          checks: { liveness: {}, readiness: {} },
        },
      ],
    });
  });
});
