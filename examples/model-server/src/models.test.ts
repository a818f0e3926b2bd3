import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_FEATURE_COUNT } from './features.js';
import {
  driftWeights,
  loadModel,
  MAX_BATCH_SIZE,
  MODEL_NAMES,
  type Model,
  ModelInputError,
  type ModelName,
  type Tensor,
} from './models.js';
import type { TrainingReport } from './train/build-models.js';
import { generateCreditApplicants } from './train/credit-data.js';
import { CREDIT_DEFAULT_THRESHOLD, CREDIT_TRAINING } from './train/credit-scorer.js';
import { rocAuc } from './train/metrics.js';
import { onnx, readFloatTensor } from './train/onnx-builder.js';
import { CATEGORIZER_TRAINING } from './train/product-categorizer.js';
import { generateProductTitles, PRODUCT_CATEGORIES } from './train/product-data.js';

const modelsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'models');

const features = (rows: number[][]): Tensor[] => [
  { name: 'features', datatype: 'FP32', shape: [rows.length, CREDIT_FEATURE_COUNT], data: rows.flat() },
];
const titles = (data: string[]): Tensor[] => [
  { name: 'title', datatype: 'BYTES', shape: [data.length], data },
];

/** The data of output `index`, failing the test if it is missing. */
function dataOf(outputs: Tensor[], index: number): number[] | string[] {
  const tensor = outputs[index];
  if (!tensor) throw new Error(`no output #${index}`);
  return tensor.data;
}

/** Runs rows through a model in batches of at most MAX_BATCH_SIZE and concatenates output `index`. */
async function inferAll<T extends number | string>(
  model: Model,
  rows: T[],
  width: number,
  index: number,
): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < rows.length / width; i += MAX_BATCH_SIZE) {
    const batch = rows.slice(i * width, (i + MAX_BATCH_SIZE) * width);
    const input: Tensor[] =
      width === 1
        ? titles(batch as string[])
        : [
            {
              name: 'features',
              datatype: 'FP32',
              shape: [batch.length / width, width],
              data: batch as number[],
            },
          ];
    out.push(...(dataOf(await model.infer(input), index) as T[]));
  }
  return out;
}

let credit: Model;
let categorizer: Model;
let report: TrainingReport;
beforeAll(async () => {
  [credit, categorizer] = await Promise.all([loadModel('credit-scorer'), loadModel('product-categorizer')]);
  report = JSON.parse(await readFile(join(modelsDir, 'training-report.json'), 'utf8')) as TrainingReport;
});
afterAll(async () => {
  await Promise.all([credit.close(), categorizer.close()]);
});

// A small, realistic probe set (not the training data: different seeds).
const creditProbe = Array.from(generateCreditApplicants(MAX_BATCH_SIZE, 99).features);
const titleProbe = generateProductTitles(MAX_BATCH_SIZE, 99, 0.12).map((t) => t.title);

describe('model info', () => {
  it.each(MODEL_NAMES)('%s declares version 1 on onnxruntime and outputs in that order', async (name) => {
    const model = name === 'credit-scorer' ? credit : categorizer;
    expect(model.info).toMatchObject({ name, version: '1', platform: 'onnxruntime_onnx' });
    const outputs = await model.infer(model.smokeInputs());
    expect(outputs.map((o) => [o.name, o.datatype])).toEqual(
      model.info.outputs.map((o) => [o.name, o.datatype]),
    );
  });
});

