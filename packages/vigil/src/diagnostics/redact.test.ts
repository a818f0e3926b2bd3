import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../types.js';
import {
  createRedactor,
  isConfiguredHeaderSecret,
  isSecretHeader,
  isSecretParam,
  redactResult,
  redactSecretParams,
} from './redact.js';

describe('createRedactor', () => {
  it('replaces every occurrence of every secret', () => {
    const redact = createRedactor(['s3cret', 'tok-123']);
    expect(redact('a s3cret, tok-123 and s3cret again')).toBe(
      'a [REDACTED], [REDACTED] and [REDACTED] again',
    );
  });

  it('hides a secret that contains another one whole', () => {
    const redact = createRedactor(['abc', 'xxabcxx']);
    expect(redact('key=xxabcxx')).toBe('key=[REDACTED]');
  });

  it('matches the JSON-escaped form of a secret', () => {
    const secret = 'pa"ss\\word';
    const redact = createRedactor([secret]);
    expect(redact(JSON.stringify({ password: secret }))).toBe('{"password":"[REDACTED]"}');
  });

  it('treats regex characters literally', () => {
    expect(createRedactor(['a.b*'])('a.b* axbb')).toBe('[REDACTED] axbb');
  });

  it('ignores empty secrets and leaves text alone without secrets', () => {
    expect(createRedactor([''])('nothing to hide')).toBe('nothing to hide');
    expect(createRedactor([])('nothing to hide')).toBe('nothing to hide');
  });
});

describe('isSecretHeader', () => {
  it.each([
    'authorization',
    'Authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-api-key',
    'api-key',
    'X-Auth-Token',
  ])('%s carries a credential', (name) => expect(isSecretHeader(name)).toBe(true));
  it.each(['content-type', 'user-agent', 'x-request-id', 'authorization-hint'])('%s does not', (name) =>
    expect(isSecretHeader(name)).toBe(false),
  );
});

describe('isConfiguredHeaderSecret', () => {
  it.each([
    ['X-Auth-Token', 'abc'],
    ['X-Tenant', 'tenant-42'],
    ['X-Custom-Key', 'some-literal'],
  ])('%s: %s is redacted by default', (name, value) =>
    expect(isConfiguredHeaderSecret(name, value)).toBe(true),
  );
  it.each([
    ['Content-Type', 'application/json'],
    ['accept', 'application/json'],
    ['User-Agent', 'vigil/1.0'],
    ['X-Debug', '1'],
    ['X-Auth-Token', ''],
  ])('%s: %s is not', (name, value) => expect(isConfiguredHeaderSecret(name, value)).toBe(false));
});

describe('isSecretParam', () => {
  it.each([
    'token',
    'api_key',
    'apikey',
    'API-KEY',
    'password',
    'access_token',
    'refresh_token',
    'client_secret',
    'sig',
    'signature',
    'X-Amz-Signature',
    'X-Goog-Credential',
    'key',
    'my_service_token',
    'authToken',
    'accessToken',
    'apiKey',
    'clientSecret',
  ])('%s carries a credential', (name) => expect(isSecretParam(name)).toBe(true));
  it.each(['page', 'model', 'monkey', 'author', 'limit', 'broken', 'keyword'])('%s does not', (name) =>
    expect(isSecretParam(name)).toBe(false),
  );
});

describe('redactSecretParams', () => {
  it('replaces the values of credential parameters in URLs anywhere in a text', () => {
    expect(redactSecretParams('GET /v1?model=m&api_key=abc123 then {"next":"/n?page=2&sig=zz9#frag"}')).toBe(
      'GET /v1?model=m&api_key=[REDACTED] then {"next":"/n?page=2&sig=[REDACTED]#frag"}',
    );
  });

  it('leaves other texts, and values already redacted, as they are', () => {
    expect(redactSecretParams('a = b, no query here')).toBe('a = b, no query here');
    expect(redactSecretParams('/x?token=[REDACTED]&token=%5BREDACTED%5D')).toBe(
      '/x?token=[REDACTED]&token=%5BREDACTED%5D',
    );
  });
});

describe('redactResult', () => {
  const base: ProbeResult = {
    checkId: 't/liveness',
    target: 't',
    check: 'liveness',
    region: 'local',
    startedAt: 1,
    durationMs: 2,
    phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 1, transferMs: 1 },
    outcome: 'pass',
    failures: [],
  };
  const redact = createRedactor(['hunter2']);

  it('returns a passing result as is, without a copy', () => {
    expect(redactResult(base, redact)).toBe(base);
  });

  it('redacts messages, expected and actual values (nested too) and the error, leaving the input alone', () => {
    const failed: ProbeResult = {
      ...base,
      outcome: 'fail',
      failures: [
        {
          assertion: 'body',
          expected: 'hunter2',
          actual: { echoed: ['x hunter2 y', 3] },
          message: 'body said hunter2',
        },
      ],
      error: { code: 'UNEXPECTED_STATUS', message: 'status 401 for token hunter2' },
      notes: ['server says hunter2 is fine'],
    };
    const shown = redactResult(failed, redact);
    expect(shown.failures[0]).toEqual({
      assertion: 'body',
      expected: '[REDACTED]',
      actual: { echoed: ['x [REDACTED] y', 3] },
      message: 'body said [REDACTED]',
    });
    expect(shown.error).toEqual({ code: 'UNEXPECTED_STATUS', message: 'status 401 for token [REDACTED]' });
    expect(shown.notes).toEqual(['server says [REDACTED] is fine']);
    expect(JSON.stringify(failed)).toContain('hunter2');
  });
});
