import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import type { ProbeDocument } from '../types.js';
import { applyExtract } from './extract.js';

const doc = (): ProbeDocument => ({
  status: 200,
  headers: { 'x-model-version': '7' },
  body: { a: { b: [{ c: 1 }, { c: 2 }], 'odd key': 'x' }, scores: [[0.1], [0.9]] },
  outputs: { c: ['normalised'] },
});

describe('applyExtract (RFC 9535 JSONPath over the probe document)', () => {
  it.each([
    ['$.body.a.b[*].c', [1, 2]],
    ['$.body.a.b[-1].c', [2]],
    ["$.body.a['odd key']", ['x']],
    ['$.body.a.b[?@.c > 1].c', [2]],
    ['$..c', [1, 2, 'normalised']],
    ['$.body.scores', [0.1, 0.9]],
    ["$.headers['x-model-version']", ['7']],
    ['$.status', [200]],
    ['$.body.nope', []],
  ])('%s gives %j (arrays flattened; nothing selected is [])', (path, expected) => {
    const d = doc();
    applyExtract(d, { picked: path });
    expect(d.outputs.picked).toEqual(expected);
  });

  it('paths see the document as the adapter left it; an extracted name then replaces the normalised output', () => {
    const d = doc();
    applyExtract(d, { c: '$.body.a.b[*].c', copy: '$.outputs.c' });
    expect(d.outputs).toEqual({ c: [1, 2], copy: ['normalised'] });
  });

  it('an invalid path is a ConfigError (the loader rejects it first)', () => {
    expect(() => applyExtract(doc(), { bad: '$.[' })).toThrow(ConfigError);
  });
});
