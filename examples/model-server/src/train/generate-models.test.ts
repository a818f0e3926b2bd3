import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_FILES, PRODUCER_VERSION, type TrainingReport } from './build-models.js';
import { IR_VERSION, ML_DOMAIN, OPSET_DEFAULT, OPSET_ML, onnx, PRODUCER_NAME } from './onnx-builder.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = resolve(here, '../..');
const committedDir = join(packageDir, 'models');
const script = join(here, 'generate-models.ts');

describe('generate-models', () => {
  let outDir: string;
  let stdout: string;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'vigil-models-'));
    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, '--out', outDir], {
      cwd: packageDir,
    });
    stdout = run.stdout;
  });
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it.each(MODEL_FILES)('regenerates %s bit for bit', async (file) => {
    const [regenerated, committed] = await Promise.all([
      readFile(join(outDir, file)),
      readFile(join(committedDir, file)),
    ]);
    expect(regenerated.length).toBeGreaterThan(0);
    expect(regenerated.equals(committed)).toBe(true);
  });

  it('prints held-out metrics', () => {
    expect(stdout).toMatch(/credit-scorer: held-out accuracy 0\.\d+, ROC AUC 0\.\d+/);
    expect(stdout).toMatch(/product-categorizer: held-out accuracy 0\.\d+/);
  });

  it.each(['credit-scorer.onnx', 'product-categorizer.onnx'])(
    '%s is small and fully described',
    async (file) => {
      const bytes = await readFile(join(committedDir, file));
      expect(bytes.length).toBeLessThan(1024 * 1024);
      const model = onnx.ModelProto.decode(bytes);
      expect(Number(model.irVersion)).toBe(IR_VERSION);
      expect(model.producerName).toBe(PRODUCER_NAME);
      expect(model.producerVersion).toBe(PRODUCER_VERSION);
      expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([
        ['', OPSET_DEFAULT],
        [ML_DOMAIN, OPSET_ML],
      ]);
      expect(model.docString.length).toBeGreaterThan(50);
      const described = [...(model.graph?.input ?? []), ...(model.graph?.output ?? [])];
      expect(described.length).toBeGreaterThanOrEqual(3);
      expect(described.filter((v) => !v.docString).map((v) => v.name)).toEqual([]);
      expect(model.metadataProps.map((p) => p.key)).toContain('vigil.training.test_accuracy');
    },
  );

  it('MODELS.md quotes the held-out metrics of the committed models', async () => {
    const [doc, reportJson] = await Promise.all([
      readFile(join(packageDir, 'MODELS.md'), 'utf8'),
      readFile(join(committedDir, 'training-report.json'), 'utf8'),
    ]);
    const report = JSON.parse(reportJson) as TrainingReport;
    const quoted = [
      report['credit-scorer'].testAccuracy,
      report['credit-scorer'].testAuc,
      report['credit-scorer'].testOracleAuc,
      report['product-categorizer'].testAccuracy,
      report['product-categorizer'].testKnownAccuracy,
      report['product-categorizer'].testUnknownRecall,
      report['product-categorizer'].testFalseUnknownRate,
    ];
    const missing = quoted.filter((value) => !doc.includes(String(value)));
    expect(missing).toEqual([]);
  });
});
