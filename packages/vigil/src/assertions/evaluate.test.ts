import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../config/load.js';
import type { CheckKind, ExpectConfig, ProbeDocument } from '../types.js';
import { compileExpect, type ExpectInput, evaluateExpect } from './index.js';
import { compileSchema } from './schema.js';

const messages = (expect_: ExpectConfig, input: ExpectInput) => ({
  failures: evaluateExpect(expect_, input).failures.map((f) => f.message),
  degraded: evaluateExpect(expect_, input).degraded.map((f) => f.message),
});

const doc = (outputs: Record<string, unknown[]>, body: unknown = {}): ProbeDocument => ({ body, outputs });

describe('status', () => {
  it.each<[string, Array<number | string> | undefined, CheckKind, number, string[]]>([
    ['default 2xx accepts 204', undefined, 'readiness', 204, []],
    ['default 2xx rejects 503', undefined, 'readiness', 503, ['status 503 not in [2xx]']],
    [
      'default 2xx rejects a redirect for integrity',
      undefined,
      'integrity',
      302,
      ['status 302 not in [2xx]'],
    ],
    ['liveness accepts 200-399 (Kubernetes httpGet)', undefined, 'liveness', 302, []],
    ['liveness rejects 404', undefined, 'liveness', 404, ['status 404 not in [200-399]']],
    ['codes and classes', [200, '3xx'], 'readiness', 404, ['status 404 not in [200, 3xx]']],
    ['a class in upper case', ['2XX'], 'readiness', 201, []],
    ['a code as a string', ['503'], 'readiness', 503, []],
    ['a range', ['200-299', 404], 'readiness', 404, []],
    ['an invalid entry never matches', ['abc'], 'readiness', 200, ['status 200 not in [abc]']],
  ])('%s', (_name, status, kind, seen, expected) => {
    const config: ExpectConfig = status === undefined ? {} : { status };
    expect(messages(config, { status: seen, durationMs: 1, kind }).failures).toEqual(expected);
  });

  it('is not judged when no response arrived', () => {
    expect(evaluateExpect({ status: [200] }, { durationMs: 1, kind: 'readiness' }).failures).toEqual([]);
  });

  it('records expected and actual', () => {
    expect(evaluateExpect({}, { status: 503, durationMs: 1, kind: 'readiness' }).failures).toEqual([
      {
        assertion: 'status',
        selector: 'status',
        operator: 'in',
        expected: ['2xx'],
        actual: 503,
        message: 'status 503 not in [2xx]',
      },
    ]);
  });
});

describe('latency', () => {
  const latency = { degradedMs: 150, failedMs: 180 };
  it.each<[number, string[], string[]]>([
    [100, [], []],
    [149.9, [], []],
    [150, [], ['latency 150 ms ≥ degraded threshold 150 ms']],
    [160.4, [], ['latency 160 ms ≥ degraded threshold 150 ms']],
    [180, ['latency 180 ms ≥ failed threshold 180 ms'], []],
    [212.2, ['latency 212 ms ≥ failed threshold 180 ms'], []],
  ])('%d ms', (durationMs, failures, degraded) => {
    expect(messages({ latency }, { status: 200, durationMs, kind: 'readiness' })).toEqual({
      failures,
      degraded,
    });
  });

  it('works with one level only', () => {
    expect(
      messages({ latency: { failedMs: 50 } }, { status: 200, durationMs: 60, kind: 'liveness' }).failures,
    ).toEqual(['latency 60 ms ≥ failed threshold 50 ms']);
    expect(
      messages({ latency: { degradedMs: 50 } }, { status: 200, durationMs: 60, kind: 'liveness' }),
    ).toEqual({
      failures: [],
      degraded: ['latency 60 ms ≥ degraded threshold 50 ms'],
    });
  });
});

