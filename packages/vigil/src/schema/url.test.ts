import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseUrl, normaliseUrl, type UrlForm, urlProblem } from './url.js';

const GRPC: UrlForm = { schemes: ['grpc', 'grpcs'], example: 'grpc://127.0.0.1:8001', defaultScheme: 'grpc' };

function problems(schema: z.ZodType, input: unknown): string[] {
  const parsed = schema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
}

describe('baseUrl', () => {
  it('keeps http(s) URLs without the trailing slash', () => {
    expect(baseUrl('x').parse('https://h:1/api/')).toBe('https://h:1/api');
  });

  it.each([
    ['ftp://h', 'expected an http:// or https:// URL, got {{got}}'],
    ['not a url', 'expected an http(s) URL like "http://127.0.0.1:8081", got {{got}}'],
    ['http://u:p@h', 'must not contain credentials: put them in auth'],
    ['http://h/?q=1', 'a base URL has no query or fragment, got {{got}}'],
  ])('rejects %s with the http wording', (input, message) => {
    expect(problems(baseUrl('x'), input)).toEqual([message]);
  });

  it('words messages from the schemes a plugin declares', () => {
    expect(problems(baseUrl('x', GRPC), 'http://h:1')).toEqual([
      'expected a grpc:// or grpcs:// URL, got {{got}}',
    ]);
    const three: UrlForm = { schemes: ['ws', 'wss', 'http'], example: 'ws://h' };
    expect(problems(baseUrl('x', three), 'ftp://h')).toEqual([
      'expected a ws://, wss:// or http:// URL, got {{got}}',
    ]);
    expect(problems(baseUrl('x', three), 3)).toEqual([
      'expected a ws/wss/http URL like "ws://h", got {{got}}',
    ]);
  });

  it('reads host:port as the default scheme when the plugin has one', () => {
    expect(baseUrl('x', GRPC).parse('127.0.0.1:8001')).toBe('grpc://127.0.0.1:8001');
    expect(baseUrl('x', GRPC).parse('grpcs://triton:8001/')).toBe('grpcs://triton:8001');
    // What `vigil check --url` uses: the same rules outside a schema.
    expect(urlProblem('127.0.0.1:8001', GRPC)).toBeUndefined();
    expect(normaliseUrl('127.0.0.1:8001/', GRPC)).toBe('grpc://127.0.0.1:8001');
    expect(problems(baseUrl('x'), 'localhost:8001')).toEqual([
      'expected an http:// or https:// URL, got {{got}}',
    ]);
  });

  it('gives editors a scheme pattern unless a bare host:port is allowed', () => {
    const schemaOf = (form?: UrlForm) => z.toJSONSchema(baseUrl('x', form), { io: 'input' });
    expect(schemaOf()).toMatchObject({ pattern: '^https?://' });
    expect(schemaOf({ schemes: ['grpc+tls'], example: 'grpc+tls://h' })).toMatchObject({
      pattern: '^grpc\\+tls://',
    });
    expect(schemaOf(GRPC)).not.toHaveProperty('pattern');
  });
});
