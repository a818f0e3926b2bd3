import { z } from 'zod';
import { configSchema } from './schema.js';

/** Where the committed JSON Schema lives, relative to the `vigil` package folder. */
export const JSON_SCHEMA_FILE = 'vigil.schema.json';

/**
 * The JSON Schema (draft 2020-12) of `vigil.yaml`, generated from {@link configSchema}: the input side
 * (durations are strings like `"10s"`), with the schema's descriptions and defaults so that editors
 * (e.g. VS Code with the YAML extension: `# yaml-language-server: $schema=…/vigil.schema.json`) show help
 * and complete keys. Notifier blocks are one `oneOf` over the notifier registry (`$defs.Notifier`), so an
 * unknown type or key is flagged too. Rules that need code (timeout below interval, regexes that compile,
 * files that exist, email addresses, routes naming defined notifiers) are checked by `vigil validate`,
 * not by the JSON Schema.
 */
export function generateJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, {
    target: 'draft-2020-12',
    io: 'input',
    override: ({ jsonSchema }) => {
      // z.int() adds the safe-integer range as bounds: noise for people reading the schema.
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      // .startsWith() is emitted as a pattern plus a format no JSON Schema validator knows.
      if (jsonSchema.format === 'starts_with') delete jsonSchema.format;
    },
  });
}
