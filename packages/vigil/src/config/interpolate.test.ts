// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings under test are ${VAR} references
import { describe, expect, it } from 'vitest';
import { interpolateEnv } from './interpolate.js';

const ENV = { HOST: 'model.local', TOKEN: 't0k', EMPTY: '' };

describe('interpolateEnv', () => {
  it.each([
    ['http://${HOST}:8081', 'http://model.local:8081'],
    ['Bearer ${TOKEN}', 'Bearer t0k'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${HOST:-fallback}', 'model.local'],
    ['${MISSING:-}', ''],
    ['${MISSING:-a:b-c}', 'a:b-c'],
    ['literal $${HOST}', 'literal ${HOST}'],
    ['$$ and $HOST stay', '$$ and $HOST stay'],
    ['${HOST}${TOKEN}', 'model.localt0k'],
  ])('turns %j into %j', (text, value) => {
    const result = interpolateEnv({ value: text }, ENV);
    expect(result.problems).toEqual([]);
    expect(result.value).toEqual({ value });
  });

  it('reports a missing variable by name and path, without a value', () => {
    const result = interpolateEnv({ targets: [{ headers: { 'X-Key': '${API_KEY}' } }] }, ENV);
    expect(result.problems).toEqual([
      { path: ['targets', 0, 'headers', 'X-Key'], message: 'environment variable API_KEY is not set' },
    ]);
    expect(result.unresolved).toEqual([['targets', 0, 'headers', 'X-Key']]);
  });

  it('reports an empty variable as set (use :- for a default)', () => {
    expect(interpolateEnv({ value: '${EMPTY}' }, ENV)).toMatchObject({ value: { value: '' }, problems: [] });
  });

  it.each([
    [
      '${1BAD}',
      'invalid reference "${1BAD}": expected ${NAME} or ${NAME:-default} (write "$${" for a literal "${")',
    ],
    ['${}', 'invalid reference "${}": expected ${NAME} or ${NAME:-default} (write "$${" for a literal "${")'],
    ['${HOST', 'unclosed "${" (write "$${" for a literal "${")'],
  ])('rejects the malformed reference %j', (text, message) => {
    expect(interpolateEnv({ value: text }, ENV).problems).toEqual([{ path: ['value'], message }]);
  });

  it('collects the values it took from the environment as secrets', () => {
    const result = interpolateEnv({ a: '${TOKEN}', b: ['${HOST}', '${MISSING:-dflt}', '${EMPTY}'] }, ENV);
    expect(result.secrets.sort()).toEqual(['model.local', 't0k']);
  });

  it('interpolates values only: keys, numbers and booleans stay as they are', () => {
    const result = interpolateEnv({ '${HOST}': 1, flag: true, none: null }, ENV);
    expect(result.value).toEqual({ '${HOST}': 1, flag: true, none: null });
  });

  it('cannot inject structure: a value with YAML syntax stays one string', () => {
    const result = interpolateEnv({ name: '${EVIL}' }, { EVIL: 'x\nprotocol: http\n- [1, 2]' });
    expect(result.value).toEqual({ name: 'x\nprotocol: http\n- [1, 2]' });
  });

  it('keeps a __proto__ key as a plain key', () => {
    const tree = JSON.parse('{"__proto__": {"polluted": "${HOST}"}}');
    const result = interpolateEnv(tree, ENV) as { value: Record<string, unknown> };
    expect(Object.keys(result.value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
