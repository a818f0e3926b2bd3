import { describe, expect, it } from 'vitest';
import type { Operators, PathAssertion, ProbeDocument } from '../types.js';
import { evaluateExpect, OPERATOR_NAMES } from './index.js';

/** Messages of the failures of `ops` applied, through the outputs shorthand, to output `x`. */
function onOutput(ops: Operators, values: unknown[]): string[] {
  const document: ProbeDocument = { body: {}, outputs: { x: values } };
  const { failures } = evaluateExpect(
    { outputs: { x: ops } },
    { document, status: 200, durationMs: 1, kind: 'integrity', defaults: false },
  );
  return failures.map((f) => f.message);
}

/** Messages of the failures of one JSONPath assertion over a document with this body. */
function onPath(assertion: PathAssertion, body: unknown, extra: Partial<ProbeDocument> = {}): string[] {
  const document: ProbeDocument = { status: 200, headers: {}, body, outputs: {}, ...extra };
  const { failures } = evaluateExpect(
    { assertions: [assertion] },
    { document, status: 200, durationMs: 1, kind: 'integrity', defaults: false },
  );
  return failures.map((f) => f.message);
}

describe('operators on an output (outputs.<name> shorthand)', () => {
  it.each<[string, Operators, unknown[]]>([
    ['eq string', { eq: 'cat' }, ['cat']],
    ['eq deep', { eq: [1, { a: 2, b: [true, null] }] }, [[1, { b: [true, null], a: 2 }]]],
    ['eq number written differently', { eq: 1 }, [1.0]],
    ['ne', { ne: 'Unknown' }, ['cat', 'dog']],
    ['lt', { lt: 1 }, [0.5, 0.999]],
    ['le at the bound', { le: 0.3 }, [0.3]],
    ['le decimal string equal to 1.10', { le: '1.1' }, [1.1]],
    ['gt', { gt: 0 }, [0.1]],
    ['ge decimal string', { ge: '0.5' }, [0.5]],
    ['range inclusive', { range: [0, 1] }, [0, 0.5, 1]],
    ['range with decimal strings', { range: ['0.1', '0.3'] }, [0.1, 0.3]],
    ['in', { in: ['cat', 'dog'] }, ['dog']],
    ['notIn', { notIn: ['Unknown'] }, ['cat']],
    ['notEmpty true', { notEmpty: true }, ['a', [1], { k: 1 }, 0]],
    ['notEmpty false on nothing', { notEmpty: false }, []],
    ['length counts values', { length: 2 }, [1, 2]],
    ['length bounds', { length: { min: 1, max: 3 } }, [1, 2, 3]],
    ['finite', { finite: true }, [0, -1.5, 1e300]],
    ['finite false checks nothing', { finite: false }, [Number.NaN]],
    ['matches a string', { matches: '^[a-z]+$' }, ['cat']],
    ['matches a number by its string form', { matches: '^0\\.\\d+$' }, [0.25]],
    ['type number', { type: 'number' }, [1.5, 2]],
    ['type integer', { type: 'integer' }, [2, -3]],
    ['type string', { type: 'string' }, ['']],
    ['type boolean', { type: 'boolean' }, [false]],
    ['type array', { type: 'array' }, [[1]]],
    ['type object', { type: 'object' }, [{}]],
    ['type null', { type: 'null' }, [null]],
  ])('passes: %s', (_name, ops, values) => {
    expect(onOutput(ops, values)).toEqual([]);
  });

  const failing: Array<[string, Operators, unknown[], string[]]> = [
    ['eq', { eq: 'cat' }, ['dog'], ['outputs.x[0] ("dog") ≠ "cat"']],
    ['eq deep', { eq: [1, { a: 2 }] }, [[1, { a: 3 }]], ['outputs.x[0] ([1, {"a": 3}]) ≠ [1, {"a": 2}]']],
    ['eq binary sum', { eq: 0.3 }, [0.1 + 0.2], ['outputs.x[0] (0.30000000000000004) ≠ 0.3']],
    ['eq keeps types apart', { eq: 1 }, ['1'], ['outputs.x[0] ("1") ≠ 1']],
    ['ne', { ne: 'Unknown' }, ['Unknown'], ['outputs.x[0] ("Unknown") = "Unknown"']],
    ['lt', { lt: 1 }, [1], ['outputs.x[0] (1) not < 1']],
    [
      'le: 0.1 + 0.2 is not ≤ 0.3',
      { le: 0.3 },
      [0.1 + 0.2],
      ['outputs.x[0] (0.30000000000000004) not ≤ 0.3'],
    ],
    [
      'le decimal string',
      { le: '1.1' },
      [1.1000000000000003],
      ['outputs.x[0] (1.1000000000000003) not ≤ 1.1'],
    ],
    ['gt', { gt: 0 }, [0], ['outputs.x[0] (0) not > 0']],
    ['gt on a string', { gt: 0 }, ['0.5'], ['outputs.x[0] ("0.5") is not a number']],
    ['ge', { ge: '0.5' }, [0.49], ['outputs.x[0] (0.49) not ≥ 0.5']],
    ['range', { range: [0, 1] }, [0.2, 1.73], ['outputs.x[1] (1.73) not in [0, 1]']],
    ['range below', { range: [0, 1] }, [-0.01], ['outputs.x[0] (-0.01) not in [0, 1]']],
    [
      'range decimal',
      { range: ['0.1', '0.3'] },
      [0.1 + 0.2],
      ['outputs.x[0] (0.30000000000000004) not in [0.1, 0.3]'],
    ],
    ['range on NaN', { range: [0, 1] }, [Number.NaN], ['outputs.x[0] (NaN) is not a finite number']],
    ['range on a string', { range: [0, 1] }, ['a'], ['outputs.x[0] ("a") is not a number']],
    ['in', { in: ['cat', 'dog'] }, ['bird'], ['outputs.x[0] ("bird") not in [cat, dog]']],
    ['notIn', { notIn: ['Unknown'] }, ['Unknown'], ['outputs.x[0] ("Unknown") in notIn [Unknown]']],
    [
      'notEmpty true',
      { notEmpty: true },
      ['', [], null, {}],
      [
        'outputs.x[0] ("") is empty',
        'outputs.x[1] ([]) is empty',
        'outputs.x[2] (null) is empty',
        'outputs.x[3] ({}) is empty',
      ],
    ],
    ['notEmpty true on no values', { notEmpty: true }, [], ['outputs.x is empty']],
    ['any operator on no values', { range: [0, 1] }, [], ['outputs.x is empty']],
    ['notEmpty false', { notEmpty: false }, [1, 2], ['outputs.x has 2 values, expected none']],
    ['length', { length: 2 }, [1, 2, 3], ['outputs.x has 3 values, expected 2']],
    ['length min', { length: { min: 4 } }, [1, 2, 3], ['outputs.x has 3 values, expected at least 4']],
    ['length max', { length: { max: 1 } }, [1, 2], ['outputs.x has 2 values, expected at most 1']],
    ['length range', { length: { min: 2, max: 3 } }, [1], ['outputs.x has 1 value, expected 2 to 3']],
    [
      'finite',
      { finite: true },
      [1, Number.NaN, Number.NEGATIVE_INFINITY, 'x'],
      [
        'outputs.x[1] (NaN) is not finite',
        'outputs.x[2] (-Infinity) is not finite',
        'outputs.x[3] ("x") is not a number',
      ],
    ],
    ['matches', { matches: '^[a-z]+$' }, ['Cat'], ['outputs.x[0] ("Cat") does not match /^[a-z]+$/']],
    ['type', { type: 'string' }, [1], ['outputs.x[0] (1) is number, expected string']],
    ['type integer', { type: 'integer' }, [2.5], ['outputs.x[0] (2.5) is not an integer']],
    [
      'type integer on a string',
      { type: 'integer' },
      ['2'],
      ['outputs.x[0] ("2") is string, expected integer'],
    ],
    ['type object is not array', { type: 'object' }, [[]], ['outputs.x[0] ([]) is array, expected object']],
    ['type null', { type: 'null' }, [0], ['outputs.x[0] (0) is number, expected null']],
    [
      'several operators, in operator order',
      { range: [0, 1], finite: true, type: 'number' },
      ['a'],
      [
        'outputs.x[0] ("a") is string, expected number',
        'outputs.x[0] ("a") is not a number',
        'outputs.x[0] ("a") is not a number',
      ],
    ],
  ];
  it.each(failing)('fails: %s', (_name, ops, values, messages) => {
    expect(onOutput(ops, values)).toEqual(messages);
  });

  it('has a failing case for every operator of the vocabulary (assertions/vocabulary.ts)', () => {
    const covered = new Set(failing.flatMap(([, ops]) => Object.keys(ops)));
    expect(OPERATOR_NAMES.filter((name) => !covered.has(name))).toEqual([]);
  });

  it('records selector, operator, expected and actual on each failure', () => {
    const { failures } = evaluateExpect(
      { outputs: { probability: { range: [0, 1] } } },
      { document: { body: {}, outputs: { probability: [0.2, 1.73] } }, durationMs: 1, kind: 'integrity' },
    );
    expect(failures).toEqual([
      {
        assertion: 'outputs',
        selector: 'outputs.probability[1]',
        operator: 'range',
        expected: [0, 1],
        actual: 1.73,
        message: 'outputs.probability[1] (1.73) not in [0, 1]',
      },
    ]);
  });

  it('reports a missing output with the outputs that are there', () => {
    const { failures } = evaluateExpect(
      { outputs: { probability: { range: [0, 1] } } },
      { document: { body: {}, outputs: { label: ['cat'], score: [0.5] } }, durationMs: 1, kind: 'integrity' },
    );
    expect(failures).toEqual([
      {
        assertion: 'outputs',
        selector: 'outputs.probability',
        expected: 'present',
        actual: ['label', 'score'],
        message: 'outputs.probability missing (outputs: label, score)',
      },
    ]);
  });

  it('caps failures at five per assertion and counts the rest', () => {
    const values = Array.from({ length: 10_000 }, () => 2);
    const messages = onOutput({ range: [0, 1] }, values);
    expect(messages).toEqual([
      'outputs.x[0] (2) not in [0, 1]',
      'outputs.x[1] (2) not in [0, 1]',
      'outputs.x[2] (2) not in [0, 1]',
      'outputs.x[3] (2) not in [0, 1]',
      'outputs.x[4] (2) not in [0, 1]',
      'outputs.x: 9995 more failures not shown (10000 in all)',
    ]);
  });

  it('clips long values in messages and in actual', () => {
    const long = 'y'.repeat(500);
    const { failures } = evaluateExpect(
      { outputs: { x: { eq: 'n' } } },
      { document: { body: {}, outputs: { x: [long] } }, durationMs: 1, kind: 'integrity' },
    );
    expect(failures[0]?.message).toBe(`outputs.x[0] ("${'y'.repeat(58)}…) ≠ "n"`);
    expect(failures[0]?.actual).toBe(`${'y'.repeat(199)}…`);
  });

  it('reports an invalid operand or regular expression as a failure, not an exception', () => {
    expect(onOutput({ lt: 'abc' }, [1])).toEqual([
      'outputs.x: lt needs a number or a decimal string, got "abc"',
    ]);
    expect(onOutput({ matches: '(' }, ['a'])).toEqual([
      'outputs.x: invalid regular expression /(/: missing closing ): `(`',
    ]);
  });

  it('compares against a number bound as against the same bound written as its decimal string', () => {
    // A number bound is compared as a double, a string bound with big.js: both must agree on the
    // neighbours of the bound, the binary sums that miss it, -0, and numbers far apart in scale.
    const bounds = [0, 0.3, 1, 1.1, -2.5, 1e21, 5e-324, 123456789.12345679];
    const near = (b: number): number[] => [
      b,
      -b,
      b + Number.EPSILON * Math.max(1, Math.abs(b)),
      b - Number.EPSILON * Math.max(1, Math.abs(b)),
      b * 2,
      b / 3,
      0.1 + 0.2,
      -0,
      Number.MIN_VALUE,
      Number.MAX_VALUE,
    ];
    for (const b of bounds) {
      for (const name of ['lt', 'le', 'gt', 'ge'] as const) {
        const values = near(b);
        expect(onOutput({ [name]: b }, values), `${name} ${b}`).toEqual(
          onOutput({ [name]: String(b) }, values),
        );
      }
      for (const hi of [b, b + 1, 1e300]) {
        if (hi < b) continue;
        const values = near(b);
        expect(onOutput({ range: [b, hi] }, values), `range [${b}, ${hi}]`).toEqual(
          onOutput({ range: [String(b), String(hi)] }, values),
        );
      }
    }
  });
});