describe('schema (JSON Schema 2020-12)', () => {
  const schema = {
    type: 'object',
    required: ['model_name', 'outputs'],
    properties: {
      model_name: { type: 'string' },
      outputs: {
        type: 'array',
        items: { type: 'object', required: ['data'], properties: { data: { type: 'array' } } },
      },
    },
  };

  it('passes a matching body', () => {
    const body = { model_name: 'm', outputs: [{ data: [1] }] };
    expect(
      messages({ schema }, { document: doc({}, body), status: 200, durationMs: 1, kind: 'readiness' })
        .failures,
    ).toEqual([]);
  });

  it('lists every violation with its instance path and ajv message', () => {
    const body = { outputs: [{ data: 3 }, {}] };
    const { failures } = evaluateExpect(
      { schema },
      { document: doc({}, body), status: 200, durationMs: 1, kind: 'readiness' },
    );
    expect(failures.map((f) => f.message)).toEqual([
      "$.body must have required property 'model_name'",
      '$.body.outputs[0].data must be array',
      "$.body.outputs[1] must have required property 'data'",
    ]);
    expect(failures[1]).toEqual({
      assertion: 'schema',
      selector: '$.body.outputs[0].data',
      operator: 'type',
      expected: { schemaPath: '#/properties/outputs/items/properties/data/type', type: 'array' },
      actual: 3,
      message: '$.body.outputs[0].data must be array',
    });
  });

  it('speaks draft 2020-12 (prefixItems)', () => {
    const tuple = { type: 'array', prefixItems: [{ type: 'number' }, { type: 'string' }], items: false };
    const { failures } = messages(
      { schema: tuple },
      { document: doc({}, [1, 'a', true]), status: 200, durationMs: 1, kind: 'readiness' },
    );
    expect(failures).toEqual(['$.body must NOT have more than 2 items']);
  });

  it('compiles each schema object once', () => {
    const s = { type: 'string' };
    const first = compileSchema(s);
    expect(compileSchema(s)).toBe(first);
    expect(compileSchema({ type: 'string' })).not.toBe(first);
  });

  it('tolerates two schemas with the same $id', () => {
    const a = { $id: 'https://vigil.test/s', type: 'string' };
    const b = { $id: 'https://vigil.test/s', type: 'number' };
    expect(compileSchema(a).ok).toBe(true);
    expect(compileSchema(b).ok).toBe(true);
  });

  it('reports boolean and invalid schemas', () => {
    const input: ExpectInput = { document: doc({}, { a: 1 }), status: 200, durationMs: 1, kind: 'readiness' };
    expect(messages({ schema: true }, input).failures).toEqual([]);
    expect(messages({ schema: false }, input).failures).toEqual(['$.body is rejected by the schema false']);
    expect(messages({ schema: { type: 'nope' } }, input).failures[0]).toMatch(/^invalid JSON Schema: /);
  });

  it('caps failures', () => {
    const body = Array.from({ length: 50 }, () => 'x');
    const { failures } = messages(
      { schema: { type: 'array', items: { type: 'number' } } },
      { document: doc({}, body), status: 200, durationMs: 1, kind: 'readiness' },
    );
    expect(failures).toHaveLength(6);
    expect(failures[5]).toBe('$.body: 45 more failures not shown (50 in all)');
  });
});

describe('body', () => {
  const input = (body: unknown): ExpectInput => ({
    document: doc({}, body),
    status: 200,
    durationMs: 1,
    kind: 'liveness',
  });
  it.each<[string, ExpectConfig['body'], unknown, string[]]>([
    ['contains passes', { contains: 'ok' }, 'status: ok', []],
    ['contains fails', { contains: 'ready' }, 'status: loading', ['body does not contain "ready"']],
    ['notContains passes', { notContains: 'error' }, 'fine', []],
    [
      'notContains on JSON text',
      { notContains: 'error' },
      { error: 'x' },
      ['body contains "error" (at character 2)'],
    ],
    ['matches passes', { matches: '^OK$' }, 'OK', []],
    ['matches fails', { matches: '^OK$' }, 'NOT OK', ['body does not match /^OK$/']],
  ])('%s', (_name, body, seen, expected) => {
    expect(messages({ body }, input(seen)).failures).toEqual(expected);
  });
});

