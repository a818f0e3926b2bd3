/**
 * Fuzzing the OIP request builder (issue #14): `encodeInferRequest` turns any payload — REST-shaped
 * inference requests with anything in their fields, any JSON, deep nesting — into a ModelInferRequest or
 * a message saying what is wrong, never an exception; what it accepts has one input per payload input.
 */
import { describe, it } from 'vitest';
import { fc, fuzz, fuzzTimeoutMs } from '../fixtures/fuzz.js';
import { encodeInferRequest } from './oip-grpc.js';

const anything = fc.jsonValue({ maxDepth: 4 });
const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'BF16',
  'FP32',
  'FP64',
  'BYTES',
];
const input = fc.record(
  {
    name: fc.oneof(fc.constantFrom('x', 'input-0'), anything),
    datatype: fc.oneof(fc.constantFrom(...DATATYPES), anything),
    shape: fc.oneof(fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 4 }), anything),
    data: fc.oneof(
      fc.array(fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.string(), fc.bigInt().map(String)), {
        maxLength: 12,
      }),
      fc.array(fc.array(fc.double(), { maxLength: 4 }), { maxLength: 4 }),
      anything,
    ),
    parameters: fc.oneof(
      fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())),
      anything,
    ),
  },
  { requiredKeys: [] },
);
const payload = fc.oneof(
  fc.record(
    {
      id: anything,
      parameters: anything,
      inputs: fc.oneof(fc.array(input, { minLength: 1, maxLength: 3 }), anything),
      outputs: fc.oneof(
        fc.array(fc.record({ name: anything, parameters: anything }, { requiredKeys: [] })),
        anything,
      ),
    },
    { requiredKeys: ['inputs'] },
  ),
  anything,
  fc.integer({ min: 1, max: 5_000 }).map((depth) => {
    let data: unknown = [1];
    for (let i = 0; i < depth; i++) data = [data];
    return { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data }] };
  }),
);

describe('encodeInferRequest (fuzz)', () => {
  it(
    'answers any payload with a request or a message, never an exception',
    () =>
      fuzz(
        'wire/oip-grpc: request builder',
        fc.property(payload, fc.boolean(), fc.boolean(), (given, raw, versioned) => {
          const encoded = encodeInferRequest(given, 'm', { raw, ...(versioned && { version: '1' }) });
          if (!encoded.ok) {
            if (typeof encoded.message !== 'string' || encoded.message === '') throw new Error('no message');
            return;
          }
          const inputs = (given as { inputs: unknown[] }).inputs;
          if (encoded.message.inputs.length !== inputs.length) throw new Error('inputs lost or added');
        }),
      ),
    fuzzTimeoutMs,
  );
});
