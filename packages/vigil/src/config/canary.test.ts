/**
 * A canary's config: its golden set (inline, a JSONL file read at load, or `request` as one case),
 * rotation size and comparison options in the plan, and every problem with where it is.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-canary-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (id: string, data: unknown = [0.1, 0.2]) =>
  JSON.stringify({ id, request: { inputs: [{ name: 'features', shape: [1, 2], datatype: 'FP32', data }] } });

/** Writes `vigil.yaml` with one oip-v2 target whose canary block is `canary` (YAML, indented 6). */
async function load(canary: string, files: Record<string, string> = {}) {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = join(dir, 'vigil.yaml');
  writeFileSync(
    file,
    `targets:
  - name: credit
    url: http://127.0.0.1:8081
    protocol: oip-v2
    model: credit-scorer
    checks:
      canary:
${canary}
`,
  );
  return loadConfig(file);
}

describe('canary config', () => {
  it('reads a JSONL golden set at load, relative to the config, into the plan with its options', async () => {
    const loaded = await load(
      `        cases: golden.jsonl
        maxCasesPerRun: 2
        baseline: baselines/v1.json
        autoBaseline: { repeats: 2 }
        tolerance: { rel: 0.01 }
        outcomes: { drift: fail }`,
      { 'golden.jsonl': `${row('a')}\n\n${row('b')}\n${row('c')}\n` },
    );
    expect(loaded.ok, loaded.ok ? '' : loaded.diagnostics.join('\n')).toBe(true);
    if (!loaded.ok) return;
    const plan = loaded.plan.find((p) => p.kind === 'canary');
    expect(plan?.canary).toEqual({
      cases: ['a', 'b', 'c'].map((id) => ({ id, ...JSON.parse(row(id)) })),
      maxCasesPerRun: 2,
      baseline: join(dir, 'baselines/v1.json'),
      autoBaseline: { repeats: 2 },
      tolerance: { rel: 0.01 },
      outcomes: { drift: 'fail' },
    });
  });

  it('takes text, top-k and per-output comparison rules into the plan, and rejects a bad one with its path', async () => {
    const loaded = await load(
      `        cases: [${row('a')}]
        text: { mode: normalised }
        minOverlap: 0.5
        outputs:
          probability: { tolerance: { abs: 0.02 } }
          answer: { text: { mode: similarity, minSimilarity: 0.8 } }`,
    );
    expect(loaded.ok, loaded.ok ? '' : loaded.diagnostics.join('\n')).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.plan.find((p) => p.kind === 'canary')?.canary).toMatchObject({
      text: { mode: 'normalised' },
      minOverlap: 0.5,
      outputs: {
        probability: { tolerance: { abs: 0.02 } },
        answer: { text: { mode: 'similarity', minSimilarity: 0.8 } },
      },
    });
    const bad = await load(`        cases: [${row('a')}]
        outputs: { answer: { text: { mode: fuzzy } } }`);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.diagnostics.join('\n')).toMatch(/targets\[0\]\.checks\.canary\.outputs\.answer\.text\.mode/);
  });

  it('takes `request` alone as the one case "request", 16 cases per run by default', async () => {
    const loaded = await load(
      '        request: { inputs: [{ name: features, shape: [1, 2], datatype: FP32, data: [1, 2] }] }',
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    expect(loaded.plan.find((p) => p.kind === 'canary')?.canary).toEqual({
      cases: [
        {
          id: 'request',
          request: { inputs: [{ name: 'features', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] },
        },
      ],
      maxCasesPerRun: 16,
    });
  });

  it('says where a golden set file is broken: FILE:LINE for bad JSON, duplicate ids and requests of the wrong shape', async () => {
    const loaded = await load('        cases: broken.jsonl', {
      'broken.jsonl': `${row('a')}\n{"id": "b", "request": \n${row('a')}\n{"id": "c", "request": {"inputs": "no"}}\n`,
    });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const text = loaded.diagnostics.join('\n');
    expect(text).toMatch(
      /vigil\.yaml:8:9: targets\[0\]\.checks\.canary\.cases: "broken\.jsonl" \(.*\) is not a golden set:/,
    );
    expect(text).toContain('broken.jsonl:2: invalid JSON');
    expect(text).toContain('broken.jsonl:3: duplicate id "a" (first at broken.jsonl:1)');
    const shapes = await load('        cases: shapes.jsonl', {
      'shapes.jsonl': `${row('a')}\n{"id": "c", "request": {"inputs": "no"}}\n`,
    });
    expect(shapes.ok).toBe(false);
    if (!shapes.ok)
      expect(shapes.diagnostics.join('\n')).toMatch(/shapes\.jsonl:2: case "c": request\.inputs: /);
  });

  it('checks inline cases against the protocol’s request shape, and needs cases or a request', async () => {
    const inline = await load('        cases: [{ id: a, request: { nope: 1 } }]');
    expect(inline.ok).toBe(false);
    if (!inline.ok)
      expect(inline.diagnostics.join('\n')).toMatch(/targets\[0\]\.checks\.canary\.cases\[0\]\.request/);
    const none = await load('        interval: 5m');
    expect(none.ok).toBe(false);
    if (!none.ok)
      expect(none.diagnostics.join('\n')).toContain('needs cases (the golden set) or request (one case)');
    const missing = await load('        cases: nowhere.jsonl');
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.diagnostics.join('\n')).toMatch(/"nowhere\.jsonl" \(.*\) does not exist/);
  });
});