describe('credit-scorer', () => {
  const safe = [0.1, 0.05, 0, 0.9, 0.9, 0.05, 0, 0.8];
  const risky = [0.9, 0.95, 0.5, 0.05, 0.1, 0.8, 0.6, 0.02];

  it('scores a clearly risky applicant far above a clearly safe one', async () => {
    const outputs = await credit.infer(features([safe, risky]));
    const [pSafe, pRisky] = dataOf(outputs, 0) as number[];
    expect(pSafe).toBeLessThan(0.1);
    expect(pRisky).toBeGreaterThan(0.8);
    expect(dataOf(outputs, 1)).toEqual(['repay', 'default']);
  });

  it('raises the probability of default with every extra late payment', async () => {
    const rows = [0, 1, 2, 3, 4].map((late) => [0.4, 0.4, late / 12, 0.4, 0.5, 0.3, 0.2, 0.3]);
    const probabilities = (await credit.infer(features(rows)))[0]?.data as number[];
    for (let i = 1; i < probabilities.length; i++) {
      expect(probabilities[i]).toBeGreaterThan(probabilities[i - 1] as number);
    }
  });

  it('returns [N, 1] probabilities in [0, 1] with labels that follow the 0.5 threshold', async () => {
    const [probability, label] = await credit.infer([
      {
        name: 'features',
        datatype: 'FP32',
        shape: [MAX_BATCH_SIZE, CREDIT_FEATURE_COUNT],
        data: creditProbe,
      },
    ]);
    expect(probability?.shape).toEqual([MAX_BATCH_SIZE, 1]);
    expect(label?.shape).toEqual([MAX_BATCH_SIZE, 1]);
    const p = probability?.data as number[];
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(label?.data).toEqual(p.map((v) => (v > CREDIT_DEFAULT_THRESHOLD ? 'default' : 'repay')));
    expect(new Set(label?.data as string[])).toEqual(new Set(['default', 'repay']));
  });

  it('answers the smoke payload with a low-risk "repay"', async () => {
    const [probability, label] = await credit.infer(credit.smokeInputs());
    expect(probability?.data[0]).toBeCloseTo(0.0562, 3);
    expect(label?.data).toEqual(['repay']);
  });

  it('matches the training report on the held-out applicants when run by onnxruntime', async () => {
    const { trainSize, testSize, dataSeed } = CREDIT_TRAINING;
    const data = generateCreditApplicants(trainSize + testSize, dataSeed);
    const rows = Array.from(data.features.subarray(trainSize * CREDIT_FEATURE_COUNT));
    const p = await inferAll(credit, rows, CREDIT_FEATURE_COUNT, 0);
    const labels = data.labels.subarray(trainSize);
    const hits = p.filter((v, i) => (v > CREDIT_DEFAULT_THRESHOLD ? 1 : 0) === labels[i]).length;
    expect(Math.abs(hits / testSize - report['credit-scorer'].testAccuracy)).toBeLessThanOrEqual(0.002);
    expect(rocAuc(p, labels)).toBeCloseTo(report['credit-scorer'].testAuc, 3);
  });
});

