/**
 * Writes packages/vigil/baseline.schema.json from the zod schema, formatted as Biome formats JSON (so
 * that `biome check` stays clean): `npx tsx packages/vigil/src/canary/write-json-schema.ts`.
 * A test fails when the committed file is out of date.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BASELINE_JSON_SCHEMA_FILE, generateBaselineJsonSchema } from './json-schema.js';

const target = fileURLToPath(new URL(`../../${BASELINE_JSON_SCHEMA_FILE}`, import.meta.url));
writeFileSync(target, `${JSON.stringify(generateBaselineJsonSchema(), null, 2)}\n`);
const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
execFileSync(process.execPath, [biome, 'format', '--write', target], { stdio: 'ignore' });
console.log(`wrote ${target}`);
