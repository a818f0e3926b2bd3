/** Fuzzing the strict JSON reader: any bytes get an answer, never an exception. */
import { describe, it } from 'vitest';
import { fc, fuzz, fuzzTimeoutMs } from '../fixtures/fuzz.js';
import { MAX_JSON_DEPTH, parseJson, parseJsonLenient } from './json.js';

/** Nesting depth of a JSON value: 0 for a scalar, 1 for `[]` or `{}`. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

/** JSON-ish text: real JSON with bare non-finite tokens, truncations and junk spliced in. */
const jsonish = fc
  .tuple(
    fc.json({ depthSize: 'medium' }),
    fc.nat(),
    fc.constantFrom('', 'NaN', '-Infinity', 'Infinity', ',', '}', ']', '"', '\\', '\u0000', '\ufeff', 'nul'),
  )
  .map(([text, at, junk]) => {
    const cut = text.length === 0 ? 0 : at % (text.length + 1);
    return text.slice(0, cut) + junk + text.slice(cut);
  });

describe('the strict JSON reader (fuzz)', () => {
  it(
    'answers every string and byte sequence with a value or a located error',
    () =>
      fuzz(
        'wire/json: any input',
        fc.property(
          fc.oneof(jsonish, fc.string({ unit: 'binary' }), fc.uint8Array().map(Buffer.from)),
          (body) => {
            const strict = parseJson(body);
            const lenient = parseJsonLenient(body);
            if (!strict.ok && strict.message === '') throw new Error('an error without a message');
            if (strict.ok && !lenient.ok) throw new Error('lenient rejected what strict accepted');
          },
        ),
      ),
    fuzzTimeoutMs,
  );

  it(
    'reads back every JSON value within the depth limit, and refuses deeper ones as TOO_DEEP',
    () =>
      fuzz(
        'wire/json: round trip',
        fc.property(fc.jsonValue(), fc.oneof(fc.nat(70), fc.nat(20_000)), (value, depth) => {
          const text = `${'['.repeat(depth)}${JSON.stringify(value)}${']'.repeat(depth)}`;
          const parsed = parseJson(text);
          if (depth + depthOf(value) > MAX_JSON_DEPTH) {
            if (parsed.ok || parsed.code !== 'TOO_DEEP') throw new Error(`accepted ${depth} levels`);
            return;
          }
          if (!parsed.ok) throw new Error(`rejected valid JSON: ${parsed.message}`);
          let inner: unknown = parsed.value;
          for (let i = 0; i < depth; i++) inner = (inner as unknown[])[0];
          if (JSON.stringify(inner) !== JSON.stringify(value)) throw new Error('value changed');
        }),
      ),
    fuzzTimeoutMs,
  );
});