describe('JSONPath assertions', () => {
  const body = {
    model_name: 'x',
    'model-version': '3',
    outputs: [
      { name: 'probability', datatype: 'FP32', data: [0.2, 1.5, 0.7] },
      { name: 'label', datatype: 'BYTES', data: ['cat'] },
    ],
    items: [1, 2],
  };

  it.each<[string, PathAssertion, string[]]>([
    [
      'member',
      { path: '$.body.model_name', eq: 'credit-scorer' },
      ['$.body.model_name ("x") ≠ "credit-scorer"'],
    ],
    ['quoted member', { path: "$.body['model-version']", eq: '4' }, [`$.body['model-version'] ("3") ≠ "4"`]],
    [
      'filter selects by name',
      { path: '$.body.outputs[?@.name == "probability"].data[*]', range: [0, 1] },
      ['$.body.outputs[0].data[1] (1.5) not in [0, 1]'],
    ],
    [
      'filter with a comparison',
      { path: '$.body.outputs[*].data[?@ > 0.5]', lt: 1 },
      ['$.body.outputs[0].data[1] (1.5) not < 1'],
    ],
    [
      'descendant segment',
      { path: '$..datatype', in: ['FP32', 'FP16'] },
      ['$.body.outputs[1].datatype ("BYTES") not in [FP32, FP16]'],
    ],
    ['slice', { path: '$.body.outputs[0].data[1:]', le: 1 }, ['$.body.outputs[0].data[1] (1.5) not ≤ 1']],
    ['empty selection', { path: '$.body.missing', eq: 1 }, ['$.body.missing matched nothing']],
    [
      'empty selection with notEmpty',
      { path: '$.body.outputs[?@.name == "score"]', notEmpty: true },
      ['$.body.outputs[?@.name == "score"] matched nothing'],
    ],
    ['notEmpty false alone on nothing', { path: '$.body.error', notEmpty: false }, []],
    [
      'notEmpty false asserts absence',
      { path: '$.body.model_name', notEmpty: false },
      ['$.body.model_name matched 1 node, expected none: $.body.model_name ("x")'],
    ],
    [
      'length of the selected array',
      { path: '$.body.items', length: 3 },
      ['$.body.items ([1, 2]) has length 2, expected 3'],
    ],
    [
      'length of the selected string',
      { path: '$.body.model_name', length: { min: 2 } },
      ['$.body.model_name ("x") has length 1, expected at least 2'],
    ],
    [
      'length counts a selection of scalars',
      { path: '$.body.items[*]', length: 3 },
      ['$.body.items[*] matched 2 nodes, expected 3'],
    ],
    ['status', { path: '$.status', eq: 200 }, []],
    [
      'headers',
      { path: '$.headers["content-type"]', matches: 'json' },
      [`$.headers['content-type'] ("text/plain") does not match /json/`],
    ],
    [
      'outputs in the document',
      { path: '$.outputs.probability[*]', range: [0, 1] },
      ['$.outputs.probability[0] (3) not in [0, 1]'],
    ],
    [
      'invalid path',
      { path: '$.[', eq: 1 },
      [`invalid JSONPath "$.[": unexpected shorthand selector '[' ('$.[':2)`],
    ],
  ])('%s', (_name, assertion, messages) => {
    const extra = { headers: { 'content-type': 'text/plain' }, outputs: { probability: [3] } };
    expect(onPath(assertion, body, extra)).toEqual(messages);
  });

  it('records the match’s normalised path as the selector', () => {
    const { failures } = evaluateExpect(
      { assertions: [{ path: '$..data[?@ > 1]', lt: 1 }] },
      { document: { body, outputs: {} }, status: 200, durationMs: 1, kind: 'readiness' },
    );
    expect(failures).toEqual([
      {
        assertion: 'jsonpath',
        selector: '$.body.outputs[0].data[1]',
        operator: 'lt',
        expected: 1,
        actual: 1.5,
        message: '$.body.outputs[0].data[1] (1.5) not < 1',
      },
    ]);
  });
});
