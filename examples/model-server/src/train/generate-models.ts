/**
 * Regenerates the example models: `npx tsx examples/model-server/src/train/generate-models.ts [--out DIR]`.
 *
 * Writes `credit-scorer.onnx`, `product-categorizer.onnx` and `training-report.json` to DIR (default: the
 * package's `models/` folder) and prints held-out metrics. Output is bit-for-bit reproducible.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildModels } from './build-models.js';

/** `src/train/` and `dist/train/` both sit two levels below the package root. */
const DEFAULT_OUT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../models');

const { values } = parseArgs({
  options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  strict: true,
});
if (values.help) {
  process.stdout.write('usage: generate-models [--out DIR]   (default DIR: examples/model-server/models)\n');
  process.exit(0);
}
const outDir = resolve(values.out ?? DEFAULT_OUT_DIR);
const { files, report } = buildModels();
mkdirSync(outDir, { recursive: true });
for (const [name, bytes] of files) {
  const path = join(outDir, name);
  writeFileSync(path, bytes);
  const shown = relative(process.cwd(), path);
  process.stdout.write(`wrote ${shown.startsWith('..') ? path : shown} (${bytes.length} bytes)\n`);
}
const credit = report['credit-scorer'];
const categorizer = report['product-categorizer'];
process.stdout.write(
  `credit-scorer: held-out accuracy ${credit.testAccuracy}, ROC AUC ${credit.testAuc} ` +
    `(generating model's own AUC ${credit.testOracleAuc}; n=${credit.testSize}, default rate ${credit.testDefaultRate})\n` +
    `product-categorizer: held-out accuracy ${categorizer.testAccuracy} ` +
    `(known categories ${categorizer.testKnownAccuracy}, Unknown recall ${categorizer.testUnknownRecall}, ` +
    `false Unknown ${categorizer.testFalseUnknownRate}; n=${categorizer.testSize})\n`,
);