describe('product-categorizer', () => {
  it.each([
    ['Wireless Bluetooth Noise Cancelling Headphones', 'Electronics'],
    ['Samsung Galaxy S24 Ultra Smartphone', 'Electronics'],
    ["Levi's 501 Original Fit Men's Jeans", 'Clothing'],
    ['Lodge 10.25 Inch Cast Iron Skillet', 'Home & Kitchen'],
    ['Python Crash Course 3rd Edition Handbook', 'Books'],
    ['Monopoly Classic Board Game for Family', 'Toys & Games'],
    ['Coleman Sundome 4-Person Camping Tent', 'Sports & Outdoors'],
    ['CeraVe Moisturizing Cream for Dry Skin 16 oz', 'Beauty'],
    ['Starbucks Pike Place Ground Coffee 12 oz', 'Grocery'],
  ])('files %j under %s', async (title, category) => {
    const [top1] = await categorizer.infer(titles([title]));
    expect(top1?.data).toEqual([category]);
  });

  it.each([
    ['empty', ''],
    ['whitespace', '   '],
    ['punctuation', '!!! ---'],
    ['stop words', 'the of and'],
    ['keyboard mash', 'asdfgh qwerty zxcvb'],
    ['non-words', 'xkcd blorp'],
    ['lorem ipsum', 'lorem ipsum dolor sit amet'],
  ])('calls a %s title "Unknown"', async (_, title) => {
    const [top1] = await categorizer.infer(titles([title]));
    expect(top1?.data).toEqual(['Unknown']);
  });

  it('returns [N, 1] top-1 and [N, 3] ranked top-3 outputs that agree', async () => {
    const [category, score, topCategories, topScores] = await categorizer.infer(titles(titleProbe));
    const n = titleProbe.length;
    expect([category, score, topCategories, topScores].map((t) => t?.shape)).toEqual([
      [n, 1],
      [n, 1],
      [n, 3],
      [n, 3],
    ]);
    const top = topScores?.data as number[];
    const topNames = topCategories?.data as string[];
    for (let row = 0; row < n; row++) {
      const [s1, s2, s3] = top.slice(row * 3, row * 3 + 3) as [number, number, number];
      expect(s1).toBeGreaterThanOrEqual(s2);
      expect(s2).toBeGreaterThanOrEqual(s3);
      expect(s1 + s2 + s3).toBeLessThanOrEqual(1 + 1e-6);
      expect(new Set(topNames.slice(row * 3, row * 3 + 3)).size).toBe(3);
      expect(category?.data[row]).toBe(topNames[row * 3]);
      expect(score?.data[row]).toBe(s1);
    }
    expect(topNames.every((c) => (PRODUCT_CATEGORIES as readonly string[]).includes(c))).toBe(true);
  });

  it('accepts titles shaped [N, 1] as well as [N]', async () => {
    const data = ['Yoga Mat Non Slip Extra Thick', 'qwzx'];
    const flat = await categorizer.infer(titles(data));
    const column = await categorizer.infer([{ name: 'title', datatype: 'BYTES', shape: [2, 1], data }]);
    expect(column).toEqual(flat);
    expect(flat[0]?.data).toEqual(['Sports & Outdoors', 'Unknown']);
  });

  it('answers the smoke payload with Electronics', async () => {
    const [category, score] = await categorizer.infer(categorizer.smokeInputs());
    expect(category?.data).toEqual(['Electronics']);
    expect(score?.data[0]).toBeGreaterThan(0.9);
  });

  it('matches the training report on the held-out titles when run by onnxruntime', async () => {
    const { trainSize, testSize, dataSeed, unknownShare } = CATEGORIZER_TRAINING;
    const test = generateProductTitles(trainSize + testSize, dataSeed, unknownShare).slice(trainSize);
    const predicted = await inferAll(
      categorizer,
      test.map((t) => t.title),
      1,
      0,
    );
    const hits = predicted.filter((c, i) => c === PRODUCT_CATEGORIES[test[i]?.label as number]).length;
    expect(Math.abs(hits / testSize - report['product-categorizer'].testAccuracy)).toBeLessThanOrEqual(0.002);
  });
});

