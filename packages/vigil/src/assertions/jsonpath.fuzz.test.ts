/**
 * Fuzzing JSONPath compilation, extraction and assertions (issue #14): any path text compiles to a
 * query or a located error, never an exception; paths of RFC 9535's grammar (descendants and filters
 * included) evaluated against any document within the JSON reader's depth limit (`MAX_JSON_DEPTH`) —
 * through `applyExtract` and the `jsonpath` assertions of `evaluateExpect` — select or fail, never
 * throw or blow the stack.
 */
import { describe, expect, it } from 'vitest';
import { fc, fuzz, fuzzTimeoutMs } from '../fixtures/fuzz.js';
import { applyExtract } from '../protocols/extract.js';
import type { ProbeDocument } from '../types.js';
import { MAX_JSON_DEPTH } from '../wire/json.js';
import { evaluateExpect } from './evaluate.js';
import { compileJsonPath, selectValues } from './jsonpath.js';

const segment = fc.oneof(
  fc.constantFrom(
    '.a',
    '.x',
    '.outputs',
    '.data',
    '[*]',
    '..',
    '..*',
    '[0]',
    '[-1]',
    '[0:2]',
    '[::-1]',
    "['y']",
  ),
  fc.constantFrom(
    '[?@.name == "y"]',
    '[?@.score > 0.5]',
    '[?@ > 0.025e2]',
    '[?length(@) > 1]',
    '[?@.a]',
    '[?match(@.name, "y.*")]',
  ),
  fc.nat(5).map((n) => `[${n}]`),
);
/** `$` and up to 8 segments; a path ending in `..` gets a selector after it. */
const path = fc
  .array(segment, { maxLength: 8 })
  .map((segments) => `$${segments.join('')}`.replace(/\.\.$/, '..*').replace(/\.\.(\.\.)+/g, '..'));

/** A document nested up to `MAX_JSON_DEPTH` levels in total, of arrays or `{"x": …}` objects. */
const document = fc
  .tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(MAX_JSON_DEPTH - 5), fc.boolean())
  .map(([value, depth, objects]) => {
    let doc: unknown = value;
    for (let i = 0; i < depth; i++) doc = objects ? { x: doc, a: i } : [doc, i];
    return doc;
  });

describe('JSONPath (fuzz)', () => {
  it(
    'compiles any text to a query or an error with a message',
    () =>
      fuzz(
        'jsonpath: compile any text',
        fc.property(
          fc.oneof(
            fc.string(),
            path.map((p) => p.slice(0, p.length - 1)),
          ),
          (text) => {
            const compiled = compileJsonPath(text);
            if (!compiled.ok && compiled.message === '') throw new Error('an error without a message');
          },
        ),
      ),
    fuzzTimeoutMs,
  );

  it(
    'evaluates grammar paths on deep documents through extract and assertions without throwing',
    () =>
      fuzz(
        'jsonpath: extract and assert',
        fc.property(path, document, (text, body) => {
          const compiled = compileJsonPath(text);
          if (!compiled.ok) return;
          selectValues(compiled.query, body);
          const doc: ProbeDocument = { body, outputs: {} };
          applyExtract(doc, { picked: text });
          const verdict = evaluateExpect(
            {
              assertions: [
                { path: text, notEmpty: true, finite: true },
                { path: text, type: 'array', gt: 0.5 },
              ],
            } as never,
            { status: 200, durationMs: 1, document: doc, kind: 'integrity' },
          );
          if (typeof verdict !== 'object' || verdict === null) throw new Error('no verdict');
        }),
      ),
    fuzzTimeoutMs,
  );

  // Found by the fuzz target above (seed 20261202): `extract: {picked: "$"}` put the document into its
  // own outputs, and the finite-number default then recursed through the cycle until the stack blew.
  it('regression: an extract of "$" is the document as it was, and the finite check ends', () => {
    const doc: ProbeDocument = { body: { score: Number.NaN }, outputs: {} };
    applyExtract(doc, { picked: '$' });
    expect((doc.outputs.picked as ProbeDocument[])[0]?.outputs).toEqual({});
    const verdict = evaluateExpect({ assertions: [{ path: '$', notEmpty: true, finite: true }] } as never, {
      status: 200,
      durationMs: 1,
      document: doc,
      kind: 'integrity',
    });
    expect(verdict.failures.map((f) => f.message)).toContain('outputs.picked[0].body.score is NaN');
  });

  // Found by the fuzz target above: json-p3's default recursion limit (50) is below the reader's depth
  // limit, so `$..*` threw on a body of 48 levels the reader had accepted.
  it('regression: a descendant segment on a body as deep as the reader accepts selects, not throws', () => {
    let body: unknown = {};
    for (let i = 0; i < MAX_JSON_DEPTH - 1; i++) body = [body, i];
    const compiled = compileJsonPath('$..*');
    if (!compiled.ok) throw new Error(compiled.message);
    expect(selectValues(compiled.query, { body, outputs: {} }).length).toBeGreaterThan(MAX_JSON_DEPTH);
  });
});
