import { z } from 'zod';
import { baselineSchema } from './baseline.js';

/** Where the committed JSON Schema of baseline files lives, relative to the `vigil` package folder. */
export const BASELINE_JSON_SCHEMA_FILE = 'baseline.schema.json';

/**
 * The JSON Schema (draft 2020-12) of a baseline file, generated from {@link baselineSchema}, with its
 * descriptions for editors (`"$schema": "…/baseline.schema.json"` in a baseline). Consistency rules
 * that need code (min ≤ mean ≤ max, p50 ≤ p95 ≤ p99, k labels per top-k row, shapes that hold the
 * values) are checked by `parseBaseline` and `vigil baseline show`, not by the JSON Schema.
 */
export function generateBaselineJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(baselineSchema, {
    target: 'draft-2020-12',
    io: 'input',
    override: ({ jsonSchema }) => {
      // z.int() adds the safe-integer range as bounds: noise for people reading the schema.
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  });
}