describe('withDrift', () => {
  const creditInput = (): Tensor[] => [
    { name: 'features', datatype: 'FP32', shape: [MAX_BATCH_SIZE, CREDIT_FEATURE_COUNT], data: creditProbe },
  ];
  const drifted: Model[] = [];
  const drift = async (
    model: Model,
    options?: { seed?: number; scale?: number; sigma?: number },
  ): Promise<Model> => {
    const copy = await model.withDrift(options);
    drifted.push(copy);
    return copy;
  };
  afterAll(async () => {
    await Promise.all(drifted.map((m) => m.close()));
  });

  it('moves credit probabilities by a mean of at least 0.05, staying in [0, 1]', async () => {
    const before = (await credit.infer(creditInput()))[0]?.data as number[];
    const after = (await (await drift(credit)).infer(creditInput()))[0]?.data as number[];
    const meanShift =
      after.reduce((acc, p, i) => acc + Math.abs(p - (before[i] as number)), 0) / after.length;
    expect(meanShift).toBeGreaterThanOrEqual(0.05);
    expect(after.every((p) => p >= 0 && p <= 1)).toBe(true);
  });

  it('changes some but not all top-1 categories, without collapsing to "Unknown"', async () => {
    const before = (await categorizer.infer(titles(titleProbe)))[0]?.data as string[];
    const after = (await (await drift(categorizer)).infer(titles(titleProbe)))[0]?.data as string[];
    const changed = after.filter((c, i) => c !== before[i]).length;
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(after.length / 2);
    expect(after.filter((c) => c === 'Unknown').length).toBeLessThan(after.length / 4);
    expect(new Set(after).size).toBeGreaterThanOrEqual(8);
  });

  it('is deterministic for a seed, differs between seeds and leaves the original untouched', async () => {
    const original = await credit.infer(creditInput());
    const [a, b, c] = await Promise.all([
      drift(credit, { seed: 5 }),
      drift(credit, { seed: 5 }),
      drift(credit, { seed: 6 }),
    ]);
    const [outA, outB, outC] = await Promise.all([a, b, c].map((m) => m.infer(creditInput())));
    expect(outA).toEqual(outB);
    expect(outA?.[0]?.data).not.toEqual(outC?.[0]?.data);
    expect(await credit.infer(creditInput())).toEqual(original);
  });

  it('grows with scale and is a no-op at scale 0', async () => {
    const before = (await credit.infer(creditInput()))[0]?.data as number[];
    const shift = async (scale: number) => {
      const after = (await (await drift(credit, { scale })).infer(creditInput()))[0]?.data as number[];
      return after.reduce((acc, p, i) => acc + Math.abs(p - (before[i] as number)), 0) / after.length;
    };
    expect(await shift(0)).toBe(0);
    expect(await shift(3)).toBeGreaterThan(await shift(1));
  });

  it('takes sigma as the noise itself: graded, and the calibrated scale is sigma = k', async () => {
    const before = (await credit.infer(creditInput()))[0]?.data as number[];
    const shift = async (options: { sigma?: number; scale?: number }) => {
      const after = (await (await drift(credit, options)).infer(creditInput()))[0]?.data as number[];
      return after.reduce((acc, p, i) => acc + Math.abs(p - (before[i] as number)), 0) / after.length;
    };
    const graded = [await shift({ sigma: 0.01 }), await shift({ sigma: 0.05 }), await shift({ sigma: 0.1 })];
    expect(graded[0]).toBeGreaterThan(0);
    expect(graded[1]).toBeGreaterThan(graded[0] as number);
    expect(graded[2]).toBeGreaterThan(graded[1] as number);
    // The credit scorer's calibrated strength k is 0.8 (MODELS.md, "Drift").
    expect(await shift({ sigma: 0.8 })).toBe(await shift({ scale: 1 }));
  });

  it('perturbs the weight matrices of the ONNX file and keeps the biases', async () => {
    const bytes = await readFile(join(modelsDir, 'credit-scorer.onnx'));
    const initializers = (b: Uint8Array) =>
      new Map((onnx.ModelProto.decode(b).graph?.initializer ?? []).map((t) => [t.name, readFloatTensor(t)]));
    const before = initializers(bytes);
    const after = initializers(driftWeights(bytes, 1, 0.5));
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, values] of before) {
      const isMatrix = String(name).endsWith('.weight');
      expect([name, Array.from(after.get(name) ?? []).every((v, i) => v === values[i])]).toEqual([
        name,
        !isMatrix,
      ]);
    }
  });
});

