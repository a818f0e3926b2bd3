/**
 * `expect.schema`: JSON Schema draft 2020-12 over the response body, with ajv. Each schema object is
 * compiled once and cached by identity (config objects are frozen after loading, so identity is
 * stable until a reload builds new ones).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { AssertionFailure } from '../types.js';
import { formatJsonPath } from '../wire/json.js';
import { FailureCollector, sample } from './format.js';

/**
 * One validator for all schemas. `format` stays an annotation (the 2020-12 default: ajv-formats is not
 * loaded), unknown keywords are ignored rather than fatal (`strict: false`), and schemas are not added
 * to the instance's registry, so two config files may use the same `$id`.
 */
let ajv: Ajv2020 | undefined;
function validator(): Ajv2020 {
  ajv ??= new Ajv2020({ allErrors: true, strict: false, validateFormats: false, addUsedSchema: false });
  return ajv;
}

/** A compiled schema, or why it does not compile. */
export type CompiledSchema = { ok: true; validate: ValidateFunction } | { ok: false; message: string };
const cache = new WeakMap<object, CompiledSchema>();

/** Compiles a schema object (cached by identity). Never throws: an invalid schema comes back as a message. */
export function compileSchema(schema: Record<string, unknown>): CompiledSchema {
  let compiled = cache.get(schema);
  if (!compiled) {
    try {
      compiled = { ok: true, validate: validator().compile(schema) };
    } catch (err) {
      compiled = { ok: false, message: `invalid JSON Schema: ${(err as Error).message}` };
    }
    cache.set(schema, compiled);
  }
  return compiled;
}

/** `/outputs/0/data` → `['outputs', 0, 'data']` (RFC 6901 unescaping; all-digit tokens read as indexes). */
function pointerToLocation(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      const name = token.replace(/~1/g, '/').replace(/~0/g, '~');
      return /^(?:0|[1-9][0-9]*)$/.test(name) ? Number(name) : name;
    });
}

function valueAt(root: unknown, location: ReadonlyArray<string | number>): unknown {
  let value = root;
  for (const key of location) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/**
 * Validates `body` against `schema`, appending one failure per ajv error (at most five, then a count):
 * selector `$.body…` from ajv's instance path, message `$.body.outputs[0].data must be array`, `expected`
 * the failing keyword with its schema path and parameters, `actual` the value found there.
 */
export function checkSchema(
  schema: Record<string, unknown> | boolean,
  body: unknown,
  out: AssertionFailure[],
): void {
  if (schema === true) return;
  if (schema === false) {
    out.push({
      assertion: 'schema',
      selector: '$.body',
      expected: 'nothing (the schema is false)',
      actual: sample(body),
      message: '$.body is rejected by the schema false',
    });
    return;
  }
  const compiled = compileSchema(schema);
  if (!compiled.ok) {
    out.push({
      assertion: 'schema',
      selector: '$.body',
      expected: 'a valid schema',
      actual: undefined,
      message: compiled.message,
    });
    return;
  }
  const { validate } = compiled;
  if (validate(body)) return;
  const collector = new FailureCollector(out, 'schema', '$.body');
  for (const error of validate.errors ?? []) {
    collector.add(() => {
      const location = pointerToLocation(error.instancePath);
      const selector = formatJsonPath(location, '$.body');
      return {
        assertion: 'schema',
        selector,
        operator: error.keyword,
        expected: { schemaPath: error.schemaPath, ...error.params },
        actual: sample(valueAt(body, location)),
        message: `${selector} ${error.message ?? `fails ${error.keyword}`}`,
      };
    });
  }
  collector.finish();
}
