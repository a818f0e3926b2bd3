import { describe, expect, it } from 'vitest';
import { createRedactor, isSecretHeader } from './redact.js';

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