describe('bad input', () => {
  const fp32 = (shape: number[], data: unknown[]): Tensor[] => [
    { name: 'features', datatype: 'FP32', shape, data: data as number[] },
  ];
  const row = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
  const cases: [string, ModelName, unknown, string][] = [
    ['no inputs', 'credit-scorer', [], 'missing input "features"'],
    ['inputs not a list', 'credit-scorer', { features: row }, 'inputs must be an array, got an object'],
    [
      'a misspelt input name',
      'credit-scorer',
      [{ ...fp32([1, 8], row)[0], name: 'feature' }],
      'unexpected input "feature": model "credit-scorer" takes only "features"',
    ],
    [
      'a repeated input',
      'credit-scorer',
      [...fp32([1, 8], row), ...fp32([1, 8], row)],
      'input "features" given 2 times',
    ],
    [
      'the wrong datatype',
      'credit-scorer',
      [{ ...fp32([1, 8], row)[0], datatype: 'FP64' }],
      'input "features": expected datatype FP32, got FP64',
    ],
    [
      'too few columns',
      'credit-scorer',
      fp32([1, 7], row.slice(1)),
      'input "features": expected shape [N, 8], got [1, 7]',
    ],
    ['a flat row', 'credit-scorer', fp32([8], row), 'input "features": expected shape [N, 8], got [8]'],
    [
      'a negative dimension',
      'credit-scorer',
      fp32([-1, 8], row),
      'input "features": shape must be a list of non-negative integers, got [-1, 8]',
    ],
    [
      'too many rows',
      'credit-scorer',
      fp32([65, 8], Array(65 * 8).fill(0)),
      'input "features": batch size must be 1 to 64 rows, got 65',
    ],
    [
      'zero rows',
      'credit-scorer',
      fp32([0, 8], []),
      'input "features": batch size must be 1 to 64 rows, got 0',
    ],
    [
      'a short data list',
      'credit-scorer',
      fp32([2, 8], [...row, ...row.slice(1)]),
      'input "features": shape [2, 8] needs 16 values, got 15',
    ],
    [
      'a non-number',
      'credit-scorer',
      fp32([1, 8], [0.1, 0.2, 0.3, 'abc', 0.5, 0.6, 0.7, 0.8]),
      'input "features": data[3] must be a finite number, got "abc"',
    ],
    [
      'NaN',
      'credit-scorer',
      fp32([1, 8], [Number.NaN, ...row.slice(1)]),
      'input "features": data[0] must be a finite number, got NaN',
    ],
    [
      'data not a list',
      'credit-scorer',
      [{ ...fp32([1, 8], row)[0], data: 'x' }],
      'input "features": data must be an array, got "x"',
    ],
    [
      'numbers for titles',
      'product-categorizer',
      [{ name: 'title', datatype: 'FP32', shape: [1], data: [1] }],
      'input "title": expected datatype BYTES, got FP32',
    ],
    [
      'a title matrix',
      'product-categorizer',
      [{ name: 'title', datatype: 'BYTES', shape: [2, 2], data: ['a', 'b', 'c', 'd'] }],
      'input "title": expected shape [N] or [N, 1], got [2, 2]',
    ],
    [
      'a non-string title',
      'product-categorizer',
      [{ name: 'title', datatype: 'BYTES', shape: [2], data: ['ok', 42] }],
      'input "title": data[1] must be a string, got 42',
    ],
    [
      'a huge title',
      'product-categorizer',
      titles(['x'.repeat(3000)]),
      'input "title": data[0] is 3000 characters long; the maximum is 2048',
    ],
    [
      'fewer titles than the shape says',
      'product-categorizer',
      [{ name: 'title', datatype: 'BYTES', shape: [2], data: ['one'] }],
      'input "title": shape [2] needs 2 values, got 1',
    ],
    [
      'the credit input sent to the categorizer',
      'product-categorizer',
      fp32([1, 8], row),
      'unexpected input "features": model "product-categorizer" takes only "title"',
    ],
  ];

  it.each(cases)('rejects %s (%s) with an exact message', async (_, name, inputs, message) => {
    const model = name === 'credit-scorer' ? credit : categorizer;
    const error = await model.infer(inputs as Tensor[]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ModelInputError);
    expect((error as ModelInputError).message).toBe(message);
    expect((error as ModelInputError).code).toBe('VIGIL_ERR_MODEL_INPUT');
  });
});

describe('lifecycle', () => {
  it('refuses to infer after close, with a plain error', async () => {
    const model = await loadModel('credit-scorer');
    await model.close();
    await model.close(); // idempotent
    const error = await model.infer(model.smokeInputs()).catch((err: unknown) => err);
    expect(error).not.toBeInstanceOf(ModelInputError);
    expect((error as Error).message).toBe('model "credit-scorer" is closed');
  });

  it('names the file it could not load', async () => {
    await expect(loadModel('credit-scorer', { modelsDir: '/nonexistent' })).rejects.toThrow(
      '/nonexistent/credit-scorer.onnx',
    );
  });

  it('rejects an ONNX file that is not the requested model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-wrong-model-'));
    try {
      await copyFile(join(modelsDir, 'product-categorizer.onnx'), join(dir, 'credit-scorer.onnx'));
      await expect(loadModel('credit-scorer', { modelsDir: dir })).rejects.toThrow(
        'ONNX file for "credit-scorer" has inputs [features] and outputs [category,score,top_categories,top_scores]; ' +
          'expected [features] and [probability,label]',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