describe('defaults that catch silent failures', () => {
  const run = (document: ProbeDocument, extra: Partial<ExpectInput> = {}, config: ExpectConfig = {}) =>
    messages(config, { document, status: 200, durationMs: 1, kind: 'integrity', ...extra }).failures;

  it('pass a healthy answer', () => {
    expect(
      run(doc({ probability: [0.2, 0.8], label: ['cat'] }), { declaredOutputs: ['probability', 'label'] }),
    ).toEqual([]);
  });

  it('fail an empty outputs object', () => {
    expect(run(doc({}))).toEqual(['outputs is empty']);
  });

  it('fail an output with zero values', () => {
    expect(run(doc({ probability: [], label: ['cat'] }))).toEqual(['outputs.probability is empty']);
  });

  it('fail non-finite numbers, nested ones included', () => {
    expect(
      run(
        doc({
          probability: [Number.NaN, 0.5, Number.NEGATIVE_INFINITY],
          emb: [[1, Number.POSITIVE_INFINITY]],
        }),
      ),
    ).toEqual([
      'outputs.probability[0] is NaN',
      'outputs.probability[2] is -Infinity',
      'outputs.emb[0][1] is Infinity',
    ]);
  });

  it('cap non-finite failures per output', () => {
    const failures = run(doc({ probability: Array.from({ length: 10_000 }, () => Number.NaN) }));
    expect(failures).toHaveLength(6);
    expect(failures[5]).toBe('outputs.probability: 9995 more failures not shown (10000 in all)');
  });

  it('fail a declared output that is missing', () => {
    const { failures } = evaluateExpect(
      {},
      {
        document: doc({ probability: [0.5] }),
        status: 200,
        durationMs: 1,
        kind: 'integrity',
        declaredOutputs: ['probability', 'label'],
      },
    );
    expect(failures).toEqual([
      {
        assertion: 'declared-outputs',
        selector: 'outputs.label',
        expected: 'present',
        actual: ['probability'],
        message: 'output "label" declared by the model\'s metadata is missing',
      },
    ]);
  });

  it('apply to canary checks too', () => {
    expect(run(doc({}), { kind: 'canary' })).toEqual(['outputs is empty']);
  });

  it.each<[string, Partial<ExpectInput>]>([
    ['defaults: false', { defaults: false }],
    ['a liveness check', { kind: 'liveness' }],
    ['a readiness check', { kind: 'readiness' }],
  ])('are off for %s', (_name, extra) => {
    expect(run(doc({ p: [Number.NaN] }), extra)).toEqual([]);
  });

  it('stay quiet when the status already failed', () => {
    expect(run(doc({}), { status: 500 })).toEqual(['status 500 not in [2xx]']);
  });

  it('leave an output named in expect.outputs to its own operators', () => {
    const config: ExpectConfig = { outputs: { probability: { notEmpty: false }, score: { finite: false } } };
    expect(run(doc({ probability: [], score: [Number.NaN] }), {}, config)).toEqual([]);
    // An explicit entry without `finite` still gets the default non-finite check.
    expect(
      run(doc({ probability: [Number.NaN] }), {}, { outputs: { probability: { type: 'number' } } }),
    ).toEqual(['outputs.probability[0] is NaN']);
    // The entry's own missing-output failure replaces the declared-output one.
    expect(
      run(doc({ p: [1] }), { declaredOutputs: ['label'] }, { outputs: { label: { notIn: ['Unknown'] } } }),
    ).toEqual(['outputs.label missing (outputs: p)']);
  });
});

describe('evaluateExpect', () => {
  it('collects every failure, in order: status, latency, outputs, assertions, schema, body', () => {
    const config: ExpectConfig = {
      status: [200],
      latency: { failedMs: 100 },
      outputs: { probability: { range: [0, 1] }, label: { notIn: ['Unknown'] } },
      assertions: [{ path: '$.body.model_name', eq: 'credit-scorer' }],
      schema: { type: 'object', required: ['id'] },
      body: { notContains: 'Unknown' },
    };
    const document: ProbeDocument = {
      status: 201,
      body: { model_name: 'x', outputs: [] },
      outputs: { probability: [1.73], label: ['Unknown'] },
    };
    expect(messages(config, { document, status: 201, durationMs: 212, kind: 'integrity' }).failures).toEqual([
      'status 201 not in [200]',
      'latency 212 ms ≥ failed threshold 100 ms',
      'outputs.probability[0] (1.73) not in [0, 1]',
      'outputs.label[0] ("Unknown") in notIn [Unknown]',
      '$.body.model_name ("x") ≠ "credit-scorer"',
      "$.body must have required property 'id'",
    ]);
  });

  it('treats a missing document as an empty one', () => {
    expect(
      messages(
        { outputs: { p: { notEmpty: true } }, assertions: [{ path: '$.body.x', eq: 1 }] },
        { status: 200, durationMs: 1, kind: 'integrity' },
      ).failures,
    ).toEqual(['outputs.p missing (outputs: none)', '$.body.x matched nothing']);
  });

  it('compiles an expect block once and judges every probe with the same compiled form', () => {
    const config: ExpectConfig = deepFreeze({
      status: [200],
      outputs: { p: { range: [0, 1] } },
      assertions: [{ path: '$.body.label', matches: '^(cat|dog)$' }],
      body: { matches: '"label"' },
    });
    const compiled = compileExpect(config);
    expect(compileExpect(config)).toBe(compiled);
    const probe = (label: string, p: number) =>
      messages(config, {
        document: { status: 200, body: { label }, outputs: { p: [p] } },
        status: 200,
        durationMs: 1,
        kind: 'integrity',
      }).failures;
    expect(probe('cat', 0.5)).toEqual([]);
    expect(probe('bird', 1.5)).toEqual([
      'outputs.p[0] (1.5) not in [0, 1]',
      '$.body.label ("bird") does not match /^(cat|dog)$/',
    ]);
    expect(compileExpect(config)).toBe(compiled);
  });
});
